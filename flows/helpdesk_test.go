package flows_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/storetest"
)

const helpdeskGroup = "grp-helpdesk"

// Bob is a helpdesk agent (not a bot admin); Carol is in neither group.
var (
	bob   = flows.Account{ID: "b0b-0002", UPN: "bob@contoso.test", Mail: "bob@contoso.test", DisplayName: "Bob Agent", Enabled: true, Groups: []string{helpdeskGroup}}
	dana  = flows.Account{ID: "da7a-0004", UPN: "dana@contoso.test", Mail: "dana@contoso.test", DisplayName: "Dana Admin", Enabled: true, Groups: []string{"grp-admins"}}
	carol = flows.Account{ID: "ca201-0003", UPN: "carol@contoso.test", Mail: "carol@contoso.test", DisplayName: "Carol", Enabled: true, Groups: []string{storetest.Group}}
)

// alerts records what the bot admins were alerted about.
type alerts struct {
	mu    sync.Mutex
	texts []string
	evs   []flows.AuditEvent
}

func (a *alerts) Alert(_ context.Context, e flows.AuditEvent, text string) {
	a.mu.Lock()
	a.texts, a.evs = append(a.texts, text), append(a.evs, e)
	a.mu.Unlock()
}

// helpdesk is a harness with Alice registered and pinned to chat U1, and Bob the agent.
func helpdesk(t *testing.T) (*storetest.Harness, string, *alerts) {
	t.Helper()
	h, secret := newAlice(t)
	h.Dir.Add(bob)
	h.Dir.Add(carol)
	if err := h.Store.Pin(context.Background(), storetest.Chat("U1").Key(), storetest.Alice.ID); err != nil {
		t.Fatal(err)
	}
	al := &alerts{}
	h.Deps.Alerts = al
	h.Opts.HelpdeskGroups = []string{helpdeskGroup}
	h.Opts.AdminGroups = []string{"grp-admins"}
	h.Dir.Add(dana)
	h.Rebuild()
	return h, secret, al
}

// agent runs a /sspr command as a chat user claiming an email.
func agent(t *testing.T, h *storetest.Harness, chat, claim, text string) []flows.Reply {
	t.Helper()
	in := flows.Inbound{Chat: storetest.Chat(chat), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: claim}}
	rs, err := h.Engine.Admin(context.Background(), in, text)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return rs
}

var numberRE = regexp.MustCompile(`number to the caller: (\d\d)\.`)

// askAlice has Bob start number matching; it returns the number and the prompt Alice got.
func askAlice(t *testing.T, h *storetest.Harness) (string, flows.Reply) {
	t.Helper()
	before := len(h.Notes.Replies)
	rs := agent(t, h, "B1", bob.Mail, "verify "+aliceMail)
	if !hasMsg(rs, flows.MsgHelpdeskNumber) {
		t.Fatalf("agent: %+v", rs)
	}
	m := numberRE.FindStringSubmatch(rs[0].Text)
	if m == nil {
		t.Fatalf("no number in %q", rs[0].Text)
	}
	if len(h.Notes.Replies) != before+1 || h.Notes.To[before].Key() != storetest.Chat("U1").Key() {
		t.Fatalf("Alice's chat not asked: %+v", h.Notes.To[before:])
	}
	prompt := h.Notes.Replies[before]
	if prompt.MsgID != flows.MsgHelpdeskAsk || len(prompt.Choices) != 4 || strings.Contains(prompt.Text, m[1]) {
		t.Fatalf("prompt: %+v", prompt)
	}
	return m[1], prompt
}

