package flows_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

const aliceMail = "alice@contoso.test"

func newAlice(t *testing.T) (*storetest.Harness, string) {
	h := storetest.New(t)
	h.Dir.Add(storetest.Alice)
	secret := h.Enrol(storetest.Alice.ID)
	return h, secret
}

var (
	hasMsg = storetest.Has
	linkOf = storetest.Link
)

func token(link string) string { return link[strings.LastIndex(link, "/")+1:] }

// proveBoth runs a whole verification in chat and returns the reset link.
func proveBoth(t *testing.T, h *storetest.Harness, chat, secret string) string {
	t.Helper()
	rs := h.Say(chat, aliceMail, "I'm locked out")
	if !hasMsg(rs, flows.MsgChooseMethod) || !hasMsg(rs, flows.MsgUnlockIsReset) {
		t.Fatalf("start: %v", storetest.IDs(rs))
	}
	rs = h.Click(chat, aliceMail, storetest.Choice(t, rs, "Authenticator"))
	if !hasMsg(rs, flows.MsgEnterTOTP) {
		t.Fatalf("totp: %v", storetest.IDs(rs))
	}
	code, _ := totp.Code(secret, h.Clock.Now())
	rs = h.Say(chat, aliceMail, code)
	if !hasMsg(rs, flows.MsgProvenMore) {
		t.Fatalf("totp code: %v", storetest.IDs(rs))
	}
	rs = h.Click(chat, aliceMail, storetest.Choice(t, rs, "Email"))
	if !hasMsg(rs, flows.MsgEmailSent) || strings.Contains(rs[0].Text, "private.") {
		t.Fatalf("email: %+v", rs)
	}
	rs = h.Say(chat, aliceMail, storetest.CodeFrom(t, h.Mail.Last()))
	if !hasMsg(rs, flows.MsgResetLink) {
		t.Fatalf("email code: %v", storetest.IDs(rs))
	}
	return linkOf(t, rs)
}

func TestResetEndToEnd(t *testing.T) {
	h, secret := newAlice(t)
	link := proveBoth(t, h, "U1", secret)
	ctx := context.Background()
	if _, err := h.Engine.OpenReset(ctx, token(link)); err != nil {
		t.Fatalf("open: %v", err)
	}
	err := h.Engine.ResetPassword(ctx, token(link), "Correct-Horse-9", "Correct-Horse-8")
	if _, ok := err.(*flows.PasswordError); !ok {
		t.Fatalf("mismatch accepted: %v", err)
	}
	if err := h.Engine.ResetPassword(ctx, token(link), "Correct-Horse-9", "Correct-Horse-9"); err != nil {
		t.Fatalf("reset: %v", err)
	}
	h.Engine.Drain() // revocation and notices run after the answer
	if h.Dir.Passwords[storetest.Alice.ID] != "Correct-Horse-9" || len(h.Dir.Revoked) != 1 {
		t.Fatalf("directory: %v %v", h.Dir.Passwords, h.Dir.Revoked)
	}
	if got := h.Mail.Last(); got.Subject != "Your password was reset" || len(got.To) != 2 {
		t.Fatalf("notice: %+v", got)
	}
	if !hasMsg(h.Notes.Replies, flows.MsgPasswordChanged) {
		t.Fatal("chat not told")
	}
	if err := h.Engine.ResetPassword(ctx, token(link), "Other-Zebra-Canyon-9", "Other-Zebra-Canyon-9"); err != flows.ErrLinkGone {
		t.Fatalf("second use: %v", err)
	}
	if h.Dir.Passwords[storetest.Alice.ID] != "Correct-Horse-9" {
		t.Fatal("second use changed the password")
	}
}

func TestConcurrentSameEmailCodeOnlyOneWins(t *testing.T) {
	h, secret := newAlice(t)
	rs := h.Say("U1", aliceMail, "reset")
	rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Authenticator"))
	code, _ := totp.Code(secret, h.Clock.Now())
	rs = h.Say("U1", aliceMail, code)
	h.Click("U1", aliceMail, storetest.Choice(t, rs, "Email"))
	emailCode := storetest.CodeFrom(t, h.Mail.Last())
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs := h.Say("U1", aliceMail, emailCode)
			mu.Lock()
			if hasMsg(rs, flows.MsgResetLink) {
				wins++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d submissions of one code succeeded, want exactly 1", wins)
	}
}

