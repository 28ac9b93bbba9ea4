package store_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/bot/auditship"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
)

// fillPastCap writes 40 days of events, many more than the stream keeps: each day d (0 = today)
// has d+1 resets, one unlock, two blocks, three reminders and an ok and a failed TOTP proof,
// all for subject u<d%5>, plus one event of a user "lone" at the start. It returns the number of
// events written.
func fillPastCap(t *testing.T, write func(flows.AuditEvent), now time.Time) int {
	t.Helper()
	n := 0
	add := func(e flows.AuditEvent) { write(e); n++ }
	add(flows.AuditEvent{Time: now.AddDate(0, 0, -39), Subject: "lone", Action: "signin", Outcome: "ok"})
	for d := 39; d >= 0; d-- {
		at := now.AddDate(0, 0, -d)
		sub := fmt.Sprintf("u%d", d%5)
		for i := 0; i <= d; i++ {
			add(flows.AuditEvent{Time: at, Subject: sub, Action: "reset", Outcome: "ok", Reason: "user_password"})
		}
		add(flows.AuditEvent{Time: at, Subject: sub, Action: "unlock", Outcome: "ok", Reason: "unlocked"})
		add(flows.AuditEvent{Time: at, Subject: sub, Action: "unlock", Outcome: "ok", Reason: "not_locked"}) // counts nothing
		for i := 0; i < 2; i++ {
			add(flows.AuditEvent{Time: at, Subject: sub, Action: "block", Outcome: "ok"})
		}
		for i := 0; i < 3; i++ {
			add(flows.AuditEvent{Time: at, Subject: sub, Action: "reminder", Outcome: "sent"})
		}
		add(flows.AuditEvent{Time: at, Subject: sub, Action: "verify", Outcome: "ok", Reason: "totp"})
		add(flows.AuditEvent{Time: at, Subject: sub, Action: "verify", Outcome: "failed", Reason: "totp"})
	}
	return n
}

// checkCounts compares the daily counters with what fillPastCap wrote.
func checkCounts(t *testing.T, a *store.Auditor, now time.Time) {
	t.Helper()
	c, err := a.DailyCounts(context.Background(), flows.CountKinds(), now, 30)
	if err != nil {
		t.Fatal(err)
	}
	for d := 0; d < 30; d++ {
		want := map[string]int64{flows.CountReset: int64(d + 1), flows.CountUnlock: 1, flows.CountBlock: 2, flows.CountReminder: 3,
			flows.CountVerified(flows.MethodTOTP): 1, flows.CountFailed(flows.MethodTOTP): 1, flows.CountSignIn: 0}
		for k, w := range want {
			if got := c[k][d]; got != w {
				t.Errorf("%d days ago: %s counted %d, want %d", d, k, got, w)
			}
		}
	}
}

// The stream keeps at most its cap; the daily counters stay exact past it; every event the cap
// trimmed unshipped is counted once (a metric and the Redis total); a person's latest events are
// found through their index.
func TestAuditCapCountsIndexAndLost(t *testing.T) {
	rdb := redistest.Start(t).Client()
	testAuditCap(t, rdb)
}