func events(t *testing.T, h *storetest.Harness) []flows.AuditEvent {
	t.Helper()
	h.Audit.Close() // flushes; later events are written in line
	evs, err := store.Events(context.Background(), h.RDB)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func findEvent(evs []flows.AuditEvent, action, outcome string) (flows.AuditEvent, bool) {
	for _, e := range evs {
		if e.Action == action && e.Outcome == outcome {
			return e, true
		}
	}
	return flows.AuditEvent{}, false
}

// bothNamed: the audit event names the agent and the person.
func bothNamed(e flows.AuditEvent) bool {
	return strings.Contains(e.Reason, "Bob Agent <"+bob.UPN+">") && strings.Contains(e.Reason, "Alice <"+storetest.Alice.UPN+">")
}

// noSecrets: nothing the agent sees carries a code, an address or a registration detail.
func noSecrets(t *testing.T, h *storetest.Harness, rs []flows.Reply, code string) {
	t.Helper()
	var all []string
	for _, r := range rs {
		all = append(all, r.Text)
	}
	for i, r := range h.Notes.Replies {
		if h.Notes.To[i].UserID == "B1" {
			all = append(all, r.Text)
		}
	}
	for _, s := range all {
		for _, bad := range []string{"private.", "@mail.test", "+1", "*"} {
			if strings.Contains(s, bad) {
				t.Errorf("agent saw %q in %q", bad, s)
			}
		}
		if code != "" && strings.Contains(s, code) {
			t.Errorf("agent saw the code in %q", s)
		}
	}
}

func lastTo(t *testing.T, h *storetest.Harness, chat string) flows.Reply {
	t.Helper()
	for i := len(h.Notes.Replies) - 1; i >= 0; i-- {
		if h.Notes.To[i].UserID == chat {
			return h.Notes.Replies[i]
		}
	}
	t.Fatalf("nothing was posted to %s", chat)
	return flows.Reply{}
}

func TestHelpdeskVerifiesByNumberMatchingAndReadBackCode(t *testing.T) {
	h, _, _ := helpdesk(t)
	n, prompt := askAlice(t, h)
	rs := h.Click("U1", aliceMail, storetest.Choice(t, []flows.Reply{prompt}, n))
	if !hasMsg(rs, flows.MsgHelpdeskMatched) {
		t.Fatalf("person: %+v", rs)
	}
	got := lastTo(t, h, "B1")
	if got.MsgID != flows.MsgHelpdeskVerified || got.Text != "Alice is verified with number matching in chat at 09:00 UTC." {
		t.Fatalf("agent told: %+v", got)
	}
	// a second proof: the email code read back (the app is the first; email when the app is not allowed)
	h.Clock.Advance(time.Minute)
	rs = agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" code")
	if !hasMsg(rs, flows.MsgHelpdeskCodeAsked) || !strings.Contains(rs[0].Text, "authenticator app") {
		t.Fatalf("code asked: %+v", rs)
	}
	if r := lastTo(t, h, "U1"); r.MsgID != flows.MsgHelpdeskReadBack {
		t.Fatalf("person not told why: %+v", r)
	}
	noSecrets(t, h, rs, "")
	evs := events(t, h)
	for _, want := range [][2]string{{"helpdesk_request", "ok"}, {"helpdesk_approve", "ok"}} {
		e, ok := findEvent(evs, want[0], want[1])
		if !ok || !bothNamed(e) || e.Subject != storetest.Alice.ID {
			t.Fatalf("audit %v: %+v", want, evs)
		}
	}
}

func TestHelpdeskReadBackCodes(t *testing.T) {
	h, secret, _ := helpdesk(t)
	// the authenticator app: the code it shows now, read back
	rs := agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" code")
	if !hasMsg(rs, flows.MsgHelpdeskCodeAsked) {
		t.Fatalf("%+v", rs)
	}
	code, _ := totp.Code(secret, h.Clock.Now())
	rs = agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" "+code)
	if !hasMsg(rs, flows.MsgHelpdeskVerified) || rs[0].Text != "Alice is verified with the code from their authenticator app at 09:00 UTC." {
		t.Fatalf("totp: %+v", rs)
	}
	noSecrets(t, h, rs, code)
	// the same code again is no proof (one try per code; a TOTP step is accepted once)
	rs = agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" "+code)
	if hasMsg(rs, flows.MsgHelpdeskVerified) {
		t.Fatalf("replayed: %+v", rs)
	}

	// an email code: the policy offers no authenticator app, so the code goes by email
	p := h.Policy
	p.Methods = []flows.MethodKind{flows.MethodEmail, flows.MethodQuestions}
	p.Required = 1
	if _, err := h.Store.PutPolicy(context.Background(), p, 1); err != nil {
		t.Fatal(err)
	}
	h.Rebuild()
	h.Clock.Advance(2 * time.Minute)
	rs = agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" code")
	if !hasMsg(rs, flows.MsgHelpdeskCodeAsked) || !strings.Contains(rs[0].Text, "email") {
		t.Fatalf("email: %+v", rs)
	}
	mailed := storetest.CodeFrom(t, h.Mail.Last())
	rs = agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" "+mailed)
	if !hasMsg(rs, flows.MsgHelpdeskVerified) || !strings.Contains(rs[0].Text, "code from their email at 09:02 UTC") {
		t.Fatalf("email code: %+v", rs)
	}
	noSecrets(t, h, rs, mailed)
}

