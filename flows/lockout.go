package flows

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// LockoutLedger remembers which lockouts were announced and where to reach people.
type LockoutLedger interface {
	// Announce records one lockout of a user (by its start) and counts an alert against the
	// user's day; false when it was announced before or the day's alerts are used up.
	Announce(ctx context.Context, userID string, lockedAt time.Time, max int, now time.Time) (bool, error)
	// ChatsOf lists the chat identities pinned to a user.
	ChatsOf(ctx context.Context, userID string) ([]string, error)
}

// Leaser hands a named lease to one holder at a time (one poller across replicas).
type Leaser interface {
	Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// Release ends the lease if holder has it.
	Release(ctx context.Context, name, holder string) error
}

// Lockout alert defaults.
const (
	DefaultLockoutPoll     = 30 * time.Second
	DefaultLockoutsPerDay  = 3
	lockoutWindow          = 15 * time.Minute
	lockoutLeaseName       = "lockout-poller"
	lockoutChoice          = "l:unlock"
	lockoutLeaseMultiplier = 3
)

// LockoutWatch notices new AD lockouts and offers the person an unlock in chat. One replica
// polls at a time (a Redis lease); each lockout is announced once, at most PerDay times a day.
type LockoutWatch struct {
	e      *Engine
	src    LockoutSource
	ledger LockoutLedger
	lease  Leaser
	holder string
	Every  time.Duration
	PerDay int

	Alerted atomic.Int64 // alerts sent (metrics)
}

// NewLockoutWatch builds a watch for this replica (holder names it in the lease).
func NewLockoutWatch(e *Engine, src LockoutSource, ledger LockoutLedger, lease Leaser, holder string) *LockoutWatch {
	return &LockoutWatch{e: e, src: src, ledger: ledger, lease: lease, holder: holder, Every: DefaultLockoutPoll, PerDay: DefaultLockoutsPerDay}
}

// Poll runs one round if this replica holds the lease; it returns how many people were alerted.
func (w *LockoutWatch) Poll(ctx context.Context) (int, error) {
	ok, err := w.lease.Lease(ctx, lockoutLeaseName, w.holder, lockoutLeaseMultiplier*w.Every)
	if err != nil || !ok {
		return 0, err
	}
	now := w.e.d.Clock.Now()
	window := lockoutWindow
	if window < 2*w.Every {
		window = 2 * w.Every
	}
	locked, err := w.src.LockedOutSince(ctx, now.Add(-window))
	if err != nil {
		return 0, fmt.Errorf("flows: lockout poll: %w", err)
	}
	sent := 0
	for _, a := range locked {
		n, err := w.alert(ctx, a, now)
		if err != nil {
			w.e.d.Log.ErrorContext(ctx, "lockout alert failed", "err", err, "user", a.ID)
		}
		sent += n
	}
	return sent, nil
}

func (w *LockoutWatch) alert(ctx context.Context, a Account, now time.Time) (int, error) {
	chats, err := w.ledger.ChatsOf(ctx, a.ID)
	if err != nil || len(chats) == 0 {
		return 0, err // nobody to tell: the person never signed in through the bot
	}
	ok, err := w.ledger.Announce(ctx, a.ID, a.LockedAt, w.PerDay, now)
	if err != nil || !ok {
		return 0, err
	}
	pol := w.e.policyOrDefault(ctx, "lockout alert")
	lang, loc := w.e.noticeLocale(ctx, a, pol)
	offer := w.e.mayServe(ctx, a.ID, pol)
	for _, k := range chats {
		chat, ok := parseChatKey(k)
		if !ok || w.e.d.Notifier == nil {
			continue
		}
		chat.Locale = lang
		r := Reply{MsgID: MsgLockedAlert, Text: Text(lang, MsgLockedAlert, FormatWhen(lang, a.LockedAt, loc)), Private: true,
			Choices: []Choice{{ID: lockoutChoice, Label: Text(lang, "button.unlock_now")}}}
		if !offer {
			// the bot would refuse the unlock it offered: the alert alone, and where to go
			r = Reply{MsgID: MsgLockedAlertOnly, Text: Text(lang, MsgLockedAlertOnly, FormatWhen(lang, a.LockedAt, loc), pol.HelpdeskURL), Private: true}
		}
		if err := w.e.notify(ctx, a.ID, chat, []Reply{r}); err != nil {
			w.e.d.Log.WarnContext(ctx, "lockout alert not delivered", "err", err, "chat", k)
			continue
		}
	}
	w.e.audit(ctx, AuditEvent{Time: now, Actor: "resetbot", Subject: a.ID, Action: "lockout_alert", Outcome: "ok",
		Reason: a.LockedAt.UTC().Format(time.RFC3339)})
	w.Alerted.Add(1)
	return 1, nil
}

// mayServe looks the person up as a chat step does and asks Ineligible whether they may use
// self-service: a notice offers a button only then. A failed look-up offers nothing.
func (e *Engine) mayServe(ctx context.Context, userID string, pol Policy) bool {
	a, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: userID})
	return err == nil && e.Ineligible(a, pol) == ""
}

// Run polls every Every until ctx ends, then hands the lease back so another replica takes
// over at once; sleep is the injected wait (bot.Sleep in production).
func (w *LockoutWatch) Run(ctx context.Context, sleep func(context.Context, time.Duration) error) {
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := w.lease.Release(rctx, lockoutLeaseName, w.holder); err != nil {
			w.e.d.Log.WarnContext(rctx, "lockout lease not released; it will run out", "err", err)
		}
	}()
	for {
		if _, err := w.Poll(ctx); err != nil && ctx.Err() == nil {
			w.e.d.Log.WarnContext(ctx, "lockout poll failed", "err", err)
		}
		if sleep(ctx, w.Every) != nil {
			return
		}
	}
}
