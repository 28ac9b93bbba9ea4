package store

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/redistest"
)

// A person's index keeps their newest SubjectMaxLen ids, trimmed only by a push that takes it
// past the cap (not after every push), and gets its lifetime once per batch whatever number of
// their events the batch holds; every event is still written, counted and indexed. The ids of
// consecutive events of one person go in one push, and a counter is added to once per batch.
func TestAuditIndexTrimsOnlyPastItsCapAndExpiresOncePerBatch(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	a := NewAuditorWith(rdb, slog.New(slog.NewTextHandler(io.Discard, nil)), AuditOptions{})
	defer a.Close()
	now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	ev := func(subject, action string) flows.AuditEvent {
		return flows.AuditEvent{Time: now, Actor: "slack:T1:U1", Subject: subject, Platform: "slack", Action: action, Outcome: "ok"}
	}
	var first, second []flows.AuditEvent
	for i := 0; i < 60; i++ {
		first = append(first, ev("bob", "reset"))
	}
	for i := 0; i < 60; i++ { // bob's pushes 101 to 120 each take his index past the cap
		second = append(second, ev("bob", "reset"))
		if i%12 == 0 {
			second = append(second, ev("carol", "unblock"), ev("", "policy"))
		}
	}
	resetStats(t, rdb)
	a.writeBatch(ctx, first)
	a.writeBatch(ctx, second)

	// bob's pushes: the first batch's 60 at once; in the second, carol's events split his into
	// runs of 1, 12, 12, 12, 12 and 11 ids, the last two each taking his index past the cap
	if pushes, _ := commandStat(t, rdb, "lpush"); pushes != 12 {
		t.Errorf("%d pushes to the indexes, want 12: bob's 7 runs and carol's 5 events", pushes)
	}
	if trims, _ := commandStat(t, rdb, "ltrim"); trims != 2 {
		t.Errorf("%d trims of the indexes, want 2: one per push past the cap of %d", trims, SubjectMaxLen)
	}
	incr, _ := commandStat(t, rdb, "incr")
	if incrby, _ := commandStat(t, rdb, "incrby"); incr != 0 || incrby != 2 {
		t.Errorf("%d INCRs and %d INCRBYs of the reset counter, want 0 and 2: once per batch", incr, incrby)
	}
	if expires, _ := commandStat(t, rdb, "expire"); expires != 3 {
		t.Errorf("%d EXPIREs, want 3: bob's index in each batch, carol's once", expires)
	}
	all, err := Events(ctx, rdb)
	if err != nil || len(all) != len(first)+len(second) {
		t.Fatalf("%d events in the stream (%v), want %d", len(all), err, len(first)+len(second))
	}
	ids, err := rdb.XRange(ctx, AuditStream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var bob []string
	for _, m := range ids {
		if m.Values["subject"] == "bob" {
			bob = append([]string{m.ID}, bob...) // newest first
		}
	}
	if got, err := rdb.LRange(ctx, subjectKey("bob"), 0, -1).Result(); err != nil || !slices.Equal(got, bob[:SubjectMaxLen]) {
		t.Errorf("bob's index holds %d ids (%v), want his newest %d, newest first", len(got), err, SubjectMaxLen)
	}
	if n, _ := rdb.LLen(ctx, subjectKey("carol")).Result(); n != 5 {
		t.Errorf("carol's index holds %d ids, want 5", n)
	}
	if n, _ := rdb.Exists(ctx, subjectKey("")).Result(); n != 0 {
		t.Error("an event with no subject was indexed")
	}
	for _, who := range []string{"bob", "carol"} {
		if ttl, err := rdb.TTL(ctx, subjectKey(who)).Result(); err != nil || ttl < countLifetime-time.Minute || ttl > countLifetime {
			t.Errorf("%s's index lives %v (%v), want %v", who, ttl, err, countLifetime)
		}
	}
	c, err := a.DailyCounts(ctx, []string{flows.CountReset}, now, 1)
	if err != nil || c[flows.CountReset][0] != 120 {
		t.Errorf("resets counted %v (%v), want 120", c, err)
	}
}

// A batch stores what its events one at a time would: on redis-server and on the demo's
// miniredis (gopher-lua), interleaved people's indexes hold their ids newest first (an event
// without a subject between one person's events leaves their run as it is), each counter
// has all of its kind's events (a new counter gets its lifetime), an event already counted today
// adds to its counter, and events without a subject are written but not indexed.
func TestAuditBatchStoresWhatOneEventAtATimeWould(t *testing.T) {
	for name, rdb := range map[string]redis.UniversalClient{
		"redis-server": redistest.Start(t).Client(),
		"miniredis":    redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()}),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a := NewAuditorWith(rdb, slog.New(slog.NewTextHandler(io.Discard, nil)), AuditOptions{})
			defer a.Close()
			now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
			ev := func(subject, action, reason string) flows.AuditEvent {
				return flows.AuditEvent{Time: now, Actor: "slack:T1:U1", Subject: subject, Platform: "slack", Action: action, Outcome: "ok", Reason: reason}
			}
			a.writeBatch(ctx, []flows.AuditEvent{ev("bob", "reset", "user_password")})
			batch := []flows.AuditEvent{ev("bob", "verify", "totp"), ev("bob", "reset", "user_password"), ev("carol", "reset", "user_password"),
				ev("", "policy", ""), ev("bob", "unlock", "unlocked"), ev("carol", "verify", "totp"), ev("", "policy", ""), ev("carol", "block", "")}
			// the keys the script needs only: an index where another person's events start (an
			// event without a subject starts none), a counter where an event counts
			if keys, _ := auditArgs(batch, a.fixed); len(keys) != 3+4+6 {
				t.Errorf("%d keys for the batch, want 13: the stream's 3, 4 indexes, 6 counters", len(keys))
			}
			a.writeBatch(ctx, batch)
			all, err := Events(ctx, rdb)
			if err != nil || len(all) != 1+len(batch) {
				t.Fatalf("%d events (%v), want %d", len(all), err, 1+len(batch))
			}
			for who, want := range map[string][]string{"bob": {"unlock", "reset", "verify", "reset"}, "carol": {"block", "verify", "reset"}} {
				got, err := a.Recent(ctx, who, 10)
				var actions []string
				for _, e := range got {
					actions = append(actions, e.Action)
				}
				if err != nil || !slices.Equal(actions, want) {
					t.Errorf("%s's index: %v (%v), want %v", who, actions, err, want)
				}
			}
			if n, _ := rdb.Exists(ctx, subjectKey("")).Result(); n != 0 {
				t.Error("an event with no subject was indexed")
			}
			kinds := []string{flows.CountReset, flows.CountUnlock, flows.CountVerified(flows.MethodTOTP), flows.CountBlock}
			c, err := a.DailyCounts(ctx, kinds, now, 1)
			if err != nil {
				t.Fatal(err)
			}
			for kind, want := range map[string]int64{flows.CountReset: 3, flows.CountUnlock: 1, flows.CountVerified(flows.MethodTOTP): 2, flows.CountBlock: 1} {
				if c[kind][0] != want {
					t.Errorf("%s counted %d, want %d", kind, c[kind][0], want)
				}
				if ttl, err := rdb.TTL(ctx, countKey(kind, now)).Result(); err != nil || ttl < countLifetime-time.Minute || ttl > countLifetime {
					t.Errorf("%s's counter lives %v (%v), want %v", kind, ttl, err, countLifetime)
				}
			}
		})
	}
}