func TestWrongCodesAcrossSessionsStopAtTheCap(t *testing.T) {
	h, _ := newAlice(t)
	limit := h.Policy.Limits.FailMax
	var picks []string
	for i := 0; i < 10; i++ {
		chat := "S" + string(rune('0'+i))
		rs := h.Say(chat, aliceMail, "reset")
		rs = h.Click(chat, aliceMail, storetest.Choice(t, rs, "Email"))
		if !hasMsg(rs, flows.MsgEmailSent) {
			t.Fatalf("session %d: %v", i, storetest.IDs(rs))
		}
		picks = append(picks, chat)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong, blocked := 0, 0
	other := map[flows.MsgID]int{}
	for _, chat := range picks {
		for j := 0; j < 5; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rs := h.Say(chat, aliceMail, "000000")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case hasMsg(rs, flows.MsgCodeWrong):
					wrong++
				case hasMsg(rs, flows.MsgBlocked), hasMsg(rs, flows.MsgBlockedUntil), hasMsg(rs, flows.MsgHelpdesk), hasMsg(rs, flows.MsgBusy):
					// refused unjudged: blocked, or the session moved on under it
					blocked++
				default:
					for _, id := range storetest.IDs(rs) {
						other[id]++
					}
				}
			}()
		}
	}
	wg.Wait()
	if wrong > limit || wrong == 0 {
		t.Fatalf("%d wrong codes were judged, want 1..%d", wrong, limit)
	}
	if wrong+blocked != 50 {
		t.Fatalf("%d judged wrong + %d stopped != 50; others: %v", wrong, blocked, other)
	}
	en, _ := h.Store.Get(context.Background(), storetest.Alice.ID)
	if !flows.IsBlocked(en, h.Clock.Now()) {
		t.Fatal("user not blocked after 50 wrong codes")
	}
	// a new code does not reset anything: the user stays blocked, the right code is refused
	h.Clock.Advance(time.Minute)
	rs := h.Click(picks[0], aliceMail, "m:email|x|1")
	if !hasMsg(rs, flows.MsgStaleButton) && !hasMsg(rs, flows.MsgBlocked) && !hasMsg(rs, flows.MsgBlockedUntil) && !hasMsg(rs, flows.MsgHelpdesk) {
		t.Fatalf("new code while blocked: %v", storetest.IDs(rs))
	}
	rs = h.Say("fresh", aliceMail, "reset")
	if !hasMsg(rs, flows.MsgHelpdesk) {
		t.Fatalf("blocked user got %v", storetest.IDs(rs))
	}
	en2, _ := h.Store.Get(context.Background(), storetest.Alice.ID)
	if en2.BlockedUntil != en.BlockedUntil || en2.Fails != en.Fails {
		t.Fatalf("counters changed while blocked: %+v → %+v", en.Fails, en2.Fails)
	}
	// the block lasts 24 hours
	h.Clock.Advance(24 * time.Hour)
	if rs := h.Say("fresh", aliceMail, "reset"); !hasMsg(rs, flows.MsgChooseMethod) {
		t.Fatalf("after the block: %v", storetest.IDs(rs))
	}
}

func TestNewCodeDoesNotResetTheCount(t *testing.T) {
	h, _ := newAlice(t)
	limit := h.Policy.Limits.FailMax
	rs := h.Say("U1", aliceMail, "reset")
	for i := 0; i < limit; i++ {
		// ask for a new code each time, then get it wrong
		rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Email"))
		if !hasMsg(rs, flows.MsgEmailSent) {
			t.Fatalf("round %d: %v", i, storetest.IDs(rs))
		}
		rs = h.Say("U1", aliceMail, "111111")
		if i < limit-1 && !hasMsg(rs, flows.MsgCodeWrong) {
			t.Fatalf("round %d: %v", i, storetest.IDs(rs))
		}
		if i < limit-1 {
			// back to the method list for another code
			rs = h.Say("U1", aliceMail, "reset")
		}
	}
	if !hasMsg(rs, flows.MsgBlockedUntil) {
		t.Fatalf("after %d wrong codes with fresh codes in between: %v", limit, storetest.IDs(rs))
	}
}

