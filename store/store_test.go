package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
)

func key() []byte { b := make([]byte, 32); _, _ = rand.Read(b); return b }

func newCrypto(t *testing.T) *store.Crypto {
	c, err := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k1": key()}, CurrentID: "k1", MACKey: key()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// backends are the Redis servers the conformance suite runs against: a real redis-server, and
// the demo's embedded miniredis.
func backends(t *testing.T) map[string]func(t *testing.T) redis.UniversalClient {
	return map[string]func(t *testing.T) redis.UniversalClient{
		"redis-server": func(t *testing.T) redis.UniversalClient { return redistest.Start(t).Client() },
		"miniredis": func(t *testing.T) redis.UniversalClient {
			m := miniredis.RunT(t)
			c, err := store.Connect(store.Options{URL: "redis://" + m.Addr()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		},
	}
}

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func session(id string, now time.Time) *flows.Session {
	return &flows.Session{ID: id, State: flows.StateAwaitCode, Flow: flows.FlowReset, UserID: "u1",
		Chat: flows.ChatRef{Platform: "p", Tenant: "t", UserID: "c1"}, Method: flows.MethodEmail, CreatedAt: now, ExpiresAt: now.Add(flows.SessionLifetime)}
}

func TestConformance(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			for cname, c := range conformance {
				t.Run(cname, func(t *testing.T) {
					rdb := open(t)
					s := store.New(rdb, newCrypto(t))
					if err := s.Preload(context.Background()); err != nil {
						t.Fatal(err)
					}
					c(t, s, rdb)
				})
			}
		})
	}
}

const chat = "p:t:c1"

var lim = flows.DefaultLimits()

// agreeWithModel makes 60 TOTP attempts through attempt (three in ten correct, 0 to 51 minutes
// apart, from a generator seeded with seed, so a failure repeats) and checks each outcome, the
// block and the failures counted against flows.Judge, the pure model.
func agreeWithModel(t *testing.T, s *store.Store, seed uint64, attempt func(context.Context, flows.Attempt, time.Time) (flows.Outcome, error)) {
	t.Helper()
	ctx := context.Background()
	model := flows.Enrollment{}
	now := t0
	r := mrand.New(mrand.NewPCG(23, seed))
	for i := 0; i < 60; i++ {
		correct := r.IntN(100) < 30
		now = now.Add(time.Duration(r.IntN(4)) * 17 * time.Minute)
		a := flows.Attempt{Method: flows.MethodTOTP, Correct: correct, Limits: lim}
		var want flows.Status
		model, want = flows.Judge(model, a, now)
		out, err := attempt(ctx, a, now)
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != want {
			t.Fatalf("attempt %d (correct=%v at +%s): store %d, model %d", i, correct, now.Sub(t0), out.Status, want)
		}
		en, _ := s.Get(ctx, "u1")
		if !en.BlockedUntil.Equal(model.BlockedUntil) || en.Fails.Count != model.Fails.Count {
			t.Fatalf("attempt %d: store %+v/%v, model %+v/%v", i, en.Fails, en.BlockedUntil, model.Fails, model.BlockedUntil)
		}
	}
}