// The same on a six-node Cluster: every key of an audit write is in the stream's slot.
func TestAuditCapCountsIndexAndLostOnCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	rdb, err := store.Connect(store.Options{Addrs: c.Addrs(), Cluster: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	testAuditCap(t, rdb)
}

func testAuditCap(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var lostSeen atomic.Int64
	const maxLen = 200
	a := store.NewAuditorWith(rdb, slog.New(slog.NewTextHandler(io.Discard, nil)),
		store.AuditOptions{MaxLen: maxLen, Lost: func(n int) { lostSeen.Add(int64(n)) }})
	n := fillPastCap(t, func(e flows.AuditEvent) { a.Audit(ctx, e) }, now)
	a.Close()
	if l, err := rdb.XLen(ctx, store.AuditStream).Result(); err != nil || l != maxLen {
		t.Fatalf("the stream holds %d events (%v), want its cap %d", l, err, maxLen)
	}
	checkCounts(t, a, now)
	lost, err := a.LostEvents(ctx)
	if err != nil || lost != int64(n-maxLen) || lostSeen.Load() != lost {
		t.Fatalf("lost %d (%v), told %d, want %d: nothing was shipped", lost, err, lostSeen.Load(), n-maxLen)
	}
	// u0's latest events (today's) through the index; "lone"'s only event is gone with the cap
	evs, err := a.Recent(ctx, "u0", 5)
	if err != nil || len(evs) != 5 {
		t.Fatalf("recent: %d %v", len(evs), err)
	}
	for _, e := range evs {
		if e.Subject != "u0" || !e.Time.Equal(now.Truncate(time.Millisecond)) {
			t.Fatalf("recent gave %+v", e)
		}
	}
	if evs[0].Action != "verify" || evs[0].Outcome != "failed" {
		t.Fatalf("newest first: %+v", evs[0])
	}
	if evs, _ := a.Recent(ctx, "lone", 5); len(evs) != 0 {
		t.Fatalf("a trimmed event came back: %+v", evs)
	}
	// what the stream still holds ships (on a Cluster too: lease, cursor and stream share a slot)
	var shipped bytes.Buffer
	if m, err := store.NewShipper(rdb, auditship.NewLines(&shipped), slog.New(slog.NewTextHandler(io.Discard, nil))).ShipOnce(ctx); err != nil || m != maxLen {
		t.Fatalf("shipped %d of the %d left: %v", m, maxLen, err)
	}
	// the counters expire after 400 days
	ttl, err := rdb.TTL(ctx, "{audit}:n:reset:2026-11-30").Result()
	if err != nil || ttl < 399*24*time.Hour || ttl > 400*24*time.Hour {
		t.Fatalf("counter lifetime %v %v", ttl, err)
	}
}

// The age cap (AUDIT_MAX_AGE_DAYS) counts what it trims unshipped as lost, as the length cap does:
// 100 events are shipped, 200 more are not, then a write whose age cap lies after all 300 trims
// them; exactly the 200 unshipped count, in Redis and through the metric.
func TestAuditAgeCapCountsUnshippedAsLost(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Now() // stream ids are the server's clock, which the age cap compares with
	write := func(n int, o store.AuditOptions) {
		a := store.NewAuditorWith(rdb, quiet, o)
		for i := 0; i < n; i++ {
			a.Audit(ctx, flows.AuditEvent{Time: now, Subject: fmt.Sprintf("u%d", i), Action: "reset", Outcome: "ok"})
		}
		a.Close()
	}
	write(100, store.AuditOptions{})
	var shipped bytes.Buffer
	if m, err := store.NewShipper(rdb, auditship.NewLines(&shipped), quiet).ShipOnce(ctx); err != nil || m != 100 {
		t.Fatalf("shipped %d of 100: %v", m, err)
	}
	write(200, store.AuditOptions{})
	var told atomic.Int64
	a := store.NewAuditorWith(rdb, quiet, store.AuditOptions{MaxAge: time.Hour, Lost: func(n int) { told.Add(int64(n)) }})
	// its first write trims: an event two hours ahead puts the age cap an hour after the others
	a.Audit(ctx, flows.AuditEvent{Time: now.Add(2 * time.Hour), Subject: "late", Action: "reset", Outcome: "ok"})
	a.Close()
	if l, err := rdb.XLen(ctx, store.AuditStream).Result(); err != nil || l != 1 {
		t.Fatalf("the stream holds %d events (%v), want only the last one", l, err)
	}
	lost, err := a.LostEvents(ctx)
	if err != nil || lost != 200 || told.Load() != 200 {
		t.Fatalf("lost %d (%v), told %d: want the 200 never shipped, not the 100 shipped", lost, err, told.Load())
	}
}

// A person's events are found through their index in two round trips, however deep in the
// stream they lie: Bob's five events are written first, then 500,000 events of 50,000 others
// (in one server-side script, to keep the test fast), and `audit <user>` still finds his five.
func TestRecentFindsAPersonAmong500kEvents(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	a := store.NewAuditorWith(rdb, slog.New(slog.NewTextHandler(io.Discard, nil)), store.AuditOptions{MaxLen: 1_000_000})
	now := time.Now()
	for i := 0; i < 5; i++ {
		a.Audit(ctx, flows.AuditEvent{Time: now, Subject: "bob", Action: "verify", Outcome: "ok", Reason: "totp"})
	}
	a.Close()
	for part := 0; part < 20; part++ { // 25,000 a call, well inside the client's read timeout
		err := rdb.Eval(ctx, `for i = 1, 25000 do
  redis.call('XADD', KEYS[1], '*', 'time', ARGV[1], 'subject', 'u' .. (i % 50000), 'action', 'reminder', 'outcome', 'sent')
end
return 1`, []string{store.AuditStream}, now.UnixMilli()).Err()
		if err != nil {
			t.Fatal(err)
		}
	}
	// (a call the client timed out on and sent again adds more: at least 500,005)
	if n, _ := rdb.XLen(ctx, store.AuditStream).Result(); n < 500_005 {
		t.Fatalf("stream holds %d", n)
	}
	trips := &countTrips{}
	rdb.AddHook(trips)
	evs, err := a.Recent(ctx, "bob", 20)
	if err != nil || len(evs) != 5 {
		t.Fatalf("found %d of bob's 5 events: %v", len(evs), err)
	}
	for _, e := range evs {
		if e.Subject != "bob" || e.Action != "verify" {
			t.Fatalf("found %+v", e)
		}
	}
	if trips.n != 2 {
		t.Fatalf("%d round trips, want 2 (the index, then the events)", trips.n)
	}
}

type countTrips struct{ n int }

func (c *countTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *countTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "hello" { // a new connection's handshake is not a read
			c.n++
		}
		return next(ctx, cmd)
	}
}
func (c *countTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n++; return next(ctx, cmds) }
}

