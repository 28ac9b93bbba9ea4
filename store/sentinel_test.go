package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
)

// retry runs f until it succeeds: right after a failover the client still talks to the dead
// primary for a moment (each try fails fast), then asks the sentinels.
func retry(t *testing.T, what string, f func() error) {
	t.Helper()
	var err error
	for i := 0; i < 50; i++ {
		if err = f(); err == nil {
			return
		}
	}
	t.Fatalf("%s after the failover: %v", what, err)
}

// With Sentinel, every write the bot acknowledged survives the primary's crash: enrollments,
// attempt counts and the last TOTP step, so a failover gives an attacker no extra guess and no
// replay, and neither does flushing the sessions.
func TestSentinelFailoverLosesNoAcknowledgedWrite(t *testing.T) {
	g := redistest.StartSentinel(t)
	rdb, err := store.Connect(store.Options{Addrs: g.Addrs(), MasterName: redistest.MasterName})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	st := store.New(rdb, newCrypto(t)).Durable(1, 300*time.Millisecond)
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	lim := flows.DefaultLimits()
	attempt := func(user, mac string, correct bool, step int64, n int) flows.Outcome {
		t.Helper()
		c := flows.Commit{Subject: user, ChatKey: "test:T1:" + user, IdemKey: user + "-" + time.Duration(n).String(), Now: now,
			KeepSession: true, Attempt: &flows.Attempt{Method: flows.MethodTOTP, Correct: correct, TOTPStep: step, Limits: lim}}
		var out flows.Outcome
		retry(t, "commit", func() (err error) { out, err = st.Commit(ctx, c); return err })
		return out
	}
	// acknowledged before the crash: an enrollment, four wrong codes, one accepted TOTP step
	if err := st.Register(ctx, "u1", flows.Registered{Kind: flows.MethodEmail, Address: "u1@home.test", RegisteredAt: now}, 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < lim.FailMax-1; i++ {
		if o := attempt("u1", "", false, 0, i); o.Status != flows.Rejected {
			t.Fatalf("wrong code %d: %v", i, o.Status)
		}
	}
	if o := attempt("u2", "", true, 58_000_000, 0); o.Status != flows.Committed {
		t.Fatalf("right code: %v", o.Status)
	}
	g.Primary.Kill()
	g.WaitFailover()

	var en flows.Enrollment
	retry(t, "read", func() (err error) { en, err = st.Get(ctx, "u1"); return err })
	if _, ok := en.Methods[flows.MethodEmail]; !ok {
		t.Fatal("an acknowledged enrollment was lost in the failover")
	}
	// the fifth wrong code blocks: no extra guess
	if o := attempt("u1", "", false, 0, 100); o.Status != flows.Blocked && o.BlockedUntil.IsZero() {
		t.Fatalf("fifth wrong code after the failover: %+v", o)
	}
	// the accepted step cannot be replayed
	if o := attempt("u2", "", true, 58_000_000, 100); o.Status != flows.Rejected {
		t.Fatalf("TOTP replay after the failover: %v", o.Status)
	}
	// flushing every session key gives nothing back either
	keys, _ := rdb.Keys(ctx, "{u:*}:s:*").Result()
	if len(keys) > 0 {
		rdb.Del(ctx, keys...)
	}
	if o := attempt("u2", "", true, 58_000_000, 200); o.Status != flows.Rejected {
		t.Fatalf("TOTP replay after the sessions were flushed: %v", o.Status)
	}
	if o := attempt("u1", "", false, 0, 200); o.Status != flows.Blocked {
		t.Fatalf("still blocked after the sessions were flushed: %+v", o)
	}
}

// Without enough replicas a write is not acknowledged: the caller hears about it.
func TestDurableWriteWithoutReplicaIsRefused(t *testing.T) {
	srv := redistest.Start(t)
	var rdb redis.UniversalClient = srv.Client()
	st := store.New(rdb, newCrypto(t)).Durable(1, 50*time.Millisecond)
	err := st.Register(context.Background(), "u1", flows.Registered{Kind: flows.MethodEmail, Address: "a@b.test"}, 0)
	if err == nil {
		t.Fatal("a write no replica acknowledged was reported done")
	}
}
