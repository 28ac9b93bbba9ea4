package flows

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Password expiry reminders: the directory says when each password expires (AD's
// msDS-UserPasswordExpiryTimeComputed; Entra's lastPasswordChangeDateTime plus the domain's
// passwordValidityPeriodInDays), and the person gets a DM a number of days before (14, 7, 3
// and 1 by default), outside their quiet hours, with "Change it now". Replicas share the
// reminder schedule in Redis: a claim hands each person to one replica, and a marker per
// password and stage makes each reminder go out once even when a claim's lease ran out.

// PasswordExpiry is when one person's password expires.
type PasswordExpiry struct {
	Account   Account
	ExpiresAt time.Time // zero: the password never expires (a never-expire policy or flag)
	ChangedAt time.Time // the last change, when the directory says
}

// ExpirySource lists the expiry of every user's password (in the groups, or all users).
type ExpirySource interface {
	PasswordExpiries(ctx context.Context, groups []string, fn func(PasswordExpiry) error) error
}

// ExpiryLedger remembers which expiry reminders went out.
type ExpiryLedger interface {
	// MarkExpiry records the reminder of one password (by its expiry) at one stage (days
	// before); false when it was recorded before, by any replica.
	MarkExpiry(ctx context.Context, userID string, expiresAt time.Time, days int, now time.Time) (bool, error)
	// LastExpiryReminder is when the person was last reminded, and of which expiry (zero: never).
	LastExpiryReminder(ctx context.Context, userID string) (remindedAt, expiresAt time.Time, err error)
}

// ExpiryQueueName is the schedule of expiry reminders in the reminder queue.
const ExpiryQueueName = "expiry"

// DefaultExpiryDays are the days before expiry a person is reminded.
var DefaultExpiryDays = []int{14, 7, 3, 1}

// ExpiryReminders plans and sends expiry reminders. Several replicas may run it at once.
type ExpiryReminders struct {
	e      *Engine
	q      ReminderQueue
	ledger ExpiryLedger
	src    ExpirySource
	chats  []ChatRoster

	// Days are the days before expiry a person is reminded, largest first.
	Days []int
	// Lease is how long a claim is held before another replica may take it.
	Lease time.Duration
	// Batch is how many people one claim takes.
	Batch int

	users   map[string]PasswordExpiry // from the last walk, by user id
	targets map[string]ChatTarget
	walked  time.Time

	Sent, Deferred, Skipped, Failed atomic.Int64
}

// NewExpiryReminders builds the scheduler.
func NewExpiryReminders(e *Engine, q ReminderQueue, ledger ExpiryLedger, src ExpirySource, chats ...ChatRoster) *ExpiryReminders {
	return &ExpiryReminders{e: e, q: q, ledger: ledger, src: src, chats: chats, Days: DefaultExpiryDays,
		Lease: 5 * time.Minute, Batch: 50}
}

// stage is the reminder due now for a password: the fewest days before expiry whose moment has
// come (so a person first seen 2 days before gets the 3-day reminder, once), or 0.
func (x *ExpiryReminders) stage(exp, now time.Time) int {
	if exp.IsZero() || !now.Before(exp) {
		return 0
	}
	st := 0
	for _, d := range x.Days {
		if !now.Before(exp.Add(-time.Duration(d) * 24 * time.Hour)) {
			st = d // Days run largest first: the last that matches is the fewest days
		}
	}
	return st
}

// next is when the next stage of a password starts after now (zero: none).
func (x *ExpiryReminders) next(exp, now time.Time) time.Time {
	var at time.Time
	for _, d := range x.Days {
		t := exp.Add(-time.Duration(d) * 24 * time.Hour)
		if t.After(now) && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	return at
}

// Plan walks the directory and the chat platforms, and schedules everyone whose password
// expires within the largest stage, at their next stage (now when one is due). It returns how
// many it scheduled.
func (x *ExpiryReminders) Plan(ctx context.Context) (int, error) {
	pol, err := x.e.policy(ctx)
	if err != nil {
		return 0, err
	}
	if pol.EnabledFor == EnabledNone {
		return 0, nil // self-service is off: nobody to offer a change to
	}
	var groups []string
	if pol.EnabledFor == EnabledSelected {
		groups = pol.Groups
	}
	users := map[string]PasswordExpiry{}
	if err := x.src.PasswordExpiries(ctx, groups, func(p PasswordExpiry) error {
		if len(users) < 5_000_000 {
			users[p.Account.ID] = p
		}
		return nil
	}); err != nil {
		return 0, fmt.Errorf("flows: password expiries: %w", err)
	}
	targets := map[string]ChatTarget{}
	for _, c := range x.chats {
		m, err := c.Targets(ctx)
		if err != nil {
			return 0, fmt.Errorf("flows: chat roster: %w", err)
		}
		for k, v := range m {
			targets[strings.ToLower(k)] = v
		}
	}
	now := x.e.d.Clock.Now()
	x.users, x.targets, x.walked = users, targets, now
	var due []Due
	for id, p := range users {
		if !p.Account.Enabled {
			continue
		}
		if x.stage(p.ExpiresAt, now) > 0 {
			due = append(due, Due{UserID: id, At: now})
		} else if at := x.next(p.ExpiresAt, now); !at.IsZero() {
			due = append(due, Due{UserID: id, At: at})
		}
	}
	if err := x.q.Schedule(ctx, ExpiryQueueName, due); err != nil {
		return 0, err
	}
	return len(due), nil
}

// Step claims and handles one batch of due people; it returns how many it claimed.
func (x *ExpiryReminders) Step(ctx context.Context) (int, error) {
	if x.users == nil {
		if _, err := x.Plan(ctx); err != nil {
			return 0, err
		}
	}
	pol, err := x.e.policy(ctx)
	if err != nil {
		return 0, err
	}
	now := x.e.d.Clock.Now()
	ids, err := x.q.Claim(ctx, ExpiryQueueName, now, x.Batch, x.Lease)
	if err != nil {
		return 0, err
	}
	leaseEnd := time.UnixMilli(now.UnixMilli() + x.Lease.Milliseconds())
	for _, id := range ids {
		x.one(ctx, pol, id, now, leaseEnd)
	}
	return len(ids), nil
}

func (x *ExpiryReminders) one(ctx context.Context, pol Policy, id string, now, leaseEnd time.Time) {
	p, ok := x.users[id]
	st := 0
	if ok && p.Account.Enabled {
		st = x.stage(p.ExpiresAt, now)
	}
	if st == 0 {
		// changed, never expires now, or expired already: the next walk schedules it anew
		x.Skipped.Add(1)
		if at := x.next(p.ExpiresAt, now); ok && !at.IsZero() {
			_ = x.q.Reschedule(ctx, ExpiryQueueName, id, at)
		} else {
			_ = x.q.Unschedule(ctx, ExpiryQueueName, id)
		}
		return
	}
	a := p.Account
	t, mapped := x.targets[strings.ToLower(a.Mail)]
	if !mapped && a.UPN != "" {
		t, mapped = x.targets[strings.ToLower(a.UPN)]
	}
	if !mapped {
		t, mapped = x.targets[strings.ToLower(a.ID)]
	}
	if !mapped {
		x.Skipped.Add(1)
		_ = x.q.Unschedule(ctx, ExpiryQueueName, id)
		return
	}
	if until, quiet := quietUntil(now, t.TZ); quiet {
		x.Deferred.Add(1)
		_ = x.q.Reschedule(ctx, ExpiryQueueName, id, until)
		return
	}
	if mine, err := x.q.Renew(ctx, ExpiryQueueName, id, leaseEnd, x.e.d.Clock.Now().Add(x.Lease)); err != nil || !mine {
		x.Skipped.Add(1)
		return
	}
	first, err := x.ledger.MarkExpiry(ctx, id, p.ExpiresAt, st, now)
	if err != nil {
		x.Failed.Add(1)
		x.e.d.Log.ErrorContext(ctx, "expiry reminder not recorded", "err", err, "user", id)
		return // the claim's lease runs out and it is tried again
	}
	if first {
		loc := t.Chat.Locale
		tz := t.TZ
		if tz == nil { // a zone the chat did not say: UTC, as quietUntil reads it
			tz = time.UTC
		}
		when := p.ExpiresAt.In(tz).Format("Monday 2 January at 15:04 MST")
		r := Reply{MsgID: MsgExpiryReminder, Text: Text(loc, MsgExpiryReminder, expiryIn(loc, p.ExpiresAt.Sub(now)), when), Private: true,
			Choices: []Choice{{ID: ExpiryChoice, Label: Text(loc, MsgExpiryChangeNow)}}}
		if x.e.Ineligible(a, pol) != "" {
			// the bot cannot change it for them: the reminder alone, without the button
			r.Text, r.Choices = Text(loc, MsgExpiryReminderOnly, expiryIn(loc, p.ExpiresAt.Sub(now)), when), nil
		}
		if err := x.e.notify(ctx, a.ID, t.Chat, []Reply{r}); err != nil {
			x.Failed.Add(1)
			x.e.d.Log.ErrorContext(ctx, "expiry reminder failed", "err", err, "user", id)
		} else {
			x.Sent.Add(1)
			x.e.audit(ctx, AuditEvent{Time: now, Actor: "resetbot", Subject: id, Platform: t.Chat.Platform, Action: "expiry_reminder",
				Outcome: "sent", Reason: strconv.Itoa(st) + " days"})
		}
	}
	if at := x.next(p.ExpiresAt, now); !at.IsZero() {
		_ = x.q.Reschedule(ctx, ExpiryQueueName, id, at)
	} else {
		_ = x.q.Unschedule(ctx, ExpiryQueueName, id)
	}
}

// expiryIn says how long is left: "in 3 days", "tomorrow", "today".
func expiryIn(loc string, left time.Duration) string {
	days := int(left.Hours() / 24)
	switch {
	case days <= 0:
		return Text(loc, MsgExpiryToday)
	case days == 1:
		return Text(loc, MsgExpiryTomorrow)
	}
	return Text(loc, MsgExpiryInDays, days)
}

// ExpiryChoice is the "Change it now" button of an expiry reminder.
const ExpiryChoice = expiryChoicePrefix + "|remind|0"

const expiryChoicePrefix = "e:change"

// Run plans every walkEvery and handles due reminders whenever tick fires, until ctx ends.
func (x *ExpiryReminders) Run(ctx context.Context, tick <-chan time.Time, walkEvery time.Duration) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			if x.users == nil || x.e.d.Clock.Now().Sub(x.walked) >= walkEvery {
				if _, err := x.Plan(ctx); err != nil {
					x.e.d.Log.ErrorContext(ctx, "expiry plan failed", "err", err)
					continue
				}
			}
			for {
				n, err := x.Step(ctx)
				if err != nil {
					x.e.d.Log.ErrorContext(ctx, "expiry step failed", "err", err)
				}
				if err != nil || n == 0 {
					break
				}
			}
		}
	}
}