// The events audited while the writer gathers a batch (the first one woke it) are written
// together, in order, with one run of audit.lua, and nothing is written before the gathering
// ends; Close ends a gathering at once and writes what it gathered.
func TestAuditEventsGatherIntoOneWrite(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	if err := auditScript.Load(ctx, rdb).Err(); err != nil { // (no NOSCRIPT round trip to count)
		t.Fatal(err)
	}
	resetStats(t, rdb)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gathering, release := make(chan struct{}), make(chan struct{})
	gather := func(closing, _ <-chan struct{}) {
		gathering <- struct{}{}
		select {
		case <-release:
		case <-closing:
		}
	}
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	ev := func(i int) flows.AuditEvent {
		return flows.AuditEvent{Time: now, Actor: "slack:T1:U1", Subject: "bob", Platform: "slack", Action: "verify", Outcome: "ok", Reason: strconv.Itoa(i)}
	}
	scripts := func() int64 {
		sha, _ := commandStat(t, rdb, "evalsha")
		src, _ := commandStat(t, rdb, "eval")
		return sha + src
	}
	a := newAuditor(rdb, log, AuditOptions{})
	a.start(gather)
	a.Audit(ctx, ev(0))
	<-gathering
	for i := 1; i < 6; i++ {
		a.Audit(ctx, ev(i))
	}
	if n := scripts(); n != 0 {
		t.Fatalf("%d script runs while the batch gathers, want none", n)
	}
	close(release)
	a.Close()
	if n := scripts(); n != 1 {
		t.Fatalf("%d script runs for 6 events gathered, want 1", n)
	}
	// a gathering that Close ends (release stays closed for a, open for b)
	release = make(chan struct{})
	b := newAuditor(rdb, log, AuditOptions{})
	b.start(gather)
	b.Audit(ctx, ev(6))
	<-gathering
	b.Close() // returns: the gathering ends with it
	if n := scripts(); n != 2 {
		t.Fatalf("%d script runs after Close, want 2", n)
	}
	evs, err := Events(ctx, rdb)
	if err != nil || len(evs) != 7 {
		t.Fatalf("%d events (%v), want 7", len(evs), err)
	}
	for i, e := range evs {
		if e.Reason != strconv.Itoa(i) {
			t.Fatalf("event %d is %q: out of order", i, e.Reason)
		}
	}
}

