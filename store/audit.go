package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
)

// AuditStream is the Redis stream of security events. Every audit key hashes to its slot: the
// stream key has no braces, so Cluster hashes "audit", as it does the tag {audit}.
const AuditStream = "audit"

const (
	auditShippedKey = "{audit}:shipped" // the id of the last event shipped
	auditLostKey    = "{audit}:lost"    // events trimmed before they were shipped
	auditShipLease  = "{audit}:shipper" // which replica ships now
)

// countKey is one kind's counter for one UTC day.
func countKey(kind string, day time.Time) string {
	var b [64]byte
	return string(appendCountKey(b[:0], kind, day))
}

// appendCountKey appends countKey(kind, day), countKeyLen(kind) bytes.
func appendCountKey(b []byte, kind string, day time.Time) []byte {
	b = append(b, auditCountPrefix...)
	b = append(b, kind...)
	b = append(b, ':')
	return day.UTC().AppendFormat(b, "2006-01-02")
}

func countKeyLen(kind string) int { return len(auditCountPrefix) + len(kind) + len(":2006-01-02") }

// subjectKey is a person's index: the ids of their latest events, newest first.
func subjectKey(subject string) string { return auditIndexPrefix + subject }

// the prefixes of a subject's index and of a day's counter
const (
	auditIndexPrefix = "{audit}:u:"
	auditCountPrefix = "{audit}:n:"
)

// Defaults of the audit settings.
const (
	AuditMaxLen   = 100_000 // events the stream keeps (AUDIT_MAX_EVENTS)
	SubjectMaxLen = 100     // ids a person's index keeps
	countLifetime = 400 * 24 * time.Hour
)

// AuditOptions are the audit writer's settings; zero values take the defaults.
type AuditOptions struct {
	MaxAge time.Duration // drop older events (0 keeps them until the length cap)
	MaxLen int           // the stream's cap
	// Lost is told how many events the cap trimmed before they were shipped (a metric).
	Lost func(n int)
}

// Auditor writes audit events to the stream from a background goroutine, so a step never
// waits for them, in batches that gather for a few milliseconds (auditGather). Each write also
// counts the event in its day's counter and indexes it under its subject, in the same script
// (store/audit.lua). Its readers see every event audited before them; Close flushes.
type Auditor struct {
	rdb      redis.UniversalClient
	log      *slog.Logger
	ch       chan flows.AuditEvent
	wg       sync.WaitGroup
	mu       sync.RWMutex
	closed   bool
	writes   atomic.Uint64
	o        AuditOptions
	lastWarn atomic.Int64  // unix seconds of the last ALERT line about lost events
	lostSum  atomic.Int64  // lost events since that line
	fixed    [3]any        // audit.lua's first arguments (the caps and the lifetime), boxed once
	closing  chan struct{} // closed by Close: a batch gathering more events goes at once
	hurry    chan struct{} // (one slot) a reader waits: the batch gathering goes at once
	// gather waits while a batch gathers (auditGather in production; tests hold it)
	gather func(closing, hurry <-chan struct{})
	queued atomic.Uint64 // events handed to the writer so far
	wmu    sync.Mutex
	wrote  chan struct{} // closed (and replaced) by the writer after each batch, under wmu
	done   uint64        // events the writer is done with (written or logged as failed), under wmu
}

var (
	_ flows.Auditor     = (*Auditor)(nil)
	_ flows.AuditReader = (*Auditor)(nil)
	_ flows.DailyCounts = (*Auditor)(nil)
)

var (
	auditScript    = script("audit.lua", "lib_window_key.lua")
	auditAgeScript = script("audit_age.lua")
)

// NewAuditor starts the writer; maxAge (when given and above zero) drops older events.
func NewAuditor(rdb redis.UniversalClient, log *slog.Logger, maxAge ...time.Duration) *Auditor {
	o := AuditOptions{}
	if len(maxAge) > 0 {
		o.MaxAge = maxAge[0]
	}
	return NewAuditorWith(rdb, log, o)
}

// NewAuditorWith starts the writer with settings.
func NewAuditorWith(rdb redis.UniversalClient, log *slog.Logger, o AuditOptions) *Auditor {
	a := newAuditor(rdb, log, o)
	a.start(sleepGathering())
	return a
}

// newAuditor is an Auditor whose writer is not started yet.
func newAuditor(rdb redis.UniversalClient, log *slog.Logger, o AuditOptions) *Auditor {
	if o.MaxLen <= 0 {
		o.MaxLen = AuditMaxLen
	}
	a := &Auditor{rdb: rdb, log: log, ch: make(chan flows.AuditEvent, 4096), o: o,
		fixed:   [3]any{o.MaxLen, SubjectMaxLen, int64(countLifetime / time.Second)},
		closing: make(chan struct{}), hurry: make(chan struct{}, 1)}
	a.wrote = make(chan struct{})
	return a
}

