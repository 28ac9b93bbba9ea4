package flows_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/passkey/passkeytest"
	"github.com/resetbot/resetbot/store/storetest"
)

const botOrigin = "https://bot.test" // the harness's PUBLIC_BASE_URL

type alertLog struct {
	mu  sync.Mutex
	evs []flows.AuditEvent
}

func (a *alertLog) Alert(_ context.Context, e flows.AuditEvent, _ string) {
	a.mu.Lock()
	a.evs = append(a.evs, e)
	a.mu.Unlock()
}

func (a *alertLog) count() int { a.mu.Lock(); defer a.mu.Unlock(); return len(a.evs) }

// withPasskeys is Alice (authenticator app and email registered) under a policy that offers
// passkeys, with bot admin alerts recorded; edit changes the policy further.
func withPasskeys(t *testing.T, edit func(*flows.Policy)) (*storetest.Harness, *alertLog) {
	t.Helper()
	h, _ := newAlice(t)
	al := &alertLog{}
	h.Deps.Alerts = al
	h.Rebuild()
	ctx := context.Background()
	pol, v, _ := h.Store.GetPolicy(ctx)
	pol.Methods = append(pol.Methods, flows.MethodPasskey)
	if edit != nil {
		edit(&pol)
	}
	if _, err := h.Store.PutPolicy(ctx, pol, v); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(6 * time.Second) // past the policy cache
	return h, al
}

// addPasskey registers k as name through the engine's page API.
func addPasskey(t *testing.T, h *storetest.Harness, ws *flows.WebState, k *passkeytest.Key, name string) {
	t.Helper()
	ctx := context.Background()
	opts, err := h.Engine.BeginPasskey(ctx, ws, name)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := h.Engine.FinishPasskey(ctx, ws, k.Create(opts, botOrigin, passkeytest.Ceremony{})); err != nil || got != name {
		t.Fatalf("finish %q: %v", got, err)
	}
}

// passkeyToken starts a reset in chat, picks the passkey and returns the page's token.
func passkeyToken(t *testing.T, h *storetest.Harness, chat string) string {
	t.Helper()
	rs := h.Say(chat, aliceMail, "reset")
	rs = h.Click(chat, aliceMail, storetest.Choice(t, rs, "Passkey"))
	if !hasMsg(rs, flows.MsgPasskeyLink) {
		t.Fatalf("no passkey page: %v", storetest.IDs(rs))
	}
	return token(linkOf(t, rs))
}

func lastNote(h *storetest.Harness) flows.MsgID {
	if n := len(h.Notes.Replies); n > 0 {
		return h.Notes.Replies[n-1].MsgID
	}
	return ""
}

func TestPasskeysAreNamedSeveralRemovableAndSealed(t *testing.T) {
	h, _ := withPasskeys(t, nil)
	ctx := context.Background()
	ws := signedIn(t, h, "U1")
	yubi, phone := passkeytest.NewKey(), passkeytest.NewKey()
	addPasskey(t, h, &ws, yubi, "YubiKey")
	// the challenge was spent: the same answer cannot register again, nor on a new challenge
	if _, err := h.Engine.FinishPasskey(ctx, &ws, []byte(`{}`)); !errors.Is(err, flows.ErrBadRequest) {
		t.Fatalf("second finish: %v", err)
	}
	opts, _ := h.Engine.BeginPasskey(ctx, &ws, "Again")
	stale, _ := h.Engine.BeginPasskey(ctx, &ws, "Stale")
	if _, err := h.Engine.FinishPasskey(ctx, &ws, phone.Create(opts, botOrigin, passkeytest.Ceremony{})); !errors.Is(err, flows.ErrPasskeyRefused) {
		t.Fatalf("an answer to an older challenge: %v", err)
	}
	if !strings.Contains(string(stale), yubi.ID64()) {
		t.Fatalf("the registered key is not excluded from the options: %s", stale)
	}
	addPasskey(t, h, &ws, phone, "iPhone")
	if _, err := h.Engine.BeginPasskey(ctx, &ws, "  "); !errors.Is(err, flows.ErrBadRequest) {
		t.Fatalf("an empty name: %v", err)
	}
	en, _ := h.Store.Get(ctx, storetest.Alice.ID)
	keys := en.Methods[flows.MethodPasskey].Passkeys
	if len(keys) != 2 || keys[0].Name != "YubiKey" || keys[1].Name != "iPhone" {
		t.Fatalf("keys: %+v", keys)
	}
	// sealed under the person's hash tag, like every method
	raw, err := h.RDB.HGet(ctx, "{u:"+storetest.Alice.ID+"}:e", "m:passkey").Result()
	if err != nil || strings.Contains(raw, "YubiKey") || strings.Contains(raw, yubi.ID64()) {
		t.Fatalf("stored in the clear or elsewhere: %q %v", raw, err)
	}
	views, _ := h.Engine.PasskeyViews(ctx, storetest.Alice.ID)
	if len(views) != 2 {
		t.Fatalf("views: %+v", views)
	}
	if got, err := h.Engine.RemovePasskey(ctx, &ws, views[0].ID); err != nil || got != "YubiKey" {
		t.Fatalf("remove: %q %v", got, err)
	}
	en, _ = h.Store.Get(ctx, storetest.Alice.ID)
	if ks := en.Methods[flows.MethodPasskey].Passkeys; len(ks) != 1 || ks[0].Name != "iPhone" {
		t.Fatalf("after removing one: %+v", ks)
	}
	if _, err := h.Engine.RemovePasskey(ctx, &ws, views[1].ID); err != nil {
		t.Fatal(err)
	}
	if en, _ = h.Store.Get(ctx, storetest.Alice.ID); en.Has(flows.MethodPasskey) {
		t.Fatal("the method outlived its last key")
	}
	// every addition and removal is announced outside the chat
	var added, removed int
	for _, m := range h.Mail.All() {
		added += strings.Count(m.Subject, "passkey was added")
		removed += strings.Count(m.Subject, "passkey was removed")
	}
	if added != 2 || removed != 2 {
		t.Fatalf("notices: %d added, %d removed", added, removed)
	}
	// and only after a fresh sign-in
	old := ws
	old.SignedInAt = time.Time{}
	if _, err := h.Engine.BeginPasskey(ctx, &old, "Late"); !errors.Is(err, flows.ErrNeedSignIn) {
		t.Fatalf("without sign-in: %v", err)
	}
}

