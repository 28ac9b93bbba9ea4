package flows_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// Sign-in freshness with Entra's default ID token (iat only) and with the auth_time optional
// claim: the authentication must follow the bot's request and be at most MaxSignInAge old.
func TestSignInFreshness(t *testing.T) {
	for name, c := range map[string]struct {
		si func(started, now time.Time) flows.SignIn
		ok bool
	}{
		"default token, issued now":                {func(s, n time.Time) flows.SignIn { return flows.SignIn{IssuedAt: n} }, true},
		"default token, issued before the request": {func(s, n time.Time) flows.SignIn { return flows.SignIn{IssuedAt: s.Add(-2 * time.Minute)} }, false},
		"default token, issued in the future":      {func(s, n time.Time) flows.SignIn { return flows.SignIn{IssuedAt: n.Add(10 * time.Minute)} }, false},
		"auth_time now":                            {func(s, n time.Time) flows.SignIn { return flows.SignIn{AuthTime: n, IssuedAt: n} }, true},
		"auth_time before the request, iat now":    {func(s, n time.Time) flows.SignIn { return flows.SignIn{AuthTime: s.Add(-2 * time.Minute), IssuedAt: n} }, false},
		"neither auth_time nor iat":                {func(s, n time.Time) flows.SignIn { return flows.SignIn{} }, false},
		"default token, issued too long after ask": {func(s, n time.Time) flows.SignIn { return flows.SignIn{IssuedAt: n.Add(-6 * time.Minute)} }, false},
	} {
		t.Run(name, func(t *testing.T) {
			h, _ := newAlice(t)
			rs := h.Say("chat-fresh", aliceMail, "register")
			started := h.Clock.Now()
			ws, err := h.Engine.BeginSignIn(context.Background(), token(linkOf(t, rs)))
			if err != nil {
				t.Fatal(err)
			}
			h.Clock.Advance(2 * time.Minute)
			si := c.si(started, h.Clock.Now())
			si.ObjectID = storetest.Alice.ID
			err = h.Engine.CompleteSignIn(context.Background(), &ws, si)
			if c.ok != (err == nil) || (err != nil && !errors.Is(err, flows.ErrSignInTooOld)) {
				t.Fatalf("got %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// kinds records the claim kinds a directory is asked to look up.
type kinds struct {
	flows.Directory
	got    []flows.ClaimKind
	claims []flows.Claim // the whole claims, in the same order
}

func (k *kinds) Lookup(ctx context.Context, c flows.Claim) (flows.Account, error) {
	k.got = append(k.got, c.Kind)
	k.claims = append(k.claims, c)
	return k.Directory.Lookup(ctx, c)
}

// Once a chat identity mapped to a directory user, its next look-up (after the account cache
// expired) reads that user by object id, one directory round trip, and keeps it only while it
// still carries the chat's email; when the email moved to someone else, the email is searched.
func TestKnownIdentityIsReadByObjectID(t *testing.T) {
	h, _ := newAlice(t)
	rec := &kinds{Directory: h.Dir}
	h.Deps.Directory = rec
	h.Rebuild()
	h.Say("chat-k", aliceMail, "I'm locked out")
	h.Clock.Advance(flows.DefaultIdentityTTL + time.Second)
	rs := h.Say("chat-k", aliceMail, "I'm locked out")
	if len(rec.got) != 2 || rec.got[0] != flows.ClaimEmail || rec.got[1] != flows.ClaimObjectID {
		t.Fatalf("look-ups %v", rec.got)
	}
	if storetest.Has(rs, flows.MsgHelpdesk) {
		t.Fatalf("replies %v", storetest.IDs(rs))
	}
	// the address now belongs to another account: the cached id no longer carries it
	h.Dir.Add(flows.Account{ID: storetest.Alice.ID, UPN: "alice.old@contoso.test", Mail: "alice.old@contoso.test", DisplayName: "Alice", Enabled: true})
	h.Dir.Add(flows.Account{ID: "newcomer", UPN: aliceMail, Mail: aliceMail, DisplayName: "New Alice", Enabled: true})
	rec.got = nil
	h.Clock.Advance(flows.DefaultIdentityTTL + time.Second)
	h.Say("chat-k", aliceMail, "I'm locked out")
	if len(rec.got) != 2 || rec.got[0] != flows.ClaimObjectID || rec.got[1] != flows.ClaimEmail {
		t.Fatalf("look-ups after the move %v", rec.got)
	}
}

// After the first search, an unknown person and a known one cost the same directory look-ups:
// one read by object id (NoObjectID for nobody) until KnownIDTTL passes, then a search for both.
func TestUnknownAndKnownCostTheSameLookups(t *testing.T) {
	h, _ := newAlice(t)
	rec := &kinds{Directory: h.Dir}
	h.Deps.Directory = rec
	h.Rebuild()
	var seqs [2][]flows.ClaimKind
	for i, mail := range []string{"nobody@contoso.test", aliceMail} {
		rec.got = nil
		for range 3 {
			h.Say("chat-"+mail, mail, "I'm locked out")
			h.Clock.Advance(flows.DefaultIdentityTTL + time.Second)
		}
		h.Clock.Advance(flows.KnownIDTTL)
		h.Say("chat-"+mail, mail, "I'm locked out")
		seqs[i] = rec.got
	}
	want := []flows.ClaimKind{flows.ClaimEmail, flows.ClaimObjectID, flows.ClaimObjectID, flows.ClaimEmail}
	if !slices.Equal(seqs[0], want) || !slices.Equal(seqs[1], want) {
		t.Fatalf("unknown %v, known %v, want %v", seqs[0], seqs[1], want)
	}
}

// With a cold mapping, a chat identity's email is looked up with the pin the person's first
// sign-in left (so Graph can read that user while it searches); an identity never pinned is
// looked up without one (a browser on the recovery page reads none: see
// TestRecoverHiddenStatesLookAndCostTheSame). The pin never replaces
// the search: a pin to someone else is still refused.
func TestColdLookupCarriesThePin(t *testing.T) {
	h, _ := newAlice(t)
	rec := &kinds{Directory: h.Dir}
	h.Deps.Directory = rec
	h.Rebuild()
	ctx := context.Background()
	pinned := storetest.Chat("U-pinned").Key()
	if err := h.Store.Pin(ctx, pinned, storetest.Alice.ID); err != nil {
		t.Fatal(err)
	}
	h.Say("U-pinned", aliceMail, "I'm locked out")
	h.Say("U-fresh", aliceMail, "I'm locked out")
	want := []flows.Claim{{Kind: flows.ClaimEmail, Value: aliceMail, Pinned: storetest.Alice.ID}, {Kind: flows.ClaimEmail, Value: aliceMail}}
	if !slices.Equal(rec.claims, want) {
		t.Fatalf("look-ups %+v, want %+v", rec.claims, want)
	}
	// pinned to someone else: refused as before, whatever the hint
	if err := h.Store.Pin(ctx, storetest.Chat("U-other").Key(), "someone-else"); err != nil {
		t.Fatal(err)
	}
	rec.claims = nil
	if rs := h.Say("U-other", aliceMail, "I'm locked out"); storetest.Has(rs, flows.MsgChooseMethod) {
		t.Fatalf("a chat pinned to someone else was served: %v", storetest.IDs(rs))
	}
	if len(rec.claims) != 1 || rec.claims[0].Pinned != "someone-else" {
		t.Fatalf("look-ups %+v", rec.claims)
	}
}