// start starts the writer, which waits with gather while a batch gathers.
func (a *Auditor) start(gather func(closing, hurry <-chan struct{})) {
	a.gather = gather
	a.wg.Add(1)
	go a.run()
}

// Audit queues one event; when the queue is full, or the writer has stopped, it writes in line
// rather than drop it.
func (a *Auditor) Audit(ctx context.Context, e flows.AuditEvent) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.closed {
		select {
		case a.ch <- e:
			a.queued.Add(1)
			return
		default:
		}
	}
	a.write(context.WithoutCancel(ctx), e)
}

// auditBatch is how many queued events the writer sends in one run of audit.lua at most. The
// script writes them in order, each with its count and index, atomically; batching saves a round
// trip and a script run per event when events queue up, as they do under load.
const auditBatch = 64

// auditGather is how long the writer lets a batch gather after the first event that found it
// idle, before it writes what has queued. A recovery audits about six events a few milliseconds
// apart: written as each came, every one woke the writer (a thread woken, a goroutine switched
// to) and cost a round trip and a run of audit.lua of its own, even at one recovery at a time.
// While the writer waits on its timer, Audit only queues (nobody is woken), so a batch costs two
// wake-ups (its first event, the timer) and one round trip whatever it holds. The events wait in
// the process 10 ms longer than before, as they waited for the writer before: audit writes
// were never part of a step (a step never waits for them), and Close writes what is queued
// without waiting out the timer, as a reader of the trail does (see flush).
const auditGather = 10 * time.Millisecond

// sleepGathering returns the writer's wait while a batch gathers: auditGather, or until closing
// is closed or a reader hurries it. (One timer for every batch: since Go 1.23 a Reset timer
// delivers no earlier expiry.)
func sleepGathering() func(closing, hurry <-chan struct{}) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return func(closing, hurry <-chan struct{}) {
		t.Reset(auditGather)
		select {
		case <-t.C:
		case <-closing:
			t.Stop()
		case <-hurry:
			t.Stop()
		}
	}
}