// The page's assertion is judged by the same atomic step that counts the attempt and spends
// the challenge: two posts of one link accept once; a replayed assertion fails on a new
// challenge; a failed attempt spends its challenge too.
func TestPasskeyProofIsSingleUse(t *testing.T) {
	h, _ := withPasskeys(t, nil)
	ctx := context.Background()
	ws := signedIn(t, h, "U1")
	k := passkeytest.NewKey()
	addPasskey(t, h, &ws, k, "YubiKey")
	chat := "U2"
	tok := passkeyToken(t, h, chat)
	opts, err := h.Engine.OpenPasskey(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	answer := k.Get(opts, botOrigin, passkeytest.Ceremony{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, gone := 0, 0
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := h.Engine.ProvePasskey(ctx, tok, answer)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case ok:
				accepted++
			case errors.Is(err, flows.ErrLinkGone):
				gone++
			default:
				t.Errorf("unexpected: %v %v", ok, err)
			}
		}()
	}
	wg.Wait()
	if accepted != 1 || gone != 1 {
		t.Fatalf("%d accepted, %d refused as gone", accepted, gone)
	}
	if lastNote(h) != flows.MsgProvenMore {
		t.Fatalf("chat told %s", lastNote(h))
	}
	snap, _ := h.Store.Load(ctx, storetest.Alice.ID, storetest.Chat(chat).Key())
	if snap.Code.MAC != "" {
		t.Fatalf("challenge left after the proof: %+v", snap.Code)
	}
	if c := snap.Enrollment.Methods[flows.MethodPasskey].Passkeys[0].SignCount; c != k.Count {
		t.Fatalf("sign count %d stored, authenticator at %d", c, k.Count)
	}
	// the same assertion on a new challenge: counted and refused; that challenge is spent too
	h.Say(chat, aliceMail, "cancel")
	tok2 := passkeyToken(t, h, chat)
	if ok, err := h.Engine.ProvePasskey(ctx, tok2, answer); ok || err != nil {
		t.Fatalf("replay: %v %v", ok, err)
	}
	snap, _ = h.Store.Load(ctx, storetest.Alice.ID, storetest.Chat(chat).Key())
	if snap.Code.MAC != "" || snap.Enrollment.Fails.Count != 1 {
		t.Fatalf("after the replay: code %+v, fails %d", snap.Code, snap.Enrollment.Fails.Count)
	}
	if lastNote(h) != flows.MsgPasskeyWrong {
		t.Fatalf("chat told %s", lastNote(h))
	}
	if _, err := h.Engine.OpenPasskey(ctx, tok2); !errors.Is(err, flows.ErrLinkGone) {
		t.Fatalf("spent link still opens: %v", err)
	}
}

