package flows_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

// recover runs one request of the recovery page and fails the test on an error.
func recoverStep(t *testing.T, h *storetest.Harness, browser, name string, a flows.RecoverAction, arg, code string) flows.RecoverView {
	t.Helper()
	v, err := h.Engine.Recover(context.Background(), flows.RecoverInput{Browser: browser, Name: name, Locale: "en", Action: a, Arg: arg, Code: code, From: "192.0.2.7"})
	if err != nil {
		t.Fatalf("%s %s: %v", a, arg, err)
	}
	return v
}

// A person with no chat recovers on the page: an emailed code first (asked for blind), then the
// remaining method is shown, then the new password is set on the same page as in chat, and the
// reset is announced by email and in the chat the person once used, marked as the web channel.
func TestRecoverOnThePageWithoutChat(t *testing.T) {
	h, secret := newAlice(t)
	ctx := context.Background()
	if err := h.Store.Pin(ctx, storetest.Chat("U-alice").Key(), storetest.Alice.ID); err != nil {
		t.Fatal(err)
	}
	v := recoverStep(t, h, "b1", aliceMail, flows.RecoverStart, "", "")
	if v.Stage != flows.RecoverFirst {
		t.Fatalf("start %+v", v)
	}
	v = recoverStep(t, h, "b1", aliceMail, flows.RecoverSend, "email", "")
	h.Engine.Drain() // the code is sent after the answer
	if v.Stage != flows.RecoverCodeSent || v.Sent != "email" || len(h.Mail.All()) != 1 {
		t.Fatalf("send %+v, mails %d", v, len(h.Mail.All()))
	}
	v = recoverStep(t, h, "b1", aliceMail, flows.RecoverCode, "", storetest.CodeFrom(t, h.Mail.Last()))
	if v.Stage != flows.RecoverMore || len(v.Methods) != 1 || v.Methods[0].Kind != flows.MethodTOTP {
		t.Fatalf("after the first proof %+v", v)
	}
	v = recoverStep(t, h, "b1", aliceMail, flows.RecoverPick, string(flows.MethodTOTP), "")
	if v.Stage != flows.RecoverAwait || v.Method != flows.MethodTOTP {
		t.Fatalf("pick %+v", v)
	}
	code, _ := totp.Code(secret, h.Clock.Now())
	v = recoverStep(t, h, "b1", aliceMail, flows.RecoverCode, "", code)
	if v.Stage != flows.RecoverLink || !strings.HasPrefix(v.Link, "https://bot.test/l/") {
		t.Fatalf("second proof %+v", v)
	}
	if err := h.Engine.ResetPassword(ctx, token(v.Link), "Correct-Horse-9", "Correct-Horse-9"); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain()
	if h.Dir.Passwords[storetest.Alice.ID] != "Correct-Horse-9" || len(h.Dir.Revoked) != 1 {
		t.Fatalf("directory %v %v", h.Dir.Passwords, h.Dir.Revoked)
	}
	last := h.Mail.Last()
	if last.Subject != "Your password was reset" || len(last.To) != 2 {
		t.Fatalf("notice %+v", last)
	}
	if len(h.Notes.To) != 1 || h.Notes.To[0].Key() != "test:T1:U-alice" || h.Notes.Replies[0].MsgID != flows.MsgPasswordChanged ||
		!strings.HasPrefix(h.Notes.Replies[0].Choices[0].ID, "x:notme|") {
		t.Fatalf("chat notice %+v to %+v", h.Notes.Replies, h.Notes.To)
	}
	h.Audit.Close()
	evs, err := h.Audit.Recent(ctx, storetest.Alice.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if e.Platform != flows.RecoverPlatform {
			t.Fatalf("event not marked web: %+v", e)
		}
		seen[e.Action+"/"+e.Outcome] = true
	}
	for _, want := range []string{"recover_start/ok", "recover_send/ok", "verify/ok", "reset/ok"} {
		if !seen[want] {
			t.Fatalf("no %s in %v", want, seen)
		}
	}
}