func TestSendLimit(t *testing.T) {
	h, _ := newAlice(t)
	max := h.Policy.Limits.SendMax
	var rs []flows.Reply
	for i := 0; i <= max; i++ {
		rs = h.Say("U1", aliceMail, "reset")
		rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Email"))
	}
	if !hasMsg(rs, flows.MsgTooManyCodes) {
		t.Fatalf("code %d: %v", max+1, storetest.IDs(rs))
	}
	if n := len(h.Mail.All()); n != max {
		t.Fatalf("%d codes mailed, want %d", n, max)
	}
	h.Clock.Advance(h.Policy.Limits.SendWindow)
	rs = h.Say("U1", aliceMail, "reset")
	if rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Email")); !hasMsg(rs, flows.MsgEmailSent) {
		t.Fatalf("after the window: %v", storetest.IDs(rs))
	}
}

func TestTOTPCodeAcceptedOnceAcrossSessions(t *testing.T) {
	h, secret := newAlice(t)
	code, _ := totp.Code(secret, h.Clock.Now())
	for i, chat := range []string{"A", "B"} {
		rs := h.Say(chat, aliceMail, "reset")
		h.Click(chat, aliceMail, storetest.Choice(t, rs, "Authenticator"))
		rs = h.Say(chat, aliceMail, code)
		if i == 0 && !hasMsg(rs, flows.MsgProvenMore) {
			t.Fatalf("first use: %v", storetest.IDs(rs))
		}
		if i == 1 && !hasMsg(rs, flows.MsgCodeUsed) {
			t.Fatalf("replay in another session: %v", storetest.IDs(rs))
		}
	}
	// the next step's code works
	h.Clock.Advance(30 * time.Second)
	next, _ := totp.Code(secret, h.Clock.Now())
	if rs := h.Say("B", aliceMail, next); !hasMsg(rs, flows.MsgProvenMore) {
		t.Fatalf("next step: %v", storetest.IDs(rs))
	}
}

func TestIneligibleStatesAreIndistinguishable(t *testing.T) {
	h := storetest.New(t)
	base := flows.Account{Enabled: true, Groups: []string{storetest.Group}}
	mk := func(id string, f func(*flows.Account)) string {
		a := base
		a.ID, a.Mail, a.UPN = id, id+"@contoso.test", id+"@contoso.test"
		f(&a)
		h.Dir.Add(a)
		h.Enrol(a.ID)
		return a.Mail
	}
	cases := map[string]string{
		"not found":    "nobody@contoso.test",
		"disabled":     mk("disabled", func(a *flows.Account) { a.Enabled = false }),
		"out of scope": mk("outside", func(a *flows.Account) { a.Groups = nil }),
		"privileged":   mk("admin", func(a *flows.Account) { a.Privileged = true }),
		"synced":       mk("synced", func(a *flows.Account) { a.Synced = true }),
		"blocked":      mk("blocked", func(*flows.Account) {}),
	}
	ctx := context.Background()
	until := h.Clock.Now().Add(time.Hour).UnixMilli()
	if err := h.RDB.HSet(ctx, "{u:blocked}:e", "block", until).Err(); err != nil {
		t.Fatal(err)
	}
	type trace struct {
		text  string
		dir   []string
		redis []string
		trips int
	}
	var first *trace
	firstName := ""
	for name, claim := range cases {
		h.Rebuild()
		h.Dir.TakeCalls()
		h.Counter.Take()
		rs := h.Say("chat-"+strings.ReplaceAll(name, " ", ""), claim, "I'm locked out")
		trips, cmds := h.Counter.Take()
		tr := &trace{text: storetest.Render(rs), dir: h.Dir.TakeCalls(), redis: cmds, trips: trips}
		if first == nil {
			first, firstName = tr, name
			if !strings.Contains(tr.text, "helpdesk") {
				t.Fatalf("%s: %q", name, tr.text)
			}
			continue
		}
		if tr.text != first.text {
			t.Errorf("%s replied %q, %s replied %q", name, tr.text, firstName, first.text)
		}
		if strings.Join(tr.dir, ",") != strings.Join(first.dir, ",") || strings.Join(tr.redis, ",") != strings.Join(first.redis, ",") {
			t.Errorf("%s made calls dir=%v redis=%v; %s made dir=%v redis=%v", name, tr.dir, tr.redis, firstName, first.dir, first.redis)
		}
	}
	// an eligible but unregistered user is told to register instead
	h.Dir.Add(flows.Account{ID: "newbie", Mail: "newbie@contoso.test", Enabled: true, Groups: []string{storetest.Group}})
	if rs := h.Say("chat-newbie", "newbie@contoso.test", "I'm locked out"); !hasMsg(rs, flows.MsgMustRegister) {
		t.Fatalf("unregistered: %v", storetest.IDs(rs))
	}
}