// A signature count that goes backwards is a cloned authenticator: refused, counted, and the
// bot admins are alerted; five refusals block self-service as with every method.
func TestPasskeyCloneAndBlock(t *testing.T) {
	h, al := withPasskeys(t, nil)
	ctx := context.Background()
	ws := signedIn(t, h, "U1")
	k := passkeytest.NewKey()
	k.Count = 10
	addPasskey(t, h, &ws, k, "YubiKey")
	clone := *k
	clone.Count = 3
	chat := "U2"
	tok := passkeyToken(t, h, chat)
	opts, _ := h.Engine.OpenPasskey(ctx, tok)
	if ok, err := h.Engine.ProvePasskey(ctx, tok, clone.Get(opts, botOrigin, passkeytest.Ceremony{})); ok || err != nil {
		t.Fatalf("clone: %v %v", ok, err)
	}
	if al.count() != 1 {
		t.Fatalf("%d alerts", al.count())
	}
	en, _ := h.Store.Get(ctx, storetest.Alice.ID)
	if c := en.Methods[flows.MethodPasskey].Passkeys[0].SignCount; c != 10 {
		t.Fatalf("the clone's count was stored: %d", c)
	}
	for i := 0; i < 4; i++ {
		h.Say(chat, aliceMail, "cancel")
		tok := passkeyToken(t, h, chat)
		opts, _ := h.Engine.OpenPasskey(ctx, tok)
		bad := passkeytest.NewKey()
		bad.ID, bad.Handle = k.ID, k.Handle // the right id, another private key
		_, err := h.Engine.ProvePasskey(ctx, tok, bad.Get(opts, botOrigin, passkeytest.Ceremony{}))
		if err != nil && !errors.Is(err, flows.ErrBlocked) {
			t.Fatal(err)
		}
	}
	en, _ = h.Store.Get(ctx, storetest.Alice.ID)
	if !flows.IsBlocked(en, h.Clock.Now()) {
		t.Fatalf("not blocked after 5 refused passkeys: %+v", en.Fails)
	}
}

func TestPasskeyAlonePolicy(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*flows.Policy)
		want string
	}{
		{"needs passkeys offered", func(p *flows.Policy) {
			p.PasskeyAlone = true
			p.Methods = []flows.MethodKind{flows.MethodTOTP, flows.MethodEmail}
		}, "needs passkeys"},
		{"needs two required", func(p *flows.Policy) { p.PasskeyAlone = true; p.Required = 1 }, "needs 2 methods"},
		{"valid", func(p *flows.Policy) { p.PasskeyAlone = true }, ""},
	} {
		p := flows.DefaultPolicy()
		p.Methods = append(p.Methods, flows.MethodPasskey)
		c.edit(&p)
		err := p.Validate()
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	p := flows.DefaultPolicy()
	p.Methods = append(p.Methods, flows.MethodPasskey)
	alice, admin := storetest.Alice, storetest.Alice
	admin.Privileged = true
	pk := []flows.MethodKind{flows.MethodPasskey}
	if p.Enough(alice, pk) {
		t.Fatal("a passkey alone sufficed with the setting off")
	}
	p.PasskeyAlone = true
	if !p.Enough(alice, pk) || p.Enough(alice, []flows.MethodKind{flows.MethodTOTP}) || p.Enough(admin, pk) {
		t.Fatal("passkey alone: only a passkey suffices alone, and never for the privileged")
	}
	if !p.Enough(admin, []flows.MethodKind{flows.MethodPasskey, flows.MethodTOTP}) {
		t.Fatal("a passkey does not count towards a privileged user's two methods")
	}
}

// With passkey_alone on, the passkey proof itself gives the reset link.
func TestPasskeyAloneResets(t *testing.T) {
	h, _ := withPasskeys(t, func(p *flows.Policy) { p.PasskeyAlone = true })
	ctx := context.Background()
	ws := signedIn(t, h, "U1")
	k := passkeytest.NewKey()
	addPasskey(t, h, &ws, k, "YubiKey")
	tok := passkeyToken(t, h, "U2")
	opts, _ := h.Engine.OpenPasskey(ctx, tok)
	if ok, err := h.Engine.ProvePasskey(ctx, tok, k.Get(opts, botOrigin, passkeytest.Ceremony{})); !ok || err != nil {
		t.Fatalf("%v %v", ok, err)
	}
	if lastNote(h) != flows.MsgResetLink {
		t.Fatalf("chat told %s", lastNote(h))
	}
}

