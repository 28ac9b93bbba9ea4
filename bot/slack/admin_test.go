package slack_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/storetest"
)

const adminGroup = "grp-bot-admins"

// admins makes Bob and Carol bot admins (Slack ids UBOB, UCAROL) and rebuilds the adapter.
func admins(t *testing.T, e *env) {
	t.Helper()
	for _, a := range []flows.Account{
		{ID: "bob-0002", Mail: "bob@contoso.test", UPN: "bob@contoso.test", DisplayName: "Bob", Enabled: true, Groups: []string{adminGroup}},
		{ID: "carol-0003", Mail: "carol@contoso.test", UPN: "carol@contoso.test", DisplayName: "Carol", Enabled: true, Groups: []string{adminGroup}},
	} {
		e.h.Dir.Add(a)
		e.fake.AddUser(fakeslack.User{ID: "U" + strings.ToUpper(strings.Split(a.Mail, "@")[0]), TeamID: team, Email: a.Mail, EmailConfirmed: true})
	}
	e.h.Opts.AdminGroups = []string{adminGroup}
	e.h.Rebuild()
	e.a = e.adapter(t, false)
	e.srv.Config.Handler = e.a.HTTPHandler()
}

var trig int

func (e *env) command(t *testing.T, user, text string) string {
	t.Helper()
	trig++
	form := url.Values{"command": {"/sspr"}, "text": {text}, "team_id": {team}, "user_id": {user},
		"channel_id": {"C1"}, "trigger_id": {"TrAdm" + strings.Repeat("x", trig)}}
	if code := e.signed(t, "/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode()), e.h.Clock.Now(), nil); code != 200 {
		t.Fatalf("/sspr %s: %d", text, code)
	}
	return lastPost(t, e.fake, "chat.postMessage").Text
}

func TestAdminPolicyCommands(t *testing.T) {
	e := setup(t, false)
	admins(t, e)
	ctx := context.Background()
	if out := e.command(t, "UALICE", "policy set required 1"); !strings.Contains(out, "only bot admins") {
		t.Fatalf("non-admin: %q", out)
	}
	if out := e.command(t, "UBOB", "policy show"); !strings.Contains(out, "required = 2") || !strings.Contains(out, "reconfirm_days = 180") {
		t.Fatalf("show: %q", out)
	}
	for in, want := range map[string]string{
		"policy set required 3":            "from 1 to 2",
		"policy set reconfirm_days 731":    "from 0 to 730",
		"policy set questions_answer 9":    "from 3 to 5",
		"policy set methods totp,pigeon":   "not a method",
		"policy set colour blue":           "Unknown setting",
		"policy set enabled_for everybody": "none, selected or all",
		"policy set methods questions":     "would be invalid",
		"policy set helpdesk_url http://x": "https link",
	} {
		if out := e.command(t, "UBOB", in); !strings.Contains(out, want) {
			t.Errorf("%s: %q, want %q", in, out, want)
		}
	}
	if _, v, _ := e.h.Store.GetPolicy(ctx); v != 1 {
		t.Fatalf("refused changes moved the version to %d", v)
	}
	// a strengthening change applies at once
	if out := e.command(t, "UBOB", "policy set reconfirm_days 90"); !strings.Contains(out, "Done: reconfirm_days = 90 (policy version 2)") {
		t.Fatalf("strengthen: %q", out)
	}
	// a weakening change needs the requester's fresh MFA sign-in, then a second admin's
	out := e.command(t, "UBOB", "policy set required 1")
	if !strings.Contains(out, "second bot admin must approve") || !strings.Contains(out, "multi-factor") {
		t.Fatalf("weaken: %q", out)
	}
	id := out[strings.Index(out, "policy approve ")+len("policy approve ") : strings.Index(out, "policy approve ")+len("policy approve ")+12]
	if out := e.command(t, "UCAROL", "policy approve "+id); !strings.Contains(out, "not confirmed yet") {
		t.Fatalf("approval before confirmation: %q", out)
	}
	if _, err := e.confirm(t, out, "bob-0002", false); err != flows.ErrNeedMFA {
		t.Fatalf("confirmation without MFA: %v", err)
	}
	out = e.command(t, "UBOB", "policy set required 1") // a new link (and a new pending change)
	id = out[strings.Index(out, "policy approve ")+len("policy approve ") : strings.Index(out, "policy approve ")+len("policy approve ")+12]
	if msg, err := e.confirm(t, out, "bob-0002", true); err != nil || !strings.Contains(msg, "second bot admin") {
		t.Fatalf("confirmation: %q %v", msg, err)
	}
	if p, _, _ := e.h.Store.GetPolicy(ctx); p.Required != 2 {
		t.Fatal("a weakening change applied without approval")
	}
	mails := e.h.Mail.All()
	if len(mails) == 0 || !strings.Contains(mails[len(mails)-1].Subject, "waiting for approval") ||
		!strings.Contains(strings.Join(mails[len(mails)-1].To, ","), "carol@contoso.test") {
		t.Fatalf("admins not told: %+v", mails)
	}
	if out := e.command(t, "UBOB", "policy approve "+id); !strings.Contains(out, "different bot admin") {
		t.Fatalf("self-approval: %q", out)
	}
	out = e.command(t, "UCAROL", "policy approve "+id)
	if msg, err := e.confirm(t, out, "carol-0003", true); err != nil || !strings.Contains(msg, "Approved and applied: required = 1") {
		t.Fatalf("approval: %q %v", msg, err)
	}
	if p, v, _ := e.h.Store.GetPolicy(ctx); p.Required != 1 || v != 3 {
		t.Fatalf("after approval: required %d version %d", p.Required, v)
	}
	if out := e.command(t, "UCAROL", "policy approve "+id); !strings.Contains(out, "no pending change") {
		t.Fatalf("second approval: %q", out)
	}
	e.h.Audit.Close()
	ev, _ := store.Events(ctx, e.h.RDB)
	var actions []string
	for _, x := range ev {
		if strings.HasPrefix(x.Action, "admin:") {
			actions = append(actions, x.Action+"/"+x.Outcome)
		}
	}
	joined := strings.Join(actions, " ")
	for _, want := range []string{"admin:policy set/refused", "admin:policy set/ok", "admin:policy set/pending", "admin:policy approve/pending",
		"admin:policy approve/refused", "admin:confirm confirm:" + id + "/ok", "admin:confirm approve:" + id + "/ok"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit lacks %s: %s", want, joined)
		}
	}
}