func TestPrivilegedAllowedNeedsTwoMethodsNeverQuestions(t *testing.T) {
	h := storetest.New(t)
	admin := storetest.Alice
	admin.Privileged = true
	h.Dir.Add(admin)
	h.Enrol(admin.ID)
	h.Opts.AllowPrivileged = true
	h.Policy.Required = 1
	if _, err := h.Store.PutPolicy(context.Background(), h.Policy, 1); err != nil {
		t.Fatal(err)
	}
	h.Rebuild()
	rs := h.Say("U1", aliceMail, "reset")
	if !strings.Contains(rs[len(rs)-1].Text, "2 proof") {
		t.Fatalf("privileged with required=1: %q", rs[len(rs)-1].Text)
	}
}

// A person's language and time zone, new to this process, are kept by the step's own commit:
// the step costs its read and its script and nothing after it, and the pair is kept.
func TestStepKeepsTheLocaleInItsCommit(t *testing.T) {
	h, _ := newAlice(t)
	h.Deps.Locales = h.Store // as the bot wires it
	h.Rebuild()
	ctx := context.Background()
	h.Say("U1", aliceMail, "status")
	h.Engine.Drain()
	h.Counter.Take()
	chat := storetest.Chat("U1")
	chat.Locale, chat.TimeZone = "de", "Europe/Berlin"
	for i, want := range []int{2, 2} {
		in := flows.Inbound{Chat: chat, Claim: flows.Claim{Kind: flows.ClaimEmail, Value: aliceMail}, Text: "status",
			IdemKey: fmt.Sprintf("locale-%d", i)}
		if _, err := h.Engine.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
		h.Engine.Drain() // the work after the answer, if any
		if n, cmds := h.Counter.Take(); n != want {
			t.Errorf("step %d with a new language: %d round trips %v, want the read and the script", i, n, cmds)
		}
	}
	got, err := h.Store.PersonLocale(ctx, storetest.Alice.ID)
	if err != nil || got.Lang != "de" || got.TimeZone != "Europe/Berlin" {
		t.Fatalf("kept %+v %v", got, err)
	}
}

func TestStepCostsAtMostTwoRoundTrips(t *testing.T) {
	h, secret := newAlice(t)
	h.Say("U1", aliceMail, "status") // warms the identity and policy caches
	h.Counter.Take()
	check := func(what string) {
		t.Helper()
		n, cmds := h.Counter.Take()
		if n > 2 {
			t.Errorf("%s took %d round trips: %v", what, n, cmds)
		}
	}
	rs := h.Say("U1", aliceMail, "reset")
	check("reset")
	rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Authenticator"))
	check("choose")
	code, _ := totp.Code(secret, h.Clock.Now())
	rs = h.Say("U1", aliceMail, code)
	check("totp code")
	h.Click("U1", aliceMail, storetest.Choice(t, rs, "Email"))
	check("email choice")
	rs = h.Say("U1", aliceMail, "999999")
	check("wrong code")
	rs = h.Say("U1", aliceMail, storetest.CodeFrom(t, h.Mail.Last()))
	check("right code")
	if !hasMsg(rs, flows.MsgResetLink) {
		t.Fatalf("did not finish: %v", storetest.IDs(rs))
	}
	// the first step of a chat identity the engine has not seen: the pin is read first, on its
	// own, so the directory can read the pinned user while it searches (one directory round
	// trip instead of two); then the step's one read and one script, as always
	h.Say("U9", aliceMail, "status")
	if n, cmds := h.Counter.Take(); n != 3 || cmds[0] != "GET" || !strings.HasPrefix(cmds[1], "PIPELINE(") || cmds[2] != "EVALSHA" {
		t.Errorf("first step of a new chat identity: %d round trips %v, want the pin, the read and the script", n, cmds)
	}
	h.Say("U9", aliceMail, "status")
	check("second step of that chat identity")
}