func TestHelpdeskWrongNumberFailsAndIsAudited(t *testing.T) {
	h, _, _ := helpdesk(t)
	n, prompt := askAlice(t, h)
	wrong := ""
	for _, c := range prompt.Choices {
		if c.Label != n && !strings.Contains(c.ID, "notme") {
			wrong = c.ID
		}
	}
	rs := h.Click("U1", aliceMail, wrong)
	if !hasMsg(rs, flows.MsgHelpdeskWrongNumber) {
		t.Fatalf("person: %+v", rs)
	}
	if got := lastTo(t, h, "B1"); got.MsgID != flows.MsgHelpdeskNotVerified {
		t.Fatalf("agent: %+v", got)
	}
	// the right number afterwards changes nothing: one answer per request
	right := storetest.Choice(t, []flows.Reply{prompt}, n)
	if rs := h.Click("U1", aliceMail, right); !hasMsg(rs, flows.MsgHelpdeskOver) {
		t.Fatalf("second answer: %+v", rs)
	}
	if got := lastTo(t, h, "B1"); got.MsgID != flows.MsgHelpdeskNotVerified {
		t.Fatalf("agent after a second answer: %+v", got)
	}
	// and no read-back code joins a denied request without a new one (counted)
	e, ok := findEvent(events(t, h), "helpdesk_deny", "denied")
	if !ok || !bothNamed(e) || !strings.Contains(e.Reason, "wrong number") {
		t.Fatalf("audit: %+v", e)
	}
}

func TestHelpdeskFourRequestsInAnHourAreRefused(t *testing.T) {
	h, _, _ := helpdesk(t)
	for i := 0; i < 3; i++ {
		askAlice(t, h)
		h.Clock.Advance(10 * time.Minute)
	}
	before := len(h.Notes.Replies)
	rs := agent(t, h, "B1", bob.Mail, "verify "+aliceMail)
	if !hasMsg(rs, flows.MsgHelpdeskLimit) || len(h.Notes.Replies) != before {
		t.Fatalf("fourth: %+v (notices %d→%d)", rs, before, len(h.Notes.Replies))
	}
	// a read-back code is a request too
	if rs := agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" code"); !hasMsg(rs, flows.MsgHelpdeskLimit) {
		t.Fatalf("code as the fourth: %+v", rs)
	}
	// the window slides: an hour after the first, one more is allowed
	h.Clock.Advance(31 * time.Minute)
	askAlice(t, h)
	e, ok := findEvent(events(t, h), "helpdesk_request", "refused")
	if !ok || !bothNamed(e) || !strings.Contains(e.Reason, "limit") {
		t.Fatalf("audit: %+v", e)
	}
}

