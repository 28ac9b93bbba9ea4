package slack

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/flows"
)

// tierInterval is the spacing between calls of one method (per channel for chat.postMessage),
// from Slack's rate-limit tiers: Tier 3 about 50 a minute, Tier 4 about 100 a minute,
// chat.postMessage about one a second per channel.
func tierInterval(method string) time.Duration {
	name, _, _ := strings.Cut(method, ":")
	switch name {
	case "chat.postMessage":
		return time.Second
	case "conversations.open", "chat.update", "users.lookupByEmail":
		return 1200 * time.Millisecond
	case "users.list": // Tier 2
		return 3 * time.Second
	case "users.info", "views.publish", "chat.postEphemeral":
		return 600 * time.Millisecond
	}
	return time.Second
}

// limiter spaces calls per method and honours Retry-After, on the injected clock.
type limiter struct {
	clock flows.Clock
	sleep func(ctx context.Context, d time.Duration) error
	mu    sync.Mutex
	next  map[string]time.Time
	burst int
}

func newLimiter(c flows.Clock, sleep func(context.Context, time.Duration) error) *limiter {
	return &limiter{clock: c, sleep: sleep, next: map[string]time.Time{}, burst: 5}
}

// wait blocks until method may be called. A short burst is allowed before spacing applies.
func (l *limiter) wait(ctx context.Context, method string) error {
	l.mu.Lock()
	now := l.clock.Now()
	at := l.next[method]
	iv := tierInterval(method)
	start := at
	if start.Before(now.Add(-time.Duration(l.burst) * iv)) {
		start = now.Add(-time.Duration(l.burst) * iv)
	}
	slot := start.Add(iv)
	if len(l.next) > 10_000 {
		l.next = map[string]time.Time{}
	}
	l.next[method] = slot
	l.mu.Unlock()
	if d := slot.Sub(now); d > 0 {
		return l.sleep(ctx, d)
	}
	return nil
}

// backoff makes the next call of method wait d (a 429's Retry-After).
func (l *limiter) backoff(method string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	until := l.clock.Now().Add(d)
	if l.next[method].Before(until) {
		l.next[method] = until.Add(-tierInterval(method))
	}
}