func TestExpiredSessionRestartsPolitely(t *testing.T) {
	h, secret := newAlice(t)
	rs := h.Say("U1", aliceMail, "reset")
	h.Click("U1", aliceMail, storetest.Choice(t, rs, "Authenticator"))
	h.Clock.Advance(flows.SessionLifetime)
	code, _ := totp.Code(secret, h.Clock.Now())
	rs = h.Say("U1", aliceMail, code)
	if !hasMsg(rs, flows.MsgExpired) || hasMsg(rs, flows.MsgProvenMore) {
		t.Fatalf("expired: %v", storetest.IDs(rs))
	}
	rs = h.Say("U1", aliceMail, "status")
	if !hasMsg(rs, flows.MsgStatusIdle) {
		t.Fatalf("status after expiry: %v", storetest.IDs(rs))
	}
	if rs = h.Say("U1", aliceMail, "reset"); !hasMsg(rs, flows.MsgChooseMethod) {
		t.Fatalf("restart: %v", storetest.IDs(rs))
	}
}

func TestWritesNeverExtendTheSession(t *testing.T) {
	h, _ := newAlice(t)
	rs := h.Say("U1", aliceMail, "reset")
	h.Clock.Advance(10 * time.Minute)
	rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Email"))
	h.Clock.Advance(5 * time.Minute)
	rs = h.Say("U1", aliceMail, storetest.CodeFrom(t, h.Mail.Last()))
	if !hasMsg(rs, flows.MsgExpired) {
		t.Fatalf("15 minutes after the start the session still ran: %v", storetest.IDs(rs))
	}
}

func TestDuplicateInboundHandledOnce(t *testing.T) {
	h, _ := newAlice(t)
	rs := h.Say("U1", aliceMail, "reset")
	in := flows.Inbound{Chat: storetest.Chat("U1"), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: aliceMail},
		Choice: storetest.Choice(t, rs, "Email"), IdemKey: "Ev-retry-1"}
	first, err := h.Send(in)
	if err != nil || !hasMsg(first, flows.MsgEmailSent) {
		t.Fatalf("first: %v %v", storetest.IDs(first), err)
	}
	again, err := h.Send(in)
	if err != nil || len(again) != 0 {
		t.Fatalf("duplicate answered %v %v", storetest.IDs(again), err)
	}
	if n := len(h.Mail.All()); n != 1 {
		t.Fatalf("%d codes sent for one click", n)
	}
}