var conformance = map[string]func(t *testing.T, s *store.Store, rdb redis.UniversalClient){
	"session versions and dedupe": func(t *testing.T, s *store.Store, _ redis.UniversalClient) {
		ctx := context.Background()
		sess := session("s1", t0)
		sess.Version = 1
		out, err := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, IdemKey: "e1", Now: t0, Session: sess})
		if err != nil || out.Status != flows.Committed || out.Version != 1 {
			t.Fatalf("first: %+v %v", out, err)
		}
		if out, _ := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, IdemKey: "e1", Now: t0, Session: sess}); out.Status != flows.Duplicate {
			t.Fatalf("dup: %+v", out)
		}
		if out, _ := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, IdemKey: "e2", Now: t0, Session: sess}); out.Status != flows.Stale {
			t.Fatalf("stale: %+v", out)
		}
		snap, err := s.Load(ctx, "u1", chat)
		if err != nil || snap.Session == nil || snap.Session.Version != 1 || snap.Session.ID != "s1" {
			t.Fatalf("load: %+v %v", snap.Session, err)
		}
		// delete with the right version
		if out, _ := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, IdemKey: "e3", Now: t0, ExpectVersion: 1}); out.Status != flows.Committed {
			t.Fatalf("delete: %+v", out)
		}
		if snap, _ := s.Load(ctx, "u1", chat); snap.Session != nil {
			t.Fatal("session survived delete")
		}
	},
	// the message of a stale step (the session moved on, or a link given back finds a newer one)
	// can still be handled; a step with any other outcome handles its message once
	"only a stale step leaves its message unhandled": func(t *testing.T, s *store.Store, _ redis.UniversalClient) {
		ctx := context.Background()
		sess := session("s1", t0)
		sess.Version = 1
		commit := func(idem string, expect int64, c flows.Commit) flows.Outcome {
			t.Helper()
			c.Subject, c.ChatKey, c.IdemKey, c.Now, c.ExpectVersion = "u1", chat, idem, t0, expect
			out, err := s.Commit(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		if out := commit("e1", 0, flows.Commit{Session: sess, Link: &flows.LinkGrant{Purpose: flows.PurposeReset, MAC: "m1", ExpiresAt: t0.Add(time.Hour)}}); out.Status != flows.Committed {
			t.Fatalf("first: %+v", out)
		}
		sess.Version = 2
		if out := commit("e2", 0, flows.Commit{Session: sess}); out.Status != flows.Stale {
			t.Fatalf("an old version: %+v", out)
		}
		if out := commit("e2", 1, flows.Commit{Session: sess, Link: &flows.LinkGrant{Purpose: flows.PurposeReset, MAC: "m2", ExpiresAt: t0.Add(time.Hour), IfFree: true}}); out.Status != flows.Stale {
			t.Fatalf("a link given back over a newer one: %+v", out)
		}
		if out := commit("e2", 1, flows.Commit{Session: sess}); out.Status != flows.Committed || out.Version != 2 {
			t.Fatalf("the message of the stale steps, again: %+v", out)
		}
		wrong := flows.Attempt{Method: flows.MethodTOTP, Limits: lim}
		if out := commit("e3", 2, flows.Commit{Attempt: &wrong, KeepSession: true}); out.Status != flows.Rejected || out.Tries != 1 {
			t.Fatalf("a wrong code: %+v", out)
		}
		lim1 := lim
		lim1.SendMax = 0
		if out := commit("e4", 2, flows.Commit{CountSend: &lim1, KeepSession: true}); out.Status != flows.LimitReached {
			t.Fatalf("a send past the limit: %+v", out)
		}
		for _, idem := range []string{"e1", "e2", "e3", "e4"} {
			if out := commit(idem, 2, flows.Commit{Attempt: &wrong, KeepSession: true}); out.Status != flows.Duplicate {
				t.Fatalf("%s again: %+v", idem, out)
			}
		}
		if en, err := s.Get(ctx, "u1"); err != nil || en.Tries[flows.MethodTOTP].Count != 1 || en.Sent.Count != 0 {
			t.Fatalf("counted %+v, sent %+v (%v): the repeated messages counted again", en.Tries, en.Sent, err)
		}
	},
	"attempts agree with the pure model": func(t *testing.T, s *store.Store, _ redis.UniversalClient) {
		agreeWithModel(t, s, 1, func(ctx context.Context, a flows.Attempt, now time.Time) (flows.Outcome, error) {
			return s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, Now: now, Attempt: &a, KeepSession: true})
		})
	},
	"registration pages' attempts agree with the pure model": func(t *testing.T, s *store.Store, _ redis.UniversalClient) {
		// judge.lua counts in the same counters as a chat step, with lib_window.lua's window
		agreeWithModel(t, s, 2, func(ctx context.Context, a flows.Attempt, now time.Time) (flows.Outcome, error) {
			return s.JudgeAttempt(ctx, "u1", a, now)
		})
	},
	"a code is accepted once": func(t *testing.T, s *store.Store, _ redis.UniversalClient) {
		ctx := context.Background()
		sess := session("s1", t0)
		sess.Version = 1
		code := &flows.StoredCode{MAC: "abc123", ExpiresAt: t0.Add(10 * time.Minute)}
		lim2 := lim
		if out, _ := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, Now: t0, Session: sess, PutCode: code, CountSend: &lim2}); out.Status != flows.Committed {
			t.Fatalf("put: %+v", out)
		}
		snap, _ := s.Load(ctx, "u1", chat)
		if snap.Code.MAC != "abc123" || !snap.Code.ExpiresAt.Equal(code.ExpiresAt) {
			t.Fatalf("code %+v", snap.Code)
		}
		a := flows.Attempt{Method: flows.MethodEmail, Correct: true, CodeMAC: "abc123", Limits: lim}
		next := *sess
		next.Version = 2
		if out, _ := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, Now: t0, ExpectVersion: 1, Attempt: &a, Session: &next}); out.Status != flows.Committed {
			t.Fatalf("accept: %+v", out)
		}
		next.Version = 3
		if out, _ := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, Now: t0, ExpectVersion: 2, Attempt: &a, Session: &next}); out.Status != flows.Rejected {
			t.Fatalf("second use: %+v", out)
		}
	},
	"a TOTP step is accepted once": func(t *testing.T, s *store.Store, _ redis.UniversalClient) {
		ctx := context.Background()
		for i, want := range []flows.Status{flows.Committed, flows.Rejected} {
			a := flows.Attempt{Method: flows.MethodTOTP, Correct: true, TOTPStep: 100, Limits: lim}
			out, _ := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: "p:t:c" + string(rune('a'+i)), Now: t0, Attempt: &a, KeepSession: true})
			if out.Status != want {
				t.Fatalf("use %d: %+v", i, out)
			}
		}
		en, _ := s.Get(ctx, "u1")
		if en.LastTOTPStep != 100 {
			t.Fatalf("step %d", en.LastTOTPStep)
		}
		if err := s.Register(ctx, "u1", flows.Registered{Kind: flows.MethodTOTP, Secret: "S"}, 50); err != nil {
			t.Fatal(err)
		}
		if en, _ := s.Get(ctx, "u1"); en.LastTOTPStep != 100 {
			t.Fatalf("a registration moved the step back to %d", en.LastTOTPStep)
		}
	},
	"send limit": func(t *testing.T, s *store.Store, _ redis.UniversalClient) {
		ctx := context.Background()
		l := lim
		for i := 0; i <= l.SendMax; i++ {
			out, _ := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, Now: t0, CountSend: &l, KeepSession: true})
			if (i < l.SendMax) != (out.Status == flows.Committed) {
				t.Fatalf("send %d: %+v", i, out)
			}
		}
		if ok, _ := s.CountSend(ctx, "u1", l, t0); ok {
			t.Fatal("web send passed the shared limit")
		}
		if ok, _ := s.CountSend(ctx, "u1", l, t0.Add(l.SendWindow)); !ok {
			t.Fatal("limit did not reset after the window")
		}
	},
	"links: one current per purpose, bound to the session version": func(t *testing.T, s *store.Store, _ redis.UniversalClient) {
		ctx := context.Background()
		sess := session("s1", t0)
		sess.Version = 1
		grant := func(mac string) {
			sess.Version = func() int64 {
				snap, _ := s.Load(ctx, "u1", chat)
				if snap.Session == nil {
					return 1
				}
				return snap.Session.Version + 1
			}()
			exp := sess.Version - 1
			out, err := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, Now: t0, ExpectVersion: exp, Session: sess,
				Link: &flows.LinkGrant{Purpose: flows.PurposeReset, MAC: mac, ExpiresAt: t0.Add(10 * time.Minute)}})
			if err != nil || out.Status != flows.Committed {
				t.Fatalf("grant: %+v %v", out, err)
			}
		}
		grant("mac1")
		rec, got, err := s.Peek(ctx, "u1", flows.PurposeReset, "mac1")
		if err != nil || got == nil || rec.SessionVersion != 1 || rec.ChatKey != chat {
			t.Fatalf("peek: %+v %v", rec, err)
		}
		grant("mac2")
		if _, _, err := s.Peek(ctx, "u1", flows.PurposeReset, "mac1"); !errors.Is(err, flows.ErrLinkGone) {
			t.Fatalf("old link: %v", err)
		}
		if err := s.Consume(ctx, "u1", flows.PurposeReset, "mac1", nil, t0); !errors.Is(err, flows.ErrLinkGone) {
			t.Fatalf("consume old: %v", err)
		}
		if err := s.Consume(ctx, "u1", flows.PurposeReset, "mac2", nil, t0); err != nil {
			t.Fatalf("consume: %v", err)
		}
		if err := s.Consume(ctx, "u1", flows.PurposeReset, "mac2", nil, t0); !errors.Is(err, flows.ErrLinkGone) {
			t.Fatalf("consume twice: %v", err)
		}
		// a link whose session moved on is dead
		grant("mac3")
		next := *sess
		next.Version++
		s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, Now: t0, ExpectVersion: sess.Version, Session: &next})
		if err := s.Consume(ctx, "u1", flows.PurposeReset, "mac3", nil, t0); !errors.Is(err, flows.ErrLinkGone) {
			t.Fatalf("consume after the session moved: %v", err)
		}

		// ConsumePeeked: what Peek read, consumed in the atomic step only if it is still current
		sess.Version = next.Version
		grant("mac4")
		rec4, _, err := s.Peek(ctx, "u1", flows.PurposeReset, "mac4")
		if err != nil || rec4.Stored == "" {
			t.Fatalf("peek: %+v %v", rec4, err)
		}
		grant("mac5") // replaces the link after the peek
		if err := s.ConsumePeeked(ctx, rec4, "mac4", nil, t0); !errors.Is(err, flows.ErrLinkGone) {
			t.Fatalf("consume a link replaced since the peek: %v", err)
		}
		rec5, _, err := s.Peek(ctx, "u1", flows.PurposeReset, "mac5")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ConsumePeeked(ctx, rec5, "mac4", nil, t0); !errors.Is(err, flows.ErrLinkGone) {
			t.Fatalf("consume with another MAC: %v", err)
		}
		forged := rec5
		forged.Stored = strings.Replace(rec5.Stored, "|"+strconv.FormatInt(rec5.SessionVersion, 10)+"|", "|99|", 1)
		if forged.Stored == rec5.Stored {
			t.Fatalf("stored link %q", rec5.Stored)
		}
		if err := s.ConsumePeeked(ctx, forged, "mac5", nil, t0); !errors.Is(err, flows.ErrLinkGone) {
			t.Fatalf("consume a record that is not the stored one: %v", err)
		}
		if err := s.ConsumePeeked(ctx, rec5, "mac5", nil, t0); err != nil {
			t.Fatalf("consume peeked: %v", err)
		}
		if err := s.ConsumePeeked(ctx, rec5, "mac5", nil, t0); !errors.Is(err, flows.ErrLinkGone) {
			t.Fatalf("consume peeked twice: %v", err)
		}
	},
	// A step forgets the notice menu it read (picked from, or replaced by its reply's), not a
	// newer one a notice kept between its read and its commit (another replica's notice).
	"notice menu forgotten as read": func(t *testing.T, s *store.Store, rdb redis.UniversalClient) {
		ctx := context.Background()
		old := []flows.Choice{{ID: "l:unlock", Label: "Unlock it now <now> & \u2028"}}
		newer := []flows.Choice{{ID: "h:47|a1", Label: "47", Key: "1"}, {ID: "h:notme|a1", Label: "I'm not on a call"}}
		if err := s.KeepMenu(ctx, "u1", "p:t:c1", old, time.Hour); err != nil {
			t.Fatal(err)
		}
		snap, err := s.Load(ctx, "u1", "p:t:c1")
		if err != nil || len(snap.Menu) != 1 {
			t.Fatalf("load: %+v %v", snap.Menu, err)
		}
		if err := s.KeepMenu(ctx, "u1", "p:t:c1", newer, time.Hour); err != nil {
			t.Fatal(err)
		}
		commit := flows.Commit{Subject: "u1", ChatKey: "p:t:c1", Now: t0, KeepSession: true, ForgetMenu: true, MenuWas: snap.Menu}
		if out, err := s.Commit(ctx, commit); err != nil || out.Status != flows.Committed {
			t.Fatalf("commit: %+v %v", out, err)
		}
		if snap, _ = s.Load(ctx, "u1", "p:t:c1"); len(snap.Menu) != 2 {
			t.Fatalf("the newer menu was forgotten by a step that read the older: %+v", snap.Menu)
		}
		commit.MenuWas = snap.Menu
		if out, err := s.Commit(ctx, commit); err != nil || out.Status != flows.Committed {
			t.Fatalf("commit: %+v %v", out, err)
		}
		if snap, _ = s.Load(ctx, "u1", "p:t:c1"); len(snap.Menu) != 0 {
			t.Fatalf("the menu read was not forgotten: %+v", snap.Menu)
		}
	},
	"sealed enrollment": func(t *testing.T, s *store.Store, rdb redis.UniversalClient) {
		ctx := context.Background()
		if err := s.Register(ctx, "u1", flows.Registered{Kind: flows.MethodTOTP, Secret: "JBSWY3DPEHPK3PXP"}, 0); err != nil {
			t.Fatal(err)
		}
		if err := s.Register(ctx, "u2", flows.Registered{Kind: flows.MethodEmail, Address: "someone@mail.test"}, 0); err != nil {
			t.Fatal(err)
		}
		en, err := s.Get(ctx, "u1")
		if err != nil || en.Methods[flows.MethodTOTP].Secret != "JBSWY3DPEHPK3PXP" {
			t.Fatalf("%+v %v", en, err)
		}
		raw, _ := rdb.HGetAll(ctx, "{u:u1}:e").Result()
		for _, v := range raw {
			if strings.Contains(v, "JBSWY3DPEHPK3PXP") {
				t.Fatal("secret in clear")
			}
		}
		// a sealed value moved to another user or field does not open
		moved := raw["m:totp"]
		rdb.HSet(ctx, "{u:u2}:e", "m:totp", moved)
		if _, err := s.Get(ctx, "u2"); err == nil {
			t.Fatal("a value sealed for u1 opened for u2")
		}
		rdb.HSet(ctx, "{u:u1}:e", "m:email", moved)
		if _, err := s.Get(ctx, "u1"); err == nil {
			t.Fatal("a value sealed for one field opened as another")
		}
	},
	"pins": func(t *testing.T, s *store.Store, _ redis.UniversalClient) {
		ctx := context.Background()
		if p, _ := s.Pinned(ctx, chat); p != "" {
			t.Fatal(p)
		}
		if err := s.Pin(ctx, chat, "u1"); err != nil {
			t.Fatal(err)
		}
		if err := s.Pin(ctx, chat, "u1"); err != nil {
			t.Fatal(err)
		}
		if err := s.Pin(ctx, chat, "u2"); !errors.Is(err, flows.ErrRefused) {
			t.Fatalf("re-pin: %v", err)
		}
		if p, _ := s.Pinned(ctx, chat); p != "u1" {
			t.Fatal(p)
		}
	},
	"web states": func(t *testing.T, s *store.Store, rdb redis.UniversalClient) {
		ctx := context.Background()
		w := flows.WebState{UserID: "u1", PendingTOTP: "SECRETSECRET", ExpiresAt: time.Now().Add(time.Minute)}
		if err := s.PutWeb(ctx, "k", w, time.Now()); err != nil {
			t.Fatal(err)
		}
		if v, _ := rdb.Get(ctx, "web:k").Result(); strings.Contains(v, "SECRETSECRET") {
			t.Fatal("pending secret in clear")
		}
		got, err := s.GetWeb(ctx, "k")
		if err != nil || got.PendingTOTP != "SECRETSECRET" {
			t.Fatalf("%+v %v", got, err)
		}
		_ = s.DeleteWeb(ctx, "k")
		if _, err := s.GetWeb(ctx, "k"); !errors.Is(err, flows.ErrNotFound) {
			t.Fatal(err)
		}
	},
	"policy versions": func(t *testing.T, s *store.Store, _ redis.UniversalClient) {
		ctx := context.Background()
		p, v, err := s.GetPolicy(ctx)
		if err != nil || v != 0 || p.EnabledFor != flows.EnabledNone {
			t.Fatalf("%+v %d %v", p, v, err)
		}
		p.EnabledFor = flows.EnabledAll
		if v, err := s.PutPolicy(ctx, p, 0); err != nil || v != 1 {
			t.Fatalf("%d %v", v, err)
		}
		if _, err := s.PutPolicy(ctx, p, 0); !errors.Is(err, flows.ErrStale) {
			t.Fatalf("stale put: %v", err)
		}
		p.Required = 7
		if _, err := s.PutPolicy(ctx, p, 1); err == nil {
			t.Fatal("invalid policy stored")
		}
		if got, v, _ := s.GetPolicy(ctx); v != 1 || got.EnabledFor != flows.EnabledAll {
			t.Fatalf("%+v %d", got, v)
		}
	},
	"audit stream": func(t *testing.T, _ *store.Store, rdb redis.UniversalClient) {
		a := store.NewAuditor(rdb, slog.New(slog.NewTextHandler(io.Discard, nil)))
		a.Audit(context.Background(), flows.AuditEvent{Time: t0, Actor: "p:t:c1", Subject: "u1", Action: "reset", Outcome: "ok"})
		a.Close()
		ev, err := store.Events(context.Background(), rdb)
		if err != nil || len(ev) != 1 || ev[0].Action != "reset" || ev[0].Subject != "u1" {
			t.Fatalf("%+v %v", ev, err)
		}
	},
}

