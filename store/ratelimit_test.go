package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store"
)

// The recovery page's limits, on a real redis-server and on the demo's miniredis: a single-use
// value is refused the second time, a bucket refuses past its maximum within its window and
// starts again in the next, and the first bucket over its limit is the one named.
func TestRateLimits(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := store.New(open(t), newCrypto(t))
			ctx := context.Background()
			now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
			hits := []flows.RateHit{{Key: "a:192.0.2.1", Max: 3, Window: 10 * time.Minute}, {Key: "n:192.0.2.0/24", Max: 2, Window: 10 * time.Minute}}
			take := func(once string, at time.Time) int {
				t.Helper()
				i, err := s.Take(ctx, at, once, time.Minute, hits)
				if err != nil {
					t.Fatal(err)
				}
				return i
			}
			if take("n1", now) != -1 || take("n1", now) != len(hits) {
				t.Fatal("a single-use value was taken twice")
			}
			// the refused reuse counted nothing: the network has one hit
			if got := take("", now); got != -1 {
				t.Fatalf("second hit: %d", got)
			}
			if got := take("", now.Add(time.Minute)); got != 1 {
				t.Fatalf("third hit: %d, want the network (1)", got)
			}
			if got := take("", now.Add(10*time.Minute)); got != -1 {
				t.Fatalf("next window: %d", got)
			}
		})
	}
}

// A subject with no directory user (a name typed on the recovery page that matches nobody)
// has its counters forgotten after 48 hours; a person's are kept.
func TestCountersOfNobodyExpire(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			rdb := open(t)
			s := store.New(rdb, newCrypto(t))
			ctx := context.Background()
			now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
			for _, subject := range []string{"c:web:nobody", "a11ce-0001"} {
				_, err := s.Commit(ctx, flows.Commit{Subject: subject, ChatKey: "web:recover:b1", Now: now, KeepSession: true,
					Attempt: &flows.Attempt{Method: flows.MethodTOTP, Limits: flows.DefaultPolicy().Limits}})
				if err != nil {
					t.Fatal(err)
				}
			}
			if ttl := rdb.PTTL(ctx, "{u:c:web:nobody}:e").Val(); ttl < 47*time.Hour || ttl > 48*time.Hour {
				t.Fatalf("nobody's counters expire in %v", ttl)
			}
			if ttl := rdb.PTTL(ctx, "{u:a11ce-0001}:e").Val(); ttl >= 0 {
				t.Fatalf("a person's counters expire in %v", ttl)
			}
		})
	}
}