// A registration challenge is single use in Redis: of two concurrent posts of one answer (one
// browser session state), one registers; a refused answer spends the challenge too.
func TestPasskeyRegistrationChallengeIsSingleUse(t *testing.T) {
	h, _ := withPasskeys(t, nil)
	ctx := context.Background()
	ws := signedIn(t, h, "U1")
	k := passkeytest.NewKey()
	opts, err := h.Engine.BeginPasskey(ctx, &ws, "YubiKey")
	if err != nil {
		t.Fatal(err)
	}
	answer := k.Create(opts, botOrigin, passkeytest.Ceremony{})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := ws // each post carries the same browser session state
			_, errs[i] = h.Engine.FinishPasskey(ctx, &w, answer)
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), flows.ErrBadRequest) {
		t.Fatalf("two posts of one answer: %v", errs)
	}
	// a refused answer (another origin) spends its challenge: the right answer comes too late
	other := passkeytest.NewKey()
	opts, _ = h.Engine.BeginPasskey(ctx, &ws, "Phone")
	saved := ws
	if _, err := h.Engine.FinishPasskey(ctx, &ws, other.Create(opts, "https://evil.example", passkeytest.Ceremony{})); !errors.Is(err, flows.ErrPasskeyRefused) {
		t.Fatalf("wrong origin: %v", err)
	}
	if _, err := h.Engine.FinishPasskey(ctx, &saved, other.Create(opts, botOrigin, passkeytest.Ceremony{})); !errors.Is(err, flows.ErrBadRequest) {
		t.Fatalf("after a refusal: %v", err)
	}
	en, _ := h.Store.Get(ctx, storetest.Alice.ID)
	if n := len(en.Methods[flows.MethodPasskey].Passkeys); n != 1 {
		t.Fatalf("%d keys registered", n)
	}
}

// A passkey proves on the recovery page too: after a blind first proof (an emailed code) the
// page offers the registered passkey; its page's proof comes back to the recovery page with the
// new-password link, and no chat is told anything.
func TestPasskeyOnTheRecoveryPage(t *testing.T) {
	h, _ := withPasskeys(t, nil)
	ctx := context.Background()
	ws := signedIn(t, h, "U1")
	k := passkeytest.NewKey()
	addPasskey(t, h, &ws, k, "YubiKey")
	h.Engine.Drain()
	recoverStep(t, h, "b1", aliceMail, flows.RecoverStart, "", "")
	recoverStep(t, h, "b1", aliceMail, flows.RecoverSend, "email", "")
	h.Engine.Drain()
	v := recoverStep(t, h, "b1", aliceMail, flows.RecoverCode, "", storetest.CodeFrom(t, h.Mail.Last()))
	if v.Stage != flows.RecoverMore || !slices.ContainsFunc(v.Methods, func(m flows.RecoverMethod) bool { return m.Kind == flows.MethodPasskey }) {
		t.Fatalf("after the first proof %+v", v)
	}
	v = recoverStep(t, h, "b1", aliceMail, flows.RecoverPick, string(flows.MethodPasskey), "")
	if v.Stage != flows.RecoverLink || !strings.HasPrefix(v.Link, "https://bot.test/l/") {
		t.Fatalf("pick the passkey %+v", v)
	}
	// back on the recovery page before the passkey's page: the methods again, not a code box
	if w := recoverStep(t, h, "b1", aliceMail, flows.RecoverShow, "", ""); w.Stage != flows.RecoverMore {
		t.Fatalf("back before the passkey %+v", w)
	}
	notes := len(h.Notes.Replies)
	tok := token(v.Link)
	opts, err := h.Engine.OpenPasskey(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Engine.ProvePasskeyOnPage(ctx, tok, k.Get(opts, botOrigin, passkeytest.Ceremony{}))
	if err != nil || !res.OK || !res.Recovery || !strings.HasPrefix(res.Link, "https://bot.test/l/") || res.Link == v.Link {
		t.Fatalf("proof %+v %v", res, err)
	}
	if len(h.Notes.Replies) != notes {
		t.Fatalf("a chat was told about a recovery page's proof: %v", h.Notes.Replies[notes:])
	}
	// where the person is now, on the recovery page: proven, the new-password page next
	if v = recoverStep(t, h, "b1", aliceMail, flows.RecoverShow, "", ""); v.Stage != flows.RecoverDone && v.Stage != flows.RecoverLink {
		t.Fatalf("back on the recovery page %+v", v)
	}
	if err := h.Engine.ResetPassword(ctx, token(res.Link), "Correct-Horse-9", "Correct-Horse-9"); err != nil {
		t.Fatal(err)
	}
}