func TestHelpdeskFourConcurrentRequestsOnlyThreeGoOut(t *testing.T) {
	h, _, _ := helpdesk(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused := 0
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := flows.Inbound{Chat: storetest.Chat("B1"), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: bob.Mail}}
			rs, err := h.Engine.Admin(context.Background(), in, "verify "+aliceMail)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			if hasMsg(rs, flows.MsgHelpdeskLimit) {
				refused++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if refused != 3 {
		t.Fatalf("%d of 6 concurrent requests refused, want 3", refused)
	}
}

func TestHelpdeskNotOnACallAlertsTheAdmins(t *testing.T) {
	h, _, al := helpdesk(t)
	_, prompt := askAlice(t, h)
	rs := h.Click("U1", aliceMail, storetest.Choice(t, []flows.Reply{prompt}, "not on a call"))
	if !hasMsg(rs, flows.MsgHelpdeskNotMe) {
		t.Fatalf("person: %+v", rs)
	}
	h.Engine.Drain()
	if len(al.texts) != 1 || !strings.Contains(al.texts[0], "Bob Agent") || !strings.Contains(al.texts[0], "Alice") ||
		al.evs[0].Action != "helpdesk_not_on_call" {
		t.Fatalf("alerts: %+v %+v", al.texts, al.evs)
	}
	if m := h.Mail.Last(); len(m.To) != 1 || m.To[0] != dana.Mail || !strings.Contains(m.Body, "not on a call") {
		t.Fatalf("bot admins not mailed: %+v", m)
	}
	if got := lastTo(t, h, "B1"); got.MsgID != flows.MsgHelpdeskNotVerified {
		t.Fatalf("agent: %+v", got)
	}
	// pressed again: no second alert
	h.Click("U1", aliceMail, storetest.Choice(t, []flows.Reply{prompt}, "not on a call"))
	h.Engine.Drain()
	if len(al.texts) != 1 {
		t.Fatalf("alerted %d times", len(al.texts))
	}
	e, ok := findEvent(events(t, h), "helpdesk_deny", "denied")
	if !ok || !bothNamed(e) {
		t.Fatalf("audit: %+v", e)
	}
}

func TestHelpdeskRefusesNonMembers(t *testing.T) {
	h, _, _ := helpdesk(t)
	for _, who := range []string{carol.Mail, "nobody@contoso.test"} {
		rs := agent(t, h, "C1", who, "verify "+aliceMail)
		if !hasMsg(rs, flows.MsgNotHelpdesk) || len(h.Notes.Replies) != 0 {
			t.Fatalf("%s: %+v, notices %d", who, rs, len(h.Notes.Replies))
		}
	}
	// a bot admin is not a helpdesk agent either
	h.Opts.AdminGroups = append(h.Opts.AdminGroups, storetest.Group)
	h.Rebuild()
	if rs := agent(t, h, "C1", carol.Mail, "verify "+aliceMail+" code"); !hasMsg(rs, flows.MsgNotHelpdesk) {
		t.Fatalf("bot admin: %+v", rs)
	}
	e, ok := findEvent(events(t, h), "helpdesk_request", "refused")
	if !ok || e.Reason != "not_helpdesk" {
		t.Fatalf("audit: %+v", e)
	}
}

func TestHelpdeskTimeoutIsAuditedAndTheAgentTold(t *testing.T) {
	h, _, _ := helpdesk(t)
	_, prompt := askAlice(t, h)
	h.Clock.Advance(flows.HelpdeskAskLifetime - time.Second)
	if n, err := h.Engine.SweepHelpdesk(context.Background(), time.Minute); err != nil || n != 0 {
		t.Fatalf("early sweep: %d %v", n, err)
	}
	h.Clock.Advance(time.Second)
	if n, err := h.Engine.SweepHelpdesk(context.Background(), time.Minute); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if got := lastTo(t, h, "B1"); got.MsgID != flows.MsgHelpdeskTimedOut {
		t.Fatalf("agent: %+v", got)
	}
	if rs := h.Click("U1", aliceMail, prompt.Choices[0].ID); !hasMsg(rs, flows.MsgHelpdeskOver) {
		t.Fatalf("late answer: %+v", rs)
	}
	e, ok := findEvent(events(t, h), "helpdesk_timeout", "timeout")
	if !ok || !bothNamed(e) {
		t.Fatalf("audit: %+v", e)
	}
}

func TestHelpdeskVerifiesPrivilegedUsersButNeverResets(t *testing.T) {
	h, _, _ := helpdesk(t)
	a := storetest.Alice
	a.Privileged = true
	h.Dir.Add(a)
	// self-service refuses her (privileged users are not allowed here) …
	if rs := h.Say("U1", aliceMail, "I'm locked out"); !hasMsg(rs, flows.MsgHelpdesk) {
		t.Fatalf("self-service: %+v", rs)
	}
	// … the helpdesk can still verify her, and the verification opens no reset
	n, prompt := askAlice(t, h)
	rs := h.Click("U1", aliceMail, storetest.Choice(t, []flows.Reply{prompt}, n))
	if !hasMsg(rs, flows.MsgHelpdeskMatched) || lastTo(t, h, "B1").MsgID != flows.MsgHelpdeskVerified {
		t.Fatalf("privileged: %+v", rs)
	}
	for _, r := range append(rs, h.Notes.Replies...) {
		if r.Link != "" {
			t.Fatalf("a link came out of a helpdesk verification: %+v", r)
		}
	}
	if len(h.Dir.Passwords) != 0 {
		t.Fatal("a password was set")
	}
	if rs := h.Say("U1", aliceMail, "I'm locked out"); !hasMsg(rs, flows.MsgHelpdesk) {
		t.Fatalf("self-service after the verification: %+v", rs)
	}
}

// readBoth has Alice read back her authenticator code, then her email code, in Bob's request.
func readBoth(t *testing.T, h *storetest.Harness, secret string, check func()) {
	t.Helper()
	agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" code")
	code, _ := totp.Code(secret, h.Clock.Now())
	if rs := agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" "+code); !hasMsg(rs, flows.MsgHelpdeskVerified) {
		t.Fatalf("totp: %+v", rs)
	}
	if check != nil {
		check()
	}
	agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" code")
	if rs := agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" "+storetest.CodeFrom(t, h.Mail.Last())); !hasMsg(rs, flows.MsgHelpdeskVerified) {
		t.Fatalf("email: %+v", rs)
	}
}