func TestSealKeyRotation(t *testing.T) {
	old, cur := key(), key()
	c1, _ := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"old": old}, CurrentID: "old", MACKey: key()})
	sealed, _ := c1.Seal("u1|m:totp", "secret")
	c2, _ := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"old": old, "new": cur}, CurrentID: "new", MACKey: key()})
	if got, err := c2.Open("u1|m:totp", sealed); err != nil || got != "secret" {
		t.Fatalf("old key after rotation: %q %v", got, err)
	}
	if s2, _ := c2.Seal("a", "b"); !strings.HasPrefix(s2, "new:") {
		t.Fatalf("new values not sealed with the current key: %s", s2)
	}
}

func TestKeysValidateReportsAll(t *testing.T) {
	err := store.Keys{SealKeys: map[string][]byte{"a:b": {1}}, CurrentID: "x", MACKey: []byte{1}}.Validate()
	if err == nil {
		t.Fatal("bad keys accepted")
	}
	for _, want := range []string{"32 bytes", "':'", "current sealing key", "MAC key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestAuditAgeCapAndExport(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	a := store.NewAuditor(rdb, slog.New(slog.NewTextHandler(io.Discard, nil)), 30*24*time.Hour)
	old := time.Now().Add(-40 * 24 * time.Hour)
	// an event from 40 days ago, written with its own time as the stream id
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: store.AuditStream, ID: strconv.FormatInt(old.UnixMilli(), 10) + "-0",
		Values: []any{"time", strconv.FormatInt(old.UnixMilli(), 10), "action", "ancient", "subject", "u0"}})
	a.Audit(ctx, flows.AuditEvent{Time: time.Now(), Actor: "slack:T:U1", Subject: "u1", Platform: "slack", Action: "reset", Outcome: "ok"})
	a.Close()
	var out bytes.Buffer
	n, err := store.Export(ctx, rdb, &out, time.Time{})
	if err != nil || n != 1 {
		t.Fatalf("exported %d: %v\n%s", n, err, out.String())
	}
	var line map[string]string
	if err := json.Unmarshal(out.Bytes(), &line); err != nil || line["action"] != "reset" || line["subject"] != "u1" || line["time"] == "" {
		t.Fatalf("%q %v", out.String(), err)
	}
}