// Every hidden state (nobody, unregistered, out of scope, privileged, disabled, blocked) and a
// registered person get the same pages for the same requests before the first proof, and cost
// the same directory look-ups and the same Redis round trips and commands.
func TestRecoverHiddenStatesLookAndCostTheSame(t *testing.T) {
	h, _ := newAlice(t)
	rec := &kinds{Directory: h.Dir}
	h.Deps.Directory = rec
	h.Rebuild()
	ctx := context.Background()
	acct := func(id string, f func(*flows.Account)) string {
		a := flows.Account{ID: id, UPN: id + "@contoso.test", Mail: id + "@contoso.test", DisplayName: id, Enabled: true, Groups: []string{storetest.Group}}
		f(&a)
		h.Dir.Add(a)
		return a.Mail
	}
	names := map[string]string{
		"unknown":      "nobody@contoso.test",
		"unregistered": acct("bob", func(*flows.Account) {}),
		"ineligible":   acct("carol", func(a *flows.Account) { a.Groups = nil }),
		"privileged":   acct("dave", func(a *flows.Account) { a.Privileged = true }),
		"disabled":     acct("erin", func(a *flows.Account) { a.Enabled = false }),
		"blocked":      acct("frank", func(*flows.Account) {}),
		"registered":   aliceMail,
	}
	for _, id := range []string{"carol", "dave", "erin", "frank"} {
		h.Enrol(id)
	}
	if err := h.Store.Block(ctx, "frank", h.Clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	type trace struct {
		views  []flows.RecoverView
		lookup []flows.ClaimKind
		trips  int
		cmds   []string
	}
	run := func(name string) trace {
		h.Engine.Drain()
		h.Counter.Take()
		rec.got = nil
		var tr trace
		b := "browser-" + name
		for _, st := range []struct {
			a         flows.RecoverAction
			arg, code string
		}{
			{flows.RecoverStart, "", ""}, {flows.RecoverCode, "", "123456"}, {flows.RecoverSend, "email", ""},
			{flows.RecoverCode, "", "654321"}, {flows.RecoverSend, "phone", ""}, {flows.RecoverBack, "", ""},
			{flows.RecoverCode, "", "234567"}, {flows.RecoverShow, "", ""},
		} {
			tr.views = append(tr.views, recoverStep(t, h, b, name, st.a, st.arg, st.code))
		}
		tr.trips, tr.cmds = h.Counter.Take()
		tr.lookup = rec.got
		h.Engine.Drain()
		return tr
	}
	run("warm-up@contoso.test") // the policy is read once, then cached
	want := run(names["unknown"])
	if len(want.lookup) != 1 || want.trips != 15 || !slices.Equal(want.cmds[:2], []string{"PIPELINE(HMGET,HGETALL,MGET,GET)", "EVALSHA"}) {
		t.Fatalf("unknown: %d look-ups, %d round trips %v", len(want.lookup), want.trips, want.cmds)
	}
	mailsBefore := len(h.Mail.All())
	for state, name := range names {
		if state == "unknown" {
			continue
		}
		got := run(name)
		if !reflect.DeepEqual(got.views, want.views) {
			t.Errorf("%s: pages %+v, want %+v", state, got.views, want.views)
		}
		if !slices.Equal(got.lookup, want.lookup) || got.trips != want.trips || !slices.Equal(got.cmds, want.cmds) {
			t.Errorf("%s: costs %v %d %v, want %v %d %v", state, got.lookup, got.trips, got.cmds, want.lookup, want.trips, want.cmds)
		}
	}
	// only the registered person was sent a code
	if sent := h.Mail.All()[mailsBefore:]; len(sent) != 1 || sent[0].To[0] != "private."+storetest.Alice.ID+"@mail.test" {
		t.Fatalf("mails %+v", sent)
	}
}

// The per-user counters are shared by chat and the page: three wrong codes in chat and two on
// the page are the five failed proofs that block self-service, in chat too.
func TestRecoverSharesCountersWithChat(t *testing.T) {
	h, _ := newAlice(t)
	rs := h.Say("U1", aliceMail, "forgot my password")
	rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Authenticator"))
	for range 3 {
		if rs = h.Say("U1", aliceMail, "000000"); !hasMsg(rs, flows.MsgCodeWrong) {
			t.Fatalf("chat %v", storetest.IDs(rs))
		}
	}
	recoverStep(t, h, "b1", aliceMail, flows.RecoverStart, "", "")
	for i := range 2 {
		en, _ := h.Store.Get(context.Background(), storetest.Alice.ID)
		if flows.IsBlocked(en, h.Clock.Now()) {
			t.Fatalf("blocked after %d failures", 3+i)
		}
		if v := recoverStep(t, h, "b1", aliceMail, flows.RecoverCode, "", "000000"); !v.Refused || v.Stage != flows.RecoverFirst {
			t.Fatalf("page %+v", v)
		}
	}
	en, _ := h.Store.Get(context.Background(), storetest.Alice.ID)
	if !flows.IsBlocked(en, h.Clock.Now()) || en.Fails.Count != 5 {
		t.Fatalf("not blocked after five failures: %+v", en)
	}
	if rs = h.Say("U1", aliceMail, "I'm locked out"); !hasMsg(rs, flows.MsgHelpdesk) && !hasMsg(rs, flows.MsgBlockedUntil) {
		t.Fatalf("chat after the page's failures %v", storetest.IDs(rs))
	}
}

// Fifty wrong codes at once, from fifty browsers: the atomic script judges at most the limit
// of them, the rest find the account blocked.
func TestRecoverParallelWrongCodesJudgeAtMostTheLimit(t *testing.T) {
	h, _ := newAlice(t)
	const n = 50
	for i := range n {
		recoverStep(t, h, fmt.Sprint("b", i), aliceMail, flows.RecoverStart, "", "")
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := h.Engine.Recover(context.Background(), flows.RecoverInput{Browser: fmt.Sprint("b", i), Name: aliceMail, Action: flows.RecoverCode, Code: "000000"})
			if err != nil || !v.Refused {
				t.Errorf("%d: %+v %v", i, v, err)
			}
		}()
	}
	wg.Wait()
	en, _ := h.Store.Get(context.Background(), storetest.Alice.ID)
	if en.Fails.Count != h.Policy.Limits.FailMax || !flows.IsBlocked(en, h.Clock.Now()) {
		t.Fatalf("judged %d wrong codes (limit %d), blocked %v", en.Fails.Count, h.Policy.Limits.FailMax, en.BlockedUntil)
	}
}