func TestAdminUnblockAndAudit(t *testing.T) {
	e := setup(t, false)
	admins(t, e)
	for i := 0; i < e.h.Policy.Limits.FailMax; i++ {
		e.h.Say("U1", storetest.Alice.Mail, "reset")
		rs := e.h.Say("U1", storetest.Alice.Mail, "reset")
		rs = e.h.Click("U1", storetest.Alice.Mail, storetest.Choice(t, rs, "Authenticator"))
		e.h.Say("U1", storetest.Alice.Mail, "000000")
	}
	if bs, _ := e.h.Engine.Blocks(context.Background()); len(bs) != 1 {
		t.Fatalf("not blocked: %+v", bs)
	}
	if out := e.command(t, "UALICE", "unblock alice@contoso.test"); !strings.Contains(out, "only bot admins") {
		t.Fatalf("self-unblock: %q", out)
	}
	if out := e.command(t, "UBOB", "unblock nobody@contoso.test"); !strings.Contains(out, "Usage: unblock") {
		t.Fatalf("unknown user: %q", out)
	}
	out := e.command(t, "UBOB", "unblock alice@contoso.test")
	if bs, _ := e.h.Engine.Blocks(context.Background()); len(bs) != 1 {
		t.Fatal("unblocked before the admin's sign-in")
	}
	if msg, err := e.confirm(t, out, "bob-0002", true); err != nil || !strings.Contains(msg, "can use self-service again") {
		t.Fatalf("unblock: %q %v", msg, err)
	}
	if bs, _ := e.h.Engine.Blocks(context.Background()); len(bs) != 0 {
		t.Fatalf("still blocked: %+v", bs)
	}
	if m := e.h.Mail.Last(); !strings.Contains(m.Subject, "self-service again") || !strings.Contains(strings.Join(m.To, ","), "alice@contoso.test") {
		t.Fatalf("the user was not told: %+v", m)
	}
	e.h.Audit.Close() // flush, then read through the same store the command uses
	out = e.command(t, "UBOB", "audit alice@contoso.test")
	for _, want := range []string{"Recent security events for Alice", "unblock ok", "verify failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %q: %q", want, out)
		}
	}
}