// After the codes self-service needs were read back, the agent can send the person a one-time
// reset link in their chat; number matching alone is not enough, and one request sends one link.
func TestHelpdeskSendsAResetLinkAfterTheCodes(t *testing.T) {
	h, secret, _ := helpdesk(t)
	n, prompt := askAlice(t, h)
	h.Click("U1", aliceMail, storetest.Choice(t, []flows.Reply{prompt}, n))
	if rs := agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" link"); !hasMsg(rs, flows.MsgHelpdeskLinkNeedsCodes) {
		t.Fatalf("link after number matching alone: %+v", rs)
	}
	readBoth(t, h, secret, func() {
		if rs := agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" link"); !hasMsg(rs, flows.MsgHelpdeskLinkNeedsCodes) {
			t.Fatalf("link after one code of two: %+v", rs)
		}
	})
	before := len(h.Notes.Replies)
	rs := agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" link")
	if !hasMsg(rs, flows.MsgHelpdeskLinkSent) || rs[0].Link != "" || len(h.Notes.Replies) != before+1 {
		t.Fatalf("link: %+v", rs)
	}
	got := h.Notes.Replies[before]
	if got.MsgID != flows.MsgHelpdeskResetLink || got.Link == "" || h.Notes.To[before].UserID != "U1" {
		t.Fatalf("Alice's chat: %+v", got)
	}
	noSecrets(t, h, rs, token(got.Link))
	if err := h.Engine.ResetPassword(context.Background(), token(got.Link), "Correct-Horse-9", "Correct-Horse-9"); err != nil {
		t.Fatalf("reset: %v", err)
	}
	h.Engine.Drain()
	if h.Dir.Passwords[storetest.Alice.ID] != "Correct-Horse-9" {
		t.Fatal("password not set")
	}
	if rs := agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" link"); !hasMsg(rs, flows.MsgHelpdeskLinkSent) ||
		hasMsg(h.Notes.Replies[before+1:], flows.MsgHelpdeskResetLink) {
		t.Fatalf("a second link: %+v", rs)
	}
	e, ok := findEvent(events(t, h), "helpdesk_link", "ok")
	if !ok || !bothNamed(e) {
		t.Fatalf("audit: %+v", e)
	}
}

// Privileged users are verified like anyone, but never reset from this path, even where they
// may self-serve.
func TestHelpdeskNeverSendsAPrivilegedUserAResetLink(t *testing.T) {
	h, secret, _ := helpdesk(t)
	a := storetest.Alice
	a.Privileged = true
	h.Dir.Add(a)
	h.Opts.AllowPrivileged = true
	h.Rebuild()
	readBoth(t, h, secret, nil)
	before := len(h.Notes.Replies)
	if rs := agent(t, h, "B1", bob.Mail, "verify "+aliceMail+" link"); !hasMsg(rs, flows.MsgHelpdeskLinkPrivileged) || len(h.Notes.Replies) != before {
		t.Fatalf("privileged: %+v", rs)
	}
	e, ok := findEvent(events(t, h), "helpdesk_link", "refused")
	if !ok || !strings.Contains(e.Reason, "privileged") {
		t.Fatalf("audit: %+v", e)
	}
}