// ExpiryReport is the report's line on expiring passwords.
type ExpiryReport struct {
	Expiring7            int // passwords that expire in the next 7 days
	ChangedAfterReminder int // reminded people whose password changed since
}

// ExpiryFigures walks the directory's expiries for the report.
func (e *Engine) ExpiryFigures(ctx context.Context, src ExpirySource, ledger ExpiryLedger) (ExpiryReport, error) {
	var r ExpiryReport
	pol, err := e.policy(ctx)
	if err != nil {
		return r, err
	}
	var groups []string
	if pol.EnabledFor == EnabledSelected {
		groups = pol.Groups
	}
	now := e.d.Clock.Now()
	err = src.PasswordExpiries(ctx, groups, func(p PasswordExpiry) error {
		if !p.ExpiresAt.IsZero() && p.ExpiresAt.After(now) && p.ExpiresAt.Sub(now) <= 7*24*time.Hour {
			r.Expiring7++
		}
		at, exp, err := ledger.LastExpiryReminder(ctx, p.Account.ID)
		if err != nil {
			return err
		}
		// reminded of one expiry, and the password expires at another time now: it was changed
		if !at.IsZero() && !exp.Equal(p.ExpiresAt) && (p.ChangedAt.IsZero() || !p.ChangedAt.Before(at)) {
			r.ChangedAfterReminder++
		}
		return nil
	})
	return r, err
}

