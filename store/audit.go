package store

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
)

// AuditStream is the Redis stream of security events.
const AuditStream = "audit"

// AuditMaxLen caps the stream (approximately).
const AuditMaxLen = 100_000

// Auditor writes audit events to the stream from a background goroutine, so a step never
// waits for them. Close flushes.
type Auditor struct {
	rdb    redis.UniversalClient
	log    *slog.Logger
	ch     chan flows.AuditEvent
	wg     sync.WaitGroup
	mu     sync.RWMutex
	closed bool
	writes atomic.Uint64
	maxAge time.Duration // 0 keeps events until the length cap
}

var _ flows.Auditor = (*Auditor)(nil)

// NewAuditor starts the writer; maxAge (when given and above zero) drops older events.
func NewAuditor(rdb redis.UniversalClient, log *slog.Logger, maxAge ...time.Duration) *Auditor {
	a := &Auditor{rdb: rdb, log: log, ch: make(chan flows.AuditEvent, 4096)}
	if len(maxAge) > 0 {
		a.maxAge = maxAge[0]
	}
	a.wg.Add(1)
	go a.run()
	return a
}

// Audit queues one event; when the queue is full, or the writer has stopped, it writes in line
// rather than drop it.
func (a *Auditor) Audit(ctx context.Context, e flows.AuditEvent) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.closed {
		select {
		case a.ch <- e:
			return
		default:
		}
	}
	a.write(context.WithoutCancel(ctx), e)
}

func (a *Auditor) run() {
	defer a.wg.Done()
	for e := range a.ch {
		a.write(context.Background(), e)
	}
}

func (a *Auditor) write(ctx context.Context, e flows.AuditEvent) {
	if n := a.writes.Add(1); a.maxAge > 0 && n%256 == 1 {
		// age cap: drop entries older than MaxAge (the length cap is on every XADD)
		minID := strconv.FormatInt(e.Time.Add(-a.maxAge).UnixMilli(), 10) + "-0"
		if err := a.rdb.XTrimMinIDApprox(ctx, AuditStream, minID, 0).Err(); err != nil {
			a.log.Error("audit trim failed", "err", err)
		}
	}
	err := a.rdb.XAdd(ctx, &redis.XAddArgs{Stream: AuditStream, MaxLen: AuditMaxLen, Approx: true, Values: []any{
		"time", strconv.FormatInt(e.Time.UnixMilli(), 10), "actor", e.Actor, "subject", e.Subject,
		"platform", e.Platform, "action", e.Action, "outcome", e.Outcome, "reason", e.Reason,
	}}).Err()
	if err != nil {
		a.log.Error("audit write failed", "err", err, "action", e.Action, "subject", e.Subject)
	}
}

// Close flushes queued events and stops the writer.
func (a *Auditor) Close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
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

// recentScan bounds how far back Recent looks.
const recentScan = 10_000

// Recent returns up to n of a subject's events, newest first, from the latest entries.
func (a *Auditor) Recent(ctx context.Context, subject string, n int) ([]flows.AuditEvent, error) {
	var out []flows.AuditEvent
	end, seen := "+", 0
	for len(out) < n && seen < recentScan {
		msgs, err := a.rdb.XRevRangeN(ctx, AuditStream, end, "-", 500).Result()
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.ID == end {
				continue
			}
			seen++
			if e := decodeEvent(m); e.Subject == subject {
				out = append(out, e)
				if len(out) == n {
					break
				}
			}
		}
		if len(msgs) < 500 {
			break
		}
		end = msgs[len(msgs)-1].ID
	}
	return out, nil
}

// Export writes every event as one JSON object per line, oldest first, for a SIEM.
func Export(ctx context.Context, rdb redis.UniversalClient, w io.Writer) (int, error) {
	start, n := "-", 0
	enc := json.NewEncoder(w)
	for {
		msgs, err := rdb.XRangeN(ctx, AuditStream, start, "+", 1000).Result()
		if err != nil {
			return n, err
		}
		for _, m := range msgs {
			if m.ID == start {
				continue
			}
			e := decodeEvent(m)
			if err := enc.Encode(map[string]string{"id": m.ID, "time": e.Time.Format(time.RFC3339Nano), "actor": e.Actor,
				"subject": e.Subject, "platform": e.Platform, "action": e.Action, "outcome": e.Outcome, "reason": e.Reason}); err != nil {
				return n, err
			}
			n++
		}
		if len(msgs) < 1000 {
			return n, nil
		}
		start = msgs[len(msgs)-1].ID
	}
}

// Since calls fn for every event from since on, oldest first.
func (a *Auditor) Since(ctx context.Context, since time.Time, fn func(flows.AuditEvent)) error {
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