func TestReminderClaimsAndRenewals(t *testing.T) {
	rdb := redistest.Start(t).Client()
	s := store.New(rdb, newCrypto(t))
	ctx := context.Background()
	if err := s.Schedule(ctx, "q", []flows.Due{{UserID: "u1", At: t0}, {UserID: "u2", At: t0.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	lease := time.Minute
	a, _ := s.Claim(ctx, "q", t0, 10, lease)
	if len(a) != 1 || a[0] != "u1" {
		t.Fatalf("claim %v", a)
	}
	if b, _ := s.Claim(ctx, "q", t0.Add(30*time.Second), 10, lease); len(b) != 0 {
		t.Fatalf("a leased user was claimed again: %v", b)
	}
	// replica A stalls past its lease; replica B takes the user over
	if b, _ := s.Claim(ctx, "q", t0.Add(2*time.Minute), 10, lease); len(b) != 1 {
		t.Fatalf("an expired lease was not taken over: %v", b)
	}
	if ok, _ := s.Renew(ctx, "q", "u1", t0.Add(lease), t0.Add(3*time.Minute)); ok {
		t.Fatal("replica A renewed a claim it lost")
	}
	if ok, _ := s.Renew(ctx, "q", "u1", t0.Add(2*time.Minute+lease), t0.Add(4*time.Minute)); !ok {
		t.Fatal("replica B could not renew its claim")
	}
	if n, _ := s.Pending(ctx, "q"); n != 2 {
		t.Fatalf("pending %d", n)
	}
}

// A kept new-password hash lives for its lifetime, and a new one starts its own count of checks
// (the count outlives the hash it counted for).
func TestKeepNewPasswordStartsItsOwnCount(t *testing.T) {
	rdb := redistest.Start(t).Client()
	st := store.New(rdb, newCrypto(t))
	ctx := context.Background()
	if err := st.KeepNewPassword(ctx, "u1", "rec1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if n, err := st.SpendPasswordChecks(ctx, "u1", 5); err != nil || n != 5 {
		t.Fatalf("checks %d %v", n, err)
	}
	if err := st.KeepNewPassword(ctx, "u1", "rec2", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if n, err := st.SpendPasswordChecks(ctx, "u1", 1); err != nil || n != 1 {
		t.Fatalf("a new password's checks %d %v, want 1", n, err)
	}
	snap, err := st.Load(ctx, "u1", "slack:T:U1")
	if err != nil || snap.NewPassword != "rec2" {
		t.Fatalf("kept %q %v", snap.NewPassword, err)
	}
	if ttl := rdb.PTTL(ctx, "{u:u1}:newpw").Val(); ttl <= time.Minute || ttl > 2*time.Minute {
		t.Fatalf("lifetime %v", ttl)
	}
}

// The reset page's consumption of its link keeps the new password's record in the same script,
// as KeepNewPassword does (its own count of checks), and only when the link is consumed; what it
// replaced is put back when the directory refuses the password, unless a newer record was kept.
func TestConsumeKeepingKeepsTheNewPassword(t *testing.T) {
	rdb := redistest.Start(t).Client()
	s := store.New(rdb, newCrypto(t))
	ctx := context.Background()
	sess := session("s1", t0)
	link := func(mac string) flows.LinkRecord {
		t.Helper()
		snap, err := s.Load(ctx, "u1", chat)
		if err != nil {
			t.Fatal(err)
		}
		exp := int64(0)
		if snap.Session != nil {
			exp = snap.Session.Version
		}
		sess.Version = exp + 1
		out, err := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, Now: t0, ExpectVersion: exp, Session: sess,
			Link: &flows.LinkGrant{Purpose: flows.PurposeReset, MAC: mac, ExpiresAt: t0.Add(10 * time.Minute)}})
		if err != nil || out.Status != flows.Committed {
			t.Fatalf("grant: %+v %v", out, err)
		}
		rec, _, err := s.Peek(ctx, "u1", flows.PurposeReset, mac)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	kept := func() string { v, _ := rdb.Get(ctx, "{u:u1}:newpw").Result(); return v }

	// a link that is not consumed keeps nothing
	rec1 := link("mac1")
	if _, err := s.ConsumeKeeping(ctx, rec1, "other-mac", nil, "rec1", time.Minute, t0); !errors.Is(err, flows.ErrLinkGone) || kept() != "" {
		t.Fatalf("wrong MAC: %v, kept %q", err, kept())
	}
	c, err := s.ConsumeKeeping(ctx, rec1, "mac1", nil, "rec1", time.Minute, t0)
	if err != nil || c != (flows.Consumed{Before: flows.KeptBefore{RecordTTL: -2 * time.Millisecond, ChecksTTL: -2 * time.Millisecond}}) || kept() != "rec1" {
		t.Fatalf("consumed: %+v %v, kept %q", c, err, kept())
	}
	if _, err := s.ConsumeKeeping(ctx, rec1, "mac1", nil, "rec9", time.Minute, t0); !errors.Is(err, flows.ErrLinkGone) || kept() != "rec1" {
		t.Fatalf("consumed twice: %v, kept %q", err, kept())
	}
	if n, err := s.SpendPasswordChecks(ctx, "u1", 5); err != nil || n != 5 {
		t.Fatalf("checks %d %v", n, err)
	}

	// the next link's password starts its own count; refused, the first comes back with its
	// count. The registered email method is read in the same step.
	if err := s.Register(ctx, "u1", flows.Registered{Kind: flows.MethodEmail, Address: "u1@mail.test", RegisteredAt: t0}, 0); err != nil {
		t.Fatal(err)
	}
	rec2 := link("mac2")
	c, err = s.ConsumeKeeping(ctx, rec2, "mac2", nil, "rec2", 2*time.Minute, t0)
	before := c.Before
	if err != nil || before.Record != "rec1" || before.Checks != "5" || before.RecordTTL <= 0 || before.RecordTTL > time.Minute ||
		kept() != "rec2" || c.RegisteredMail != "u1@mail.test" {
		t.Fatalf("second: %+v %v, kept %q", c, err, kept())
	}
	if ttl := rdb.PTTL(ctx, "{u:u1}:newpw").Val(); ttl <= time.Minute || ttl > 2*time.Minute {
		t.Fatalf("lifetime %v", ttl)
	}
	if n, err := s.SpendPasswordChecks(ctx, "u1", 1); err != nil || n != 1 {
		t.Fatalf("a new password's checks %d %v, want 1", n, err)
	}
	if err := s.UnkeepNewPassword(ctx, "u1", "rec2", before); err != nil || kept() != "rec1" {
		t.Fatalf("put back: %v, kept %q", err, kept())
	}
	if ttl := rdb.PTTL(ctx, "{u:u1}:newpw").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("put back with lifetime %v", ttl)
	}
	if n, err := s.SpendPasswordChecks(ctx, "u1", 1); err != nil || n != 6 {
		t.Fatalf("the first password's checks %d %v, want 6", n, err)
	}

	// nothing before: refused, nothing is kept; a record kept since is left alone
	rdb.Del(ctx, "{u:u1}:newpw", "{u:u1}:newpw:n")
	rec3 := link("mac3")
	if c, err = s.ConsumeKeeping(ctx, rec3, "mac3", nil, "rec3", time.Minute, t0); err != nil {
		t.Fatal(err)
	}
	before = c.Before
	if err := s.UnkeepNewPassword(ctx, "u1", "rec3", before); err != nil || kept() != "" || rdb.Exists(ctx, "{u:u1}:newpw:n").Val() != 0 {
		t.Fatalf("put back nothing: %v, kept %q", err, kept())
	}
	if err := s.KeepNewPassword(ctx, "u1", "rec4", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.UnkeepNewPassword(ctx, "u1", "rec3", before); err != nil || kept() != "rec4" {
		t.Fatalf("a newer record: %v, kept %q", err, kept())
	}
}

// A record put back whose lifetime had (about) run out when it was replaced, PTTL 0, goes at
// once; only one that had no lifetime (PTTL -1) is put back to stay.
func TestUnkeepPutsBackLifetimesAsTheyWere(t *testing.T) {
	rdb := redistest.Start(t).Client()
	s := store.New(rdb, newCrypto(t))
	ctx := context.Background()
	key, checks := "{u:u1}:newpw", "{u:u1}:newpw:n"
	for _, c := range []struct {
		ttl  time.Duration
		want func(pttl time.Duration) bool
	}{
		{0, func(p time.Duration) bool { return p != -1 }},                 // gone, or about to
		{-time.Millisecond, func(p time.Duration) bool { return p == -1 }}, // no lifetime, as before
		{time.Hour, func(p time.Duration) bool { return p > 59*time.Minute && p <= time.Hour }},
	} {
		if err := rdb.Set(ctx, key, "kept", 0).Err(); err != nil {
			t.Fatal(err)
		}
		before := flows.KeptBefore{Record: "old", RecordTTL: c.ttl, Checks: "3", ChecksTTL: c.ttl}
		if err := s.UnkeepNewPassword(ctx, "u1", "kept", before); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{key, checks} {
			if p := rdb.PTTL(ctx, k).Val(); !c.want(p) {
				t.Errorf("%s put back with a lifetime of %v: its PTTL is %v", k, c.ttl, p)
			}
		}
		rdb.Del(ctx, key, checks)
	}
}
