package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
)

func TestPasswordSignInsCountedBeforeTheCheck(t *testing.T) {
	rdb := redistest.Start(t).Client()
	s := store.New(rdb, newCrypto(t))
	ctx := context.Background()
	day := time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if took, err := s.TakeSignIn(ctx, "u1", 3, day); err == nil && took {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 3 {
		t.Fatalf("20 concurrent attempts with 3 allowed: %d went ahead", ok.Load())
	}
	// an attempt that did not fail is given back
	if err := s.ForgiveSignIn(ctx, "u1", day); err != nil {
		t.Fatal(err)
	}
	if took, _ := s.TakeSignIn(ctx, "u1", 3, day); !took {
		t.Fatal("a forgiven attempt was not given back")
	}
	if took, _ := s.TakeSignIn(ctx, "u1", 3, day); took {
		t.Fatal("a fourth failure in a day")
	}
	// another user, and the next UTC day, count on their own
	if took, _ := s.TakeSignIn(ctx, "u2", 3, day); !took {
		t.Fatal("another user refused")
	}
	if took, _ := s.TakeSignIn(ctx, "u1", 3, day.Add(2*time.Hour)); !took {
		t.Fatal("the next day refused")
	}
}

func TestLeaseHasOneHolder(t *testing.T) {
	rdb := redistest.Start(t).Client()
	s := store.New(rdb, newCrypto(t))
	ctx := context.Background()
	if ok, err := s.Lease(ctx, "poller", "a", 90*time.Second); err != nil || !ok {
		t.Fatalf("first take: %v %v", ok, err)
	}
	if ok, _ := s.Lease(ctx, "poller", "b", 90*time.Second); ok {
		t.Fatal("a second holder took a live lease")
	}
	if ok, _ := s.Lease(ctx, "poller", "a", 90*time.Second); !ok {
		t.Fatal("the holder could not renew")
	}
	keys, _ := rdb.Keys(ctx, "lease:*").Result()
	if len(keys) != 1 {
		t.Fatalf("keys %v", keys)
	}
	if ttl := rdb.PTTL(ctx, keys[0]).Val(); ttl <= 80*time.Second || ttl > 90*time.Second {
		t.Fatalf("the lease does not run out: ttl %v", ttl)
	}
	// once it has run out (the holder died), another replica takes it
	rdb.Del(ctx, keys[0])
	if ok, _ := s.Lease(ctx, "poller", "b", 90*time.Second); !ok {
		t.Fatal("a free lease was not taken")
	}
}