// An old button never acts twice: the method button that sent a code, pressed again, sends no
// second code (it says how to get one, issue 17: a menu stays live, so it is not "an earlier
// step"); a button of another session is refused.
func TestStaleButtonRefused(t *testing.T) {
	h, _ := newAlice(t)
	rs := h.Say("U1", aliceMail, "reset")
	old := storetest.Choice(t, rs, "Email")
	h.Click("U1", aliceMail, old) // moves the session on
	rs = h.Click("U1", aliceMail, old)
	if !hasMsg(rs, flows.MsgStepCode) || !strings.Contains(rs[0].Text, `say "resend"`) {
		t.Fatalf("pressed again: %v", storetest.IDs(rs))
	}
	if n := len(h.Mail.All()); n != 1 {
		t.Fatalf("stale button sent a code: %d", n)
	}
	// a button of another session is refused too
	rs = h.Click("U1", aliceMail, "m:totp|forged|2")
	if !hasMsg(rs, flows.MsgStaleButton) {
		t.Fatalf("forged: %v", storetest.IDs(rs))
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	h, _ := newAlice(t)
	h.Say("U1", aliceMail, "reset")
	ctx := context.Background()
	snapshot := func() string {
		var b strings.Builder
		for _, k := range []string{"{u:a11ce-0001}:e", "{u:a11ce-0001}:s:test:T1:U1"} {
			m, _ := h.RDB.HGetAll(ctx, k).Result()
			fields := make([]string, 0, len(m))
			for f, v := range m {
				fields = append(fields, k+f+"="+v+";")
			}
			sort.Strings(fields)
			b.WriteString(strings.Join(fields, ""))
		}
		return b.String()
	}
	before := snapshot()
	for name, msg := range map[string]string{
		"empty": "", "spaces": "   ", "10KB": strings.Repeat("a", 10<<10), "binary": "\x00\x01\xff\xfe",
		"emoji": "🔒🔑😱", "control": "hi\x1b[2J",
	} {
		rs := h.Say("U1", aliceMail, msg)
		if len(rs) == 0 || rs[0].Text == "" {
			t.Fatalf("%s: no polite reply", name)
		}
		if !hasMsg(rs, flows.MsgBadInput) && !hasMsg(rs, flows.MsgNotUnderstood) && !hasMsg(rs, flows.MsgUseButtons) {
			t.Fatalf("%s: %v", name, storetest.IDs(rs))
		}
	}
	if after := snapshot(); after != before {
		t.Fatalf("bad input changed stored data")
	}
}

func TestPinnedIdentityRefusesAnotherUser(t *testing.T) {
	h, _ := newAlice(t)
	ctx := context.Background()
	if err := h.Store.Pin(ctx, storetest.Chat("U1").Key(), "someone-else"); err != nil {
		t.Fatal(err)
	}
	rs := h.Say("U1", aliceMail, "reset")
	if !hasMsg(rs, flows.MsgHelpdesk) {
		t.Fatalf("pinned to another: %v", storetest.IDs(rs))
	}
}

func TestHelpCancelStatusAtEveryStep(t *testing.T) {
	h, secret := newAlice(t)
	steps := []func(){
		func() {}, // no session
		func() { h.Say("U1", aliceMail, "reset") },
		func() {
			rs := h.Say("U1", aliceMail, "reset")
			h.Click("U1", aliceMail, storetest.Choice(t, rs, "Email"))
		},
		func() { proveBoth(t, h, "U1", secret); h.Clock.Advance(30 * time.Second) },
		func() { h.Say("U1", aliceMail, "register") },
	}
	for i, setup := range steps {
		setup()
		if rs := h.Say("U1", aliceMail, "help"); !hasMsg(rs, flows.MsgHelp) {
			t.Fatalf("step %d help: %v", i, storetest.IDs(rs))
		}
		if rs := h.Say("U1", aliceMail, "status"); !hasMsg(rs, flows.MsgStatusIdle) && !hasMsg(rs, flows.MsgStatusSession) {
			t.Fatalf("step %d status: %v", i, storetest.IDs(rs))
		} else if strings.Contains(rs[0].Text, "private.") {
			t.Fatalf("status shows an address: %q", rs[0].Text)
		}
		rs := h.Say("U1", aliceMail, "cancel")
		if i == 0 && !hasMsg(rs, flows.MsgNothingToCancel) || i > 0 && !hasMsg(rs, flows.MsgCancelled) {
			t.Fatalf("step %d cancel: %v", i, storetest.IDs(rs))
		}
		if rs := h.Say("U1", aliceMail, "status"); !hasMsg(rs, flows.MsgStatusIdle) {
			t.Fatalf("step %d after cancel: %v", i, storetest.IDs(rs))
		}
	}
}

func TestSecretsTypedInChatAreNotTaken(t *testing.T) {
	h, _ := newAlice(t)
	for _, msg := range []string{"my email is alice.home@mail.test", "call me on +1 (425) 555-0142"} {
		rs := h.Say("U1", aliceMail, msg)
		if !hasMsg(rs, flows.MsgNoSecretsHere) {
			t.Fatalf("%q: %v", msg, storetest.IDs(rs))
		}
	}
	keys, _ := h.RDB.Keys(context.Background(), "*").Result()
	for _, k := range keys {
		v, _ := h.RDB.Dump(context.Background(), k).Result()
		if strings.Contains(v, "alice.home") || strings.Contains(v, "555-0142") {
			t.Fatalf("%s stores what was typed", k)
		}
	}
}

func TestLinkNeverOutlivesItsSession(t *testing.T) {
	h, secret := newAlice(t)
	rs := h.Say("U1", aliceMail, "reset")
	h.Clock.Advance(11 * time.Minute)
	rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Authenticator"))
	code, _ := totp.Code(secret, h.Clock.Now())
	rs = h.Say("U1", aliceMail, code)
	rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Email"))
	rs = h.Say("U1", aliceMail, storetest.CodeFrom(t, h.Mail.Last()))
	link := token(linkOf(t, rs))
	ctx := context.Background()
	h.Clock.Advance(3*time.Minute + 59*time.Second) // 14:59 after the start: still inside the session
	if _, err := h.Engine.OpenReset(ctx, link); err != nil {
		t.Fatalf("inside the session: %v", err)
	}
	h.Clock.Advance(time.Second) // the session ends at 15:00, though the link is only 4 minutes old
	if _, err := h.Engine.OpenReset(ctx, link); err != flows.ErrLinkGone {
		t.Fatalf("link outlived its session: %v", err)
	}
}

// racyPolicies lets another admin's change land between a read and a write.
type racyPolicies struct {
	flows.PolicyStore
	fired bool
	other func()
}

func (r *racyPolicies) GetPolicy(ctx context.Context) (flows.Policy, int64, error) {
	p, v, err := r.PolicyStore.GetPolicy(ctx)
	if !r.fired {
		r.fired = true
		r.other()
	}
	return p, v, err
}

func TestTwoAdminsRacingOneWins(t *testing.T) {
	h := storetest.New(t)
	for _, id := range []string{"bob", "carol"} {
		h.Dir.Add(flows.Account{ID: id, Mail: id + "@contoso.test", Enabled: true, Groups: []string{"admins"}})
	}
	h.Opts.AdminGroups = []string{"admins"}
	ctx := context.Background()
	racy := &racyPolicies{PolicyStore: h.Store}
	h.Deps.Policies = racy
	h.Rebuild()
	admin := func(who, text string) string {
		rs, err := h.Engine.Admin(ctx, flows.Inbound{Chat: storetest.Chat(who), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: who + "@contoso.test"}}, text)
		if err != nil {
			t.Fatal(err)
		}
		return rs[0].Text
	}
	var carol string
	racy.other = func() { carol = admin("carol", "policy set reconfirm_days 30") }
	bob := admin("bob", "policy set reconfirm_days 60")
	if !strings.Contains(carol, "Done: reconfirm_days = 30") || !strings.Contains(bob, "another bot admin changed the policy") {
		t.Fatalf("carol %q, bob %q", carol, bob)
	}
	if p, v, _ := h.Store.GetPolicy(ctx); p.ReconfirmDays != 30 || v != 2 {
		t.Fatalf("policy %d version %d", p.ReconfirmDays, v)
	}
}