// PasswordExpiries of a hybrid directory: cloud-only users from Entra (which leaves synced
// users out) and, when the whole directory is walked, every AD user by AD's own computed expiry.
// With self-service for selected groups (Entra group ids) only Entra's users are walked.
func (r Router) PasswordExpiries(ctx context.Context, groups []string, fn func(PasswordExpiry) error) error {
	if x := r.Cloud.Capabilities().Expiries; x != nil {
		if err := x.PasswordExpiries(ctx, groups, fn); err != nil {
			return err
		}
	}
	if x := r.OnPrem.Capabilities().Expiries; x != nil && len(groups) == 0 {
		return x.PasswordExpiries(ctx, nil, fn)
	}
	return nil
}

// expiryLine is the report's line on expiring passwords, when expiry reminders are on.
func (e *Engine) expiryLine(ctx context.Context) string {
	src := e.caps.Expiries
	ledger, lok := e.d.Reminders.(ExpiryLedger)
	if !e.o.ExpiryReminders || src == nil || !lok {
		return ""
	}
	r, err := e.ExpiryFigures(ctx, src, ledger)
	if err != nil {
		e.d.Log.WarnContext(ctx, "expiry figures unavailable", "err", err)
		return "\n" + Text(LangFrom(ctx), MsgReportExpiryUnavailable)
	}
	return "\n" + Text(LangFrom(ctx), MsgReportExpiry, r.Expiring7, r.ChangedAfterReminder)
}
