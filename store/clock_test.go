package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
)

// TestTimesToLiveFollowTheEnginesClock: the store measures an expiry the engine set against the
// engine's time, which the engine passes with it. A session saved as its link is consumed keeps
// its minutes in Redis, and a browser session lives until its own expiry, when that clock is
// days from the wall clock (as a test's fixed clock is; with the wall clock the session got one
// second and was gone before its owner signed in).
func TestTimesToLiveFollowTheEnginesClock(t *testing.T) {
	for _, offset := range []time.Duration{-30 * 24 * time.Hour, 30 * 24 * time.Hour} {
		t0 := time.Now().Add(offset).Truncate(time.Millisecond)
		rdb := redistest.Start(t).Client()
		s := store.New(rdb, newCrypto(t))
		ctx := context.Background()
		chat := flows.ChatRef{Platform: "p", Tenant: "t", UserID: "c1"}.Key()
		sess := session("s1", t0)
		sess.Version = 1
		out, err := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, Now: t0, Session: sess,
			Link: &flows.LinkGrant{Purpose: flows.PurposeRegister, MAC: "mac1", ExpiresAt: t0.Add(10 * time.Minute)}})
		if err != nil || out.Status != flows.Committed {
			t.Fatalf("commit: %+v %v", out, err)
		}
		rec, _, err := s.Peek(ctx, "u1", flows.PurposeRegister, "mac1")
		if err != nil {
			t.Fatal(err)
		}
		next := *sess
		next.Version = 2
		if err := s.ConsumePeeked(ctx, rec, "mac1", &next, t0); err != nil {
			t.Fatal(err)
		}
		// the session expires 15 minutes after t0, and the store keeps it a minute longer
		want := flows.SessionLifetime + time.Minute
		if ttl := rdb.PTTL(ctx, "{u:u1}:s:"+chat).Val(); ttl < want-time.Minute || ttl > want {
			t.Errorf("clock %v from the wall clock: the consumed link's session lives %v in Redis, want about %v", offset, ttl, want)
		}

		// a browser session with 5 minutes left lives 5 minutes, not the longest lifetime
		if err := s.PutWeb(ctx, "w1", flows.WebState{UserID: "u1", ExpiresAt: t0.Add(5 * time.Minute)}, t0); err != nil {
			t.Fatal(err)
		}
		if ttl := rdb.PTTL(ctx, "web:w1").Val(); ttl < 4*time.Minute || ttl > 5*time.Minute {
			t.Errorf("clock %v from the wall clock: a 5-minute browser session lives %v in Redis", offset, ttl)
		}
	}
}