// flush waits until the writer is done with every event queued before the call, hurrying the
// batch that gathers: the admins' and the report's reads of the trail see every event audited
// before them (no later than they did when the writer wrote each event as it came). It gives
// up when ctx ends (a Redis that does not answer holds the writer), with ctx's error.
func (a *Auditor) flush(ctx context.Context) error {
	target := a.queued.Load()
	for hurried := false; ; hurried = true {
		a.wmu.Lock()
		done, wrote := a.done, a.wrote
		a.wmu.Unlock()
		if done >= target {
			return nil
		}
		if !hurried {
			select {
			case a.hurry <- struct{}{}:
			default: // hurried already
			}
		}
		select {
		case <-wrote:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (a *Auditor) run() {
	defer a.wg.Done()
	batch := make([]flows.AuditEvent, 0, auditBatch)
	for e := range a.ch {
		if len(a.ch) < auditBatch-1 { // (a full batch waiting already goes at once)
			a.gather(a.closing, a.hurry)
		}
		batch = append(batch[:0], e)
	fill:
		for len(batch) < auditBatch {
			select {
			case e, ok := <-a.ch:
				if !ok {
					break fill
				}
				batch = append(batch, e)
			default:
				break fill
			}
		}
		a.writeBatch(context.Background(), batch)
		a.wmu.Lock()
		a.done += uint64(len(batch))
		close(a.wrote)
		a.wrote = make(chan struct{})
		a.wmu.Unlock()
	}
}

// write writes one event.
func (a *Auditor) write(ctx context.Context, e flows.AuditEvent) {
	a.writeBatch(ctx, []flows.AuditEvent{e})
}

// writeBatch writes events in order with one run of audit.lua (sent whole when Redis no longer
// holds the script: nothing ran then).
func (a *Auditor) writeBatch(ctx context.Context, batch []flows.AuditEvent) {
	for _, e := range batch {
		a.trimAge(ctx, e)
	}
	keys, args := auditArgs(batch, a.fixed)
	lost, err := run(ctx, a.rdb, auditScript, keys, args).Int64()
	if err != nil {
		for _, e := range batch {
			a.log.Error("audit write failed", "err", err, "action", e.Action, "subject", e.Subject)
		}
		return
	}
	if lost > 0 {
		a.lost(int(lost))
	}
}

// trimAge runs the age cap every 256 writes.
func (a *Auditor) trimAge(ctx context.Context, e flows.AuditEvent) {
	if n := a.writes.Add(1); a.o.MaxAge > 0 && n%256 == 1 {
		// age cap: drop entries older than MaxAge, counting the unshipped ones (the length cap
		// is on every write, in audit.lua)
		minID := strconv.FormatInt(e.Time.Add(-a.o.MaxAge).UnixMilli(), 10) + "-0"
		lost, err := auditAgeScript.Run(ctx, a.rdb, []string{AuditStream, auditShippedKey, auditLostKey}, minID).Int64()
		if err != nil {
			a.log.Error("audit trim failed", "err", err)
		} else if lost > 0 {
			a.lost(int(lost))
		}
	}
}

// auditArgs are the keys and arguments of audit.lua for a batch of events: the keys an event
// needs (its subject's index when it starts a run of that subject's events, its kind's counter
// when it counts; each key costs Redis its copy into Lua), and its seven values each an argument
// of its own, so the script parses nothing. The values go as pointers into batch (go-redis writes
// a *string as its string, a *int64 as its number), not boxed one by one: batch must not change
// until the command has run. The counting flags and the keys are built into one string.
func auditArgs(batch []flows.AuditEvent, fixed [3]any) ([]string, []any) {
	n := len(batch)
	kinds := make([]string, n)
	size, nkeys := n, 3 // the flags; the stream's keys
	prev := ""          // the subject of the latest event with one
	for i, e := range batch {
		kinds[i] = flows.CountKind(e)
		if e.Subject != "" && e.Subject != prev {
			size += len(auditIndexPrefix) + len(e.Subject)
			nkeys++
			prev = e.Subject
		}
		if kinds[i] != "" {
			size += countKeyLen(kinds[i])
			nkeys++
		}
	}
	var b strings.Builder
	b.Grow(size)
	for _, kind := range kinds {
		b.WriteByte(flag(kind != ""))
	}
	ends := make([]int, 0, nkeys-3)
	prev = ""
	for i, e := range batch {
		if e.Subject != "" && e.Subject != prev {
			b.WriteString(auditIndexPrefix)
			b.WriteString(e.Subject)
			ends = append(ends, b.Len())
			prev = e.Subject
		}
		if kinds[i] != "" {
			var k [64]byte
			b.Write(appendCountKey(k[:0], kinds[i], e.Time))
			ends = append(ends, b.Len())
		}
	}
	all := b.String()
	sc := &auditScratch{flags: all[:n], times: make([]int64, n)}
	keys := make([]string, 3, nkeys)
	keys[0], keys[1], keys[2] = AuditStream, auditShippedKey, auditLostKey
	pos := n
	for _, end := range ends {
		keys = append(keys, all[pos:end])
		pos = end
	}
	for i, e := range batch {
		sc.times[i] = e.Time.UnixMilli()
	}
	args := append(make([]any, 0, 4+7*n), fixed[:]...)
	args = append(args, &sc.flags)
	for i := range batch {
		e := &batch[i]
		args = append(args, &sc.times[i], &e.Actor, &e.Subject, &e.Platform, &e.Action, &e.Outcome, &e.Reason)
	}
	return keys, args
}

// auditScratch holds the arguments of audit.lua that are not in the events themselves.
type auditScratch struct {
	flags string  // one byte per event: '1' when it counts
	times []int64 // each event's time, Unix ms
}

func flag(b bool) byte {
	if b {
		return '1'
	}
	return '0'
}

// lost reports events the cap trimmed before they were shipped: to the metric at once, and as
// an ALERT log line at most once a minute with the number since the last line.
func (a *Auditor) lost(n int) {
	if a.o.Lost != nil {
		a.o.Lost(n)
	}
	sum := a.lostSum.Add(int64(n))
	now := time.Now().Unix()
	if last := a.lastWarn.Load(); now-last >= 60 && a.lastWarn.CompareAndSwap(last, now) {
		a.lostSum.Add(-sum)
		a.log.Error("ALERT audit events trimmed before they were shipped: raise AUDIT_MAX_EVENTS or AUDIT_MAX_AGE_DAYS, or fix the audit shipping",
			"events", sum, "cap", a.o.MaxLen)
	}
}

// LostEvents is how many events the cap has trimmed before they were shipped, in all.
func (a *Auditor) LostEvents(ctx context.Context) (int64, error) {
	n, err := a.rdb.Get(ctx, auditLostKey).Int64()
	if err == redis.Nil {
		return 0, nil
	}
	return n, err
}

// DailyCounts reads the day counters of kinds for days UTC days ending with last's, newest first,
// in one round trip (they share a slot).
func (a *Auditor) DailyCounts(ctx context.Context, kinds []string, last time.Time, days int) (map[string][]int64, error) {
	if err := a.flush(ctx); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(kinds)*days)
	for _, k := range kinds {
		for d := 0; d < days; d++ {
			keys = append(keys, countKey(k, last.UTC().AddDate(0, 0, -d)))
		}
	}
	vals, err := a.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("store: daily counts: %w", err)
	}
	out := make(map[string][]int64, len(kinds))
	for i, k := range kinds {
		row := make([]int64, days)
		for d := range row {
			if s, ok := vals[i*days+d].(string); ok {
				row[d], _ = strconv.ParseInt(s, 10, 64)
			}
		}
		out[k] = row
	}
	return out, nil
}

// Close flushes queued events and stops the writer.
func (a *Auditor) Close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.closing)
		close(a.ch)
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// Events reads the whole stream (tests and export).
func Events(ctx context.Context, rdb redis.UniversalClient) ([]flows.AuditEvent, error) {
	msgs, err := rdb.XRange(ctx, AuditStream, "-", "+").Result()
	if err != nil {
		return nil, err
	}
	out := make([]flows.AuditEvent, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, decodeEvent(m))
	}
	return out, nil
}