func TestRemindNowThroughSlack(t *testing.T) {
	e := setup(t, false)
	admins(t, e)
	// 6 unregistered people in the group, one of them a guest in Slack; Alice is registered
	for i := 0; i < 6; i++ {
		mail := "person" + string(rune('a'+i)) + "@contoso.test"
		e.h.Dir.Add(flows.Account{ID: "p-" + string(rune('a'+i)), Mail: mail, Enabled: true, Groups: []string{storetest.Group}})
		e.fake.AddUser(fakeslack.User{ID: "UP" + string(rune('A'+i)), TeamID: team, Email: mail, EmailConfirmed: true, Guest: i == 5, TZ: "Europe/Berlin"})
	}
	var rem *flows.Reminders
	dm := &forward{}
	e.h.Deps.Campaign = func(ctx context.Context) (int, error) { return rem.Plan(ctx) }
	e.h.Deps.Notifier = dm
	e.h.Rebuild()
	e.a = e.adapter(t, false)
	e.srv.Config.Handler = e.a.HTTPHandler()
	dm.to = e.a
	rem = flows.NewReminders(e.h.Engine, e.h.Store, e.h.Dir, e.a)
	if out := e.command(t, "UALICE", "remind now"); !strings.Contains(out, "only bot admins") {
		t.Fatalf("non-admin: %q", out)
	}
	out := e.command(t, "UBOB", "remind now")
	// bob and carol (admins, in no SSPR group) are out of scope; 6 unregistered members are queued
	if !strings.Contains(out, "6 people") {
		t.Fatalf("remind now: %q", out)
	}
	before := len(e.fake.Posts())
	for {
		n, err := rem.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	posts := e.fake.Posts()[before:]
	to := map[string]int{}
	for _, p := range posts {
		to[p.Channel]++
		// no link in a reminder but the recovery page's (saved before it is needed)
		if !strings.Contains(p.Text, "haven't set up password self-service") || len(fakeslack.Buttons(p)) != 2 ||
			strings.Contains(strings.ReplaceAll(p.Blocks, "https://bot.test/recover", ""), "https://") || !strings.Contains(p.Text, "https://bot.test/recover") {
			t.Fatalf("reminder %+v", p)
		}
	}
	if len(to) != 5 || to["DUPF"] != 0 {
		t.Fatalf("reminded %v (the guest must be left out)", to)
	}
	for ch, n := range to {
		if n != 1 {
			t.Fatalf("%s reminded %d times", ch, n)
		}
	}
	// "Remind me in 3 days" from the DM
	act, val := button(t, posts[0], 1)
	user := strings.TrimPrefix(posts[0].Channel, "D")
	e.clickAs(t, user, "TrSnooze", act, val)
	if p := lastPost(t, e.fake, "chat.postMessage"); !strings.Contains(p.Text, "remind you in 3 days") {
		t.Fatalf("snooze: %q", p.Text)
	}
	if out := e.command(t, "UBOB", "remind"); !strings.Contains(out, "6 people are scheduled") {
		t.Fatalf("progress: %q", out)
	}
}

// forward lets the engine reach an adapter built after it.
type forward struct{ to flows.Notifier }

func (f *forward) Notify(ctx context.Context, c flows.ChatRef, r []flows.Reply) error {
	return f.to.Notify(ctx, c, r)
}

// confirm signs a bot admin in on their one-time page (through the engine's web API) and
// carries out the action; mfa says whether the sign-in satisfied the authentication context.
func (e *env) confirm(t *testing.T, out, adminID string, mfa bool) (string, error) {
	t.Helper()
	i := strings.Index(out, "https://bot.test/l/")
	if i < 0 {
		t.Fatalf("no link in %q", out)
	}
	link := strings.Fields(out[i:])[0]
	ctx := context.Background()
	ws, err := e.h.Engine.BeginSignIn(ctx, link[strings.LastIndex(link, "/")+1:])
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	si := flows.SignIn{ObjectID: adminID, IssuedAt: e.h.Clock.Now()}
	if mfa { // the Conditional Access policy of the context required MFA and it was done
		si.ACRS = []string{e.h.Opts.AdminAuthContext}
	}
	if err := e.h.Engine.CompleteSignIn(ctx, &ws, si); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	return e.h.Engine.AdminConfirm(ctx, &ws, si)
}

func TestReportAndCSV(t *testing.T) {
	e := setup(t, false)
	admins(t, e)
	ctx := context.Background()
	// Alice is registered (setup); two more people in the group, one registered, one a formula
	e.h.Dir.Add(flows.Account{ID: "p-1", Mail: "p1@contoso.test", UPN: "p1@contoso.test", DisplayName: "=HYPERLINK(\"x\")", Enabled: true, Groups: []string{storetest.Group}})
	e.h.Dir.Add(flows.Account{ID: "p-2", Mail: "p2@contoso.test", UPN: "p2@contoso.test", DisplayName: "P2", Enabled: true, Groups: []string{storetest.Group}})
	e.h.Enrol("p-2")
	// a reset 3 days ago and one 20 days ago
	for _, ago := range []int{3, 20} {
		e.h.Audit.Audit(ctx, flows.AuditEvent{Time: e.h.Clock.Now().AddDate(0, 0, -ago), Subject: "p-2", Action: "reset", Outcome: "ok"})
	}
	// a block 10 days ago, two TOTP proofs and a failed one today, one out of the 30 days
	e.h.Audit.Audit(ctx, flows.AuditEvent{Time: e.h.Clock.Now().AddDate(0, 0, -10), Subject: "p-2", Action: "block", Outcome: "ok"})
	for _, o := range []string{"ok", "ok", "failed"} {
		e.h.Audit.Audit(ctx, flows.AuditEvent{Time: e.h.Clock.Now(), Subject: "p-2", Action: "verify", Outcome: o, Reason: "totp"})
	}
	e.h.Audit.Audit(ctx, flows.AuditEvent{Time: e.h.Clock.Now().AddDate(0, 0, -31), Subject: "p-2", Action: "reset", Outcome: "ok"})
	e.h.Audit.Close()
	out := e.command(t, "UBOB", "report")
	for _, want := range []string{"in scope: 3", "registered: 2 (66%)", "Authenticator app code: 2", "resets: 1 in 7 days, 2 in 30 days", "blocked now: 0",
		"blocks: 0 in 7 days, 1 in 30 days", "Authenticator app code: 2 proofs, 1 failed in 30 days"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	e.command(t, "UBOB", "report csv")
	files := e.fake.Files()
	if len(files) != 1 || files[0].Channel != "DUBOB" {
		t.Fatalf("files %+v", files)
	}
	csv := string(files[0].Data)
	if !strings.HasPrefix(csv, "user,name,registered,methods") || strings.Count(csv, "\n") != 4 || !strings.Contains(csv, `'=HYPERLINK`) {
		t.Fatalf("csv:\n%s", csv)
	}
	if strings.Contains(csv, "private.") {
		t.Fatal("the csv holds a private address")
	}
}

func TestPolicyGroupsByNameAndCustomQuestions(t *testing.T) {
	e := setup(t, false)
	admins(t, e)
	if out := e.command(t, "UBOB", "policy set groups Finance Team"); !strings.Contains(out, `no single group is named "Finance Team"`) {
		t.Fatalf("unknown group: %q", out)
	}
	// a group named by its display name is resolved to its id; a new group widens the scope, so it waits
	if out := e.command(t, "UBOB", "policy set groups SSPR Pilot"); !strings.Contains(out, "adds group 11111111-2222-4333-8444-555555555555") {
		t.Fatalf("group by name: %q", out)
	}
	out := e.command(t, "UBOB", "policy set custom_questions What was your first job title? | Who was your favourite teacher?")
	if !strings.Contains(out, "Done: custom_questions = What was your first job title? | Who was your favourite teacher?") {
		t.Fatalf("custom questions: %q", out)
	}
	if out := e.command(t, "UBOB", "policy set custom_questions no question mark"); !strings.Contains(out, "question mark") {
		t.Fatalf("bad question: %q", out)
	}
}