// A reader of the trail (an admin's "audit <user>", the report's day counts, the export) sees
// every event audited before it: it hurries the batch that gathers and waits for its write.
func TestAuditReadersSeeEventsStillGathering(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	gathering := make(chan struct{}, 1)
	a := newAuditor(rdb, slog.New(slog.NewTextHandler(io.Discard, nil)), AuditOptions{})
	a.start(func(closing, hurry <-chan struct{}) {
		gathering <- struct{}{}
		select { // no timer: only a reader or Close ends the gathering
		case <-hurry:
		case <-closing:
		}
	})
	defer a.Close()
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	for i, read := range []func() (int, error){
		func() (int, error) { evs, err := a.Recent(ctx, "bob", 10); return len(evs), err },
		func() (int, error) {
			c, err := a.DailyCounts(ctx, []string{flows.CountReset}, now, 1)
			return int(c[flows.CountReset][0]), err
		},
		func() (int, error) {
			n := 0
			err := a.Since(ctx, now.Add(-time.Hour), func(flows.AuditEvent) { n++ })
			return n, err
		},
	} {
		a.Audit(ctx, flows.AuditEvent{Time: now, Actor: "slack:T1:U1", Subject: "bob", Platform: "slack", Action: "reset", Outcome: "ok", Reason: "user_chosen"})
		<-gathering
		if n, err := read(); err != nil || n != i+1 {
			t.Fatalf("reader %d saw %d events (%v), want %d", i, n, err, i+1)
		}
	}
}

// A reader of the trail waits for the writer no longer than its context allows: a writer held
// (a Redis that does not answer) does not hold an admin's audit query, the report or an export.
func TestAuditReadersGiveUpWithTheirContext(t *testing.T) {
	rdb := redistest.Start(t).Client()
	held := make(chan struct{})
	gathering := make(chan struct{}, 1)
	a := newAuditor(rdb, slog.New(slog.NewTextHandler(io.Discard, nil)), AuditOptions{})
	a.start(func(closing, hurry <-chan struct{}) {
		gathering <- struct{}{}
		select { // a held writer: a reader's hurry does not move it
		case <-held:
		case <-closing:
		}
	})
	defer a.Close()
	defer close(held)
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	a.Audit(context.Background(), flows.AuditEvent{Time: now, Actor: "slack:T1:U1", Subject: "bob", Platform: "slack", Action: "reset", Outcome: "ok"})
	<-gathering
	for i, read := range []func(context.Context) error{
		func(ctx context.Context) error { _, err := a.Recent(ctx, "bob", 10); return err },
		func(ctx context.Context) error {
			_, err := a.DailyCounts(ctx, []string{flows.CountReset}, now, 1)
			return err
		},
		func(ctx context.Context) error { return a.Since(ctx, now.Add(-time.Hour), func(flows.AuditEvent) {}) },
	} {
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan error, 1)
		go func() { res <- read(ctx) }()
		cancel()
		select {
		case err := <-res:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("reader %d: %v, want its context's end", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("reader %d still waits for the held writer after its context ended", i)
		}
	}
}