// gateHook holds the first script run until single is closed and the second (the first batch)
// until pipe is closed, and counts the round trips that run scripts (not the connection's set-up
// commands).
type gateHook struct {
	arrived, single, pipeArrived, pipe chan struct{}
	singleOnce, pipeOnce               *atomic.Bool
	trips                              *atomic.Int64
}

func (h gateHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h gateHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, c redis.Cmder) error {
		if c.Name() != "evalsha" && c.Name() != "eval" {
			return next(ctx, c)
		}
		h.trips.Add(1)
		if h.singleOnce.CompareAndSwap(false, true) {
			close(h.arrived)
			<-h.single
		} else if c.Name() == "evalsha" && h.pipeOnce.CompareAndSwap(false, true) {
			close(h.pipeArrived)
			<-h.pipe
		}
		return next(ctx, c)
	}
}
func (h gateHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cs []redis.Cmder) error { h.trips.Add(1); return next(ctx, cs) }
}

// Events that queue up while a write is under way go out together, up to 64 in one run of the
// script: all of them land, in the order they were audited, and each is counted and indexed.
// When Redis lost the script (a restart, SCRIPT FLUSH) while a batch was waiting, the batch is
// written again, once.
func TestAuditBatchesQueuedEventsInOrder(t *testing.T) {
	for _, flush := range []bool{false, true} {
		t.Run(fmt.Sprintf("script flushed %v", flush), func(t *testing.T) {
			srv := redistest.Start(t)
			rdb := srv.Client()
			ctx := context.Background()
			h := gateHook{arrived: make(chan struct{}), single: make(chan struct{}), pipeArrived: make(chan struct{}), pipe: make(chan struct{}), singleOnce: new(atomic.Bool), pipeOnce: new(atomic.Bool), trips: new(atomic.Int64)}
			rdb.AddHook(h)
			a := store.NewAuditorWith(rdb, slog.New(slog.NewTextHandler(io.Discard, nil)), store.AuditOptions{})
			now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
			const n = 300
			ev := func(i int) flows.AuditEvent {
				return flows.AuditEvent{Time: now, Subject: fmt.Sprintf("u%d", i%3), Actor: fmt.Sprintf("a%d", i), Action: "reset", Outcome: "ok", Reason: "user_password"}
			}
			// the first event's write is held while the rest queue up behind it
			a.Audit(ctx, ev(0))
			<-h.arrived
			for i := 1; i < n; i++ {
				a.Audit(ctx, ev(i))
			}
			close(h.single)
			closed := make(chan struct{})
			go func() { a.Close(); close(closed) }() // the queue is full: Close only waits for the writer
			select {
			case <-h.pipeArrived: // the first event is written, the next 64 wait in one script run
			case <-closed:
				t.Fatal("every queued event was written on its own")
			}
			if flush {
				// the first batch is held until Redis has forgotten the script
				other := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr, Network: rdb.Options().Network})
				defer other.Close()
				if err := other.ScriptFlush(ctx).Err(); err != nil {
					t.Fatal(err)
				}
			}
			close(h.pipe)
			<-closed
			trips := h.trips.Load()
			evs, err := store.Events(ctx, rdb)
			if err != nil || len(evs) != n {
				t.Fatalf("%d events in the stream (%v), want %d", len(evs), err, n)
			}
			for i, e := range evs {
				if e.Actor != fmt.Sprintf("a%d", i) {
					t.Fatalf("event %d is %s: out of order", i, e.Actor)
				}
			}
			c, err := a.DailyCounts(ctx, []string{flows.CountReset}, now, 1)
			if err != nil || c[flows.CountReset][0] != n {
				t.Fatalf("counted %v (%v), want %d", c, err, n)
			}
			if recent, err := a.Recent(ctx, "u1", 200); err != nil || len(recent) != n/3 {
				t.Fatalf("u1's index holds %d (%v), want %d", len(recent), err, n/3)
			}
			// one write alone (two round trips: the script is loaded), then ceil(299/64) = 5
			// batches; after a flush, the first batch goes again with the script's source
			want := int64(2 + 5)
			if flush {
				want++
			}
			if trips != want {
				t.Fatalf("%d round trips for %d queued events, want %d", trips, n, want)
			}
		})
	}
}