func decodeEvent(m redis.XMessage) flows.AuditEvent {
	g := func(k string) string { s, _ := m.Values[k].(string); return s }
	ms, _ := strconv.ParseInt(g("time"), 10, 64)
	return flows.AuditEvent{Time: time.UnixMilli(ms).UTC(), Actor: g("actor"), Subject: g("subject"), Platform: g("platform"),
		Action: g("action"), Outcome: g("outcome"), Reason: g("reason")}
}

// Recent returns up to n of a subject's events, newest first, through the subject's index: two
// round trips, whatever the stream holds. Events the stream has already trimmed are left out.
func (a *Auditor) Recent(ctx context.Context, subject string, n int) ([]flows.AuditEvent, error) {
	if err := a.flush(ctx); err != nil {
		return nil, err
	}
	ids, err := a.rdb.LRange(ctx, subjectKey(subject), 0, int64(n)-1).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	cmds := make([]*redis.XMessageSliceCmd, len(ids))
	if _, err := a.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.XRange(ctx, AuditStream, id, id)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]flows.AuditEvent, 0, len(ids))
	for _, c := range cmds {
		for _, m := range c.Val() {
			out = append(out, decodeEvent(m))
		}
	}
	return out, nil
}

// Export writes every event from since on (zero: all) as one JSON object per line, oldest
// first, for a SIEM.
func Export(ctx context.Context, rdb redis.UniversalClient, w io.Writer, since time.Time) (int, error) {
	start, n := "-", 0
	if !since.IsZero() {
		start = strconv.FormatInt(since.UnixMilli(), 10) + "-0"
	}
	enc := json.NewEncoder(w)
	for {
		recs, err := readAfter(ctx, rdb, start, 1000)
		if err != nil {
			return n, err
		}
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return n, err
			}
			n++
		}
		if len(recs) < 1000 {
			return n, nil
		}
		start = "(" + recs[len(recs)-1].ID
	}
}

// readAfter reads up to n records from start ("-", an id, or "(" and an id to exclude it).
func readAfter(ctx context.Context, rdb redis.UniversalClient, start string, n int64) ([]flows.AuditRecord, error) {
	msgs, err := rdb.XRangeN(ctx, AuditStream, start, "+", n).Result()
	if err != nil {
		return nil, err
	}
	out := make([]flows.AuditRecord, len(msgs))
	for i, m := range msgs {
		out[i] = flows.AuditRecord{ID: m.ID, AuditEvent: decodeEvent(m)}
	}
	return out, nil
}

// Since calls fn for every event from since on, oldest first.
func (a *Auditor) Since(ctx context.Context, since time.Time, fn func(flows.AuditEvent)) error {
	if err := a.flush(ctx); err != nil {
		return err
	}
	start := strconv.FormatInt(since.UnixMilli(), 10) + "-0"
	first := true
	for {
		msgs, err := a.rdb.XRangeN(ctx, AuditStream, start, "+", 1000).Result()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if !first && m.ID == start {
				continue
			}
			fn(decodeEvent(m))
		}
		if len(msgs) < 1000 {
			return nil
		}
		start, first = msgs[len(msgs)-1].ID, false
	}
}