// The names typed on the page are bounded and checked before anything is looked up.
func TestRecoverRefusesBadNames(t *testing.T) {
	h, _ := newAlice(t)
	for _, name := range []string{"", " ", strings.Repeat("a", flows.MaxRecoverName+1), "al\nice", "a\x00b"} {
		if _, err := h.Engine.Recover(context.Background(), flows.RecoverInput{Browser: "b", Name: name, Action: flows.RecoverStart}); err == nil {
			t.Errorf("%q accepted", name)
		}
	}
	if calls := h.Dir.TakeCalls(); len(calls) != 0 {
		t.Fatalf("looked up %v", calls)
	}
}

// The recovery page is pointed out before anyone needs it: in the help reply, in every
// registration reminder and on the chat home page (the Slack App Home renders Overview).
func TestRecoverPageIsLinkedFromHelpRemindersAndHome(t *testing.T) {
	h := storetest.New(t)
	roster := campaign(t, h, 0, 1, 0, 0)
	const want = "https://bot.test/recover"
	if rs := h.Say("U-new", "new000@contoso.test", "help"); !strings.Contains(rs[0].Text, want) {
		t.Fatalf("help %q", rs[0].Text)
	}
	r := flows.NewReminders(h.Engine, h.Store, h.Dir, roster)
	if _, err := r.Plan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(h.Notes.Replies) != 1 || !strings.Contains(h.Notes.Replies[0].Text, want) {
		t.Fatalf("reminder %+v", h.Notes.Replies)
	}
	ov, err := h.Engine.Overview(context.Background(), flows.Inbound{Chat: storetest.Chat("U-new"), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: "new000@contoso.test"}})
	if err != nil || !strings.Contains(ov.RecoverHint, want) {
		t.Fatalf("overview %+v %v", ov, err)
	}
}