// Each event's values reach the stream as they were, whatever they hold (colons, digits,
// bytes beyond ASCII, nothing at all), next to the events of the same batch.
func TestAuditValuesSurviveTheBatchEncoding(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	a := store.NewAuditorWith(rdb, slog.New(slog.NewTextHandler(io.Discard, nil)), store.AuditOptions{})
	now := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	want := []flows.AuditEvent{
		{Time: now, Actor: "12:34", Subject: "u:1", Platform: "slack", Action: "reset", Outcome: "ok", Reason: "3:abc"},
		{Time: now.Add(time.Millisecond), Actor: "", Subject: "", Platform: "", Action: "policy", Outcome: "", Reason: ""},
		{Time: now.Add(2 * time.Millisecond), Actor: "Zoë 🙂", Subject: "élise", Platform: "teams", Action: "verify", Outcome: "failed", Reason: "totp"},
	}
	for _, e := range want {
		a.Audit(ctx, e)
	}
	a.Close()
	got, err := store.Events(ctx, rdb)
	if err != nil || len(got) != len(want) {
		t.Fatalf("%d events (%v)", len(got), err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d came back as %+v, want %+v", i, got[i], want[i])
		}
	}
	if evs, err := a.Recent(ctx, "u:1", 5); err != nil || len(evs) != 1 || evs[0] != want[0] {
		t.Errorf("u:1's index gave %+v (%v)", evs, err)
	}
}