func TestWeakens(t *testing.T) {
	base := flows.DefaultPolicy()
	for name, c := range map[string]struct {
		mod  func(*flows.Policy)
		weak bool
	}{
		"fewer required":    {func(p *flows.Policy) { p.Required = 1 }, true},
		"add questions":     {func(p *flows.Policy) { p.Methods = append(p.Methods, flows.MethodQuestions) }, true},
		"higher fail_max":   {func(p *flows.Policy) { p.Limits.FailMax = 10 }, true},
		"shorter block":     {func(p *flows.Policy) { p.Limits.BlockFor = time.Hour }, true},
		"wider scope":       {func(p *flows.Policy) { p.EnabledFor = flows.EnabledAll }, true},
		"never reconfirm":   {func(p *flows.Policy) { p.ReconfirmDays = 0 }, true},
		"phone alone":       {func(p *flows.Policy) { p.AllowPhoneAlone = true }, true},
		"shorter reconfirm": {func(p *flows.Policy) { p.ReconfirmDays = 30 }, false},
		"lower send_max":    {func(p *flows.Policy) { p.Limits.SendMax = 3 }, false},
		"remove sms":        {func(p *flows.Policy) { p.Methods = []flows.MethodKind{flows.MethodTOTP, flows.MethodEmail} }, false},
	} {
		next := base
		next.Methods = append([]flows.MethodKind(nil), base.Methods...)
		c.mod(&next)
		if got := len(flows.Weakens(base, next)) > 0; got != c.weak {
			t.Errorf("%s: weakens=%v", name, got)
		}
	}
}