// The send limit arrives at the same count for a name nobody has as for a person, whichever
// browsers ask: a limit that came only for real accounts would tell them apart.
func TestRecoverSendLimitIsTheSameForEveryName(t *testing.T) {
	h, _ := newAlice(t)
	limitAt := func(name string) int {
		for i := 1; i <= 3*h.Policy.Limits.SendMax; i++ {
			b := fmt.Sprint("browser-", name, i)
			recoverStep(t, h, b, name, flows.RecoverStart, "", "")
			if v := recoverStep(t, h, b, name, flows.RecoverSend, "email", ""); v.Limit {
				return i
			}
		}
		return 0
	}
	known, nobody := limitAt(aliceMail), limitAt("nobody@contoso.test")
	if known != h.Policy.Limits.SendMax+1 || nobody != known {
		t.Fatalf("limit at send %d for a person, %d for nobody (limit %d)", known, nobody, h.Policy.Limits.SendMax)
	}
}

// countingUnlock is an Active Directory-like directory: it keeps lockouts and unlocks them.
type countingUnlock struct {
	*storetest.Directory
	mu       sync.Mutex
	unlocked []string
}

func (d *countingUnlock) Capabilities() flows.Capabilities {
	c := d.Directory.Capabilities()
	c.Unlocker = d
	return c
}

func (*countingUnlock) LockedOut(context.Context, string) (bool, time.Time, error) {
	return true, time.Time{}, nil
}

func (d *countingUnlock) Unlock(_ context.Context, id string) error {
	d.mu.Lock()
	d.unlocked = append(d.unlocked, id)
	d.mu.Unlock()
	return nil
}

// An account mastered in Active Directory is unlocked from the page without a new password
// (the same unlock as chat's), with the link for a new password offered too; a user name
// (sAMAccountName) is a claim of its own kind.
func TestRecoverUnlocksAnADAccountOnThePage(t *testing.T) {
	h, secret := newAlice(t)
	dir := &countingUnlock{Directory: h.Dir}
	h.Deps.Directory = dir
	h.Opts.ADConfigured = true
	h.Rebuild()
	a := storetest.Alice
	a.Synced = true
	h.Dir.Add(a)
	if c := flows.RecoverClaim(`CONTOSO\alice`); c.Kind != flows.ClaimUPN {
		t.Fatalf("user name claim %+v", c)
	}
	ctx := context.Background()
	v, err := h.Engine.Recover(ctx, flows.RecoverInput{Browser: "b1", Name: aliceMail, Action: flows.RecoverStart, Unlock: true})
	if err != nil || v.Stage != flows.RecoverFirst {
		t.Fatalf("start %+v %v", v, err)
	}
	code, _ := totp.Code(secret, h.Clock.Now())
	recoverStep(t, h, "b1", aliceMail, flows.RecoverCode, "", code)
	recoverStep(t, h, "b1", aliceMail, flows.RecoverPick, "email", "")
	h.Engine.Drain()
	v = recoverStep(t, h, "b1", aliceMail, flows.RecoverCode, "", storetest.CodeFrom(t, h.Mail.Last()))
	if v.Stage != flows.RecoverLink || v.Link == "" || len(v.Messages) != 2 || !strings.Contains(v.Messages[0], "unlocked") {
		t.Fatalf("unlock %+v", v)
	}
	if len(dir.unlocked) != 1 || dir.unlocked[0] != a.ID || h.Dir.Passwords[a.ID] != "" {
		t.Fatalf("unlocked %v, passwords %v", dir.unlocked, h.Dir.Passwords)
	}
}
