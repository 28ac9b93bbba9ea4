package store

import (
	"context"
	"log/slog"
	"strconv"
	"sync"

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
}

var _ flows.Auditor = (*Auditor)(nil)

// NewAuditor starts the writer.
func NewAuditor(rdb redis.UniversalClient, log *slog.Logger) *Auditor {
	a := &Auditor{rdb: rdb, log: log, ch: make(chan flows.AuditEvent, 4096)}
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
		g := func(k string) string { s, _ := m.Values[k].(string); return s }
		out = append(out, flows.AuditEvent{Actor: g("actor"), Subject: g("subject"), Platform: g("platform"),
			Action: g("action"), Outcome: g("outcome"), Reason: g("reason")})
	}
	return out, nil
}
