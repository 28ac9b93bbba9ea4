package flows

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Due is one user's next reminder time.
type Due struct {
	UserID string
	At     time.Time
}

// ReminderQueue is the shared schedule of reminders (a sorted set by due time in Redis) and each
// user's reminder counts. Replicas claim due users with a lease, so each is sent once, and a
// dead replica's claims come due again when their lease ends.
type ReminderQueue interface {
	Schedule(ctx context.Context, queue string, due []Due) error
	Claim(ctx context.Context, queue string, now time.Time, n int, lease time.Duration) ([]string, error)
	// Renew extends a claim that is still this replica's (its lease ends at expect).
	Renew(ctx context.Context, queue, userID string, expect, until time.Time) (bool, error)
	Reschedule(ctx context.Context, queue, userID string, at time.Time) error
	Unschedule(ctx context.Context, queue, userID string) error
	Pending(ctx context.Context, queue string) (int64, error)
	ReminderState(ctx context.Context, userID string) (sent, snoozes int, err error)
	CountReminder(ctx context.Context, userID string, snooze bool) (int, error)
}

// Roster pages through the directory users in scope: all users, or the members of groups.
type Roster interface {
	EachUser(ctx context.Context, groups []string, fn func(Account) error) error
}

// ChatTarget is where and when a user can be reminded.
type ChatTarget struct {
	Chat ChatRef
	TZ   *time.Location
}

// ChatRoster maps directory emails to chat identities, listing the platform's users once per
// campaign (not one lookup per user).
type ChatRoster interface {
	Targets(ctx context.Context) (map[string]ChatTarget, error)
}

// Reminder settings.
const (
	ReminderQueueName = "registration"
	SnoozeFor         = 72 * time.Hour
	MaxSnoozes        = 3
	RemindEvery       = 72 * time.Hour // looking again for users on no chat platform
	QuietFrom         = 20             // local hour quiet hours start
	QuietTo           = 8              // local hour they end
)

// Reminders plans and sends registration reminders. Several replicas may Run at once. Its
// roster snapshot belongs to the goroutine that runs it: a campaign asked for from elsewhere (an
// admin's "remind now") goes through Request, and Run plans it between its steps.
type Reminders struct {
	e      *Engine
	q      ReminderQueue
	roster Roster
	chats  []ChatRoster

	// Lease is how long a claim is held before another replica may take it (default 5 min).
	Lease time.Duration
	// Batch is how many users one claim takes (default 50).
	Batch int
	// OnClaim, when set, is told how many users a claim took, before they are handled.
	OnClaim func(n int)

	users    map[string]Account    // by id, from the last roster walk
	targets  map[string]ChatTarget // by lowercase email
	loadedAt time.Time
	requests chan chan planned // campaigns asked for, planned by Run

	Sent, Skipped, Failed, Deferred atomic.Int64
}

// NewReminders builds the scheduler.
func NewReminders(e *Engine, q ReminderQueue, roster Roster, chats ...ChatRoster) *Reminders {
	return &Reminders{e: e, q: q, roster: roster, chats: chats, Lease: 5 * time.Minute, Batch: 50, requests: make(chan chan planned)}
}

// planned is the outcome of a requested campaign.
type planned struct {
	n   int
	err error
}

// Request asks the goroutine that runs the scheduler to plan a campaign now and waits for it
// (or for ctx): the campaign is planned where the steps run, never beside them.
func (r *Reminders) Request(ctx context.Context) (int, error) {
	reply := make(chan planned, 1)
	select {
	case r.requests <- reply:
	case <-ctx.Done():
		return 0, fmt.Errorf("flows: campaign not planned: %w", ctx.Err())
	}
	select {
	case p := <-reply:
		return p.n, p.err
	case <-ctx.Done():
		return 0, fmt.Errorf("flows: campaign planning: %w", ctx.Err())
	}
}

// needs reports why a user should be reminded, or "".
func (r *Reminders) needs(ctx context.Context, a Account, pol Policy, now time.Time) (string, error) {
	if r.e.Ineligible(a, pol) != "" {
		return "", nil
	}
	en, err := r.e.d.Enrollments.Get(ctx, a.ID)
	if err != nil {
		return "", err
	}
	usable := pol.Usable(a, en)
	if len(usable) < pol.RequiredFor(a) {
		return "unregistered", nil
	}
	for _, m := range usable {
		if reconfirmDue(en.Methods[m], pol, now) {
			return "reconfirm", nil
		}
	}
	return "", nil
}

// load walks the directory and the chat platforms once for this campaign.
func (r *Reminders) load(ctx context.Context, pol Policy) error {
	users := map[string]Account{}
	var groups []string
	if pol.EnabledFor == EnabledSelected {
		groups = pol.Groups
	}
	if err := r.roster.EachUser(ctx, groups, func(a Account) error {
		if len(users) < 5_000_000 {
			users[a.ID] = a
		}
		return nil
	}); err != nil {
		return fmt.Errorf("flows: roster: %w", err)
	}
	targets := map[string]ChatTarget{}
	for _, c := range r.chats {
		m, err := c.Targets(ctx)
		if err != nil {
			return fmt.Errorf("flows: chat roster: %w", err)
		}
		for k, v := range m {
			targets[strings.ToLower(k)] = v
		}
	}
	r.users, r.targets, r.loadedAt = users, targets, r.e.d.Clock.Now()
	return nil
}

// Plan queues every user in scope who has not registered (or must reconfirm), due now. Users
// already queued keep their time, so planning again resumes a campaign. Call it from the
// goroutine that steps the scheduler (others use Request).
func (r *Reminders) Plan(ctx context.Context) (int, error) {
	pol, err := r.e.policy(ctx)
	if err != nil {
		return 0, err
	}
	if !pol.RequireRegistration || pol.EnabledFor == EnabledNone {
		return 0, nil
	}
	if err := r.load(ctx, pol); err != nil {
		return 0, err
	}
	now := r.e.d.Clock.Now()
	var due []Due
	for _, a := range r.users {
		why, err := r.needs(ctx, a, pol, now)
		if err != nil {
			return 0, err
		}
		if why != "" {
			due = append(due, Due{UserID: a.ID, At: now})
		}
	}
	if err := r.q.Schedule(ctx, ReminderQueueName, due); err != nil {
		return 0, err
	}
	r.e.d.Log.InfoContext(ctx, "reminder campaign planned", "users", len(r.users), "queued", len(due))
	return len(due), nil
}

// Step claims and handles one batch of due users; it returns how many it claimed.
func (r *Reminders) Step(ctx context.Context) (int, error) {
	pol, err := r.e.policy(ctx)
	if err != nil {
		return 0, err
	}
	if r.users == nil || r.e.d.Clock.Now().Sub(r.loadedAt) > time.Hour {
		if err := r.load(ctx, pol); err != nil {
			return 0, err
		}
	}
	now := r.e.d.Clock.Now()
	ids, err := r.q.Claim(ctx, ReminderQueueName, now, r.Batch, r.Lease)
	if err != nil {
		return 0, err
	}
	if r.OnClaim != nil {
		r.OnClaim(len(ids))
	}
	leaseEnd := time.UnixMilli(now.UnixMilli() + r.Lease.Milliseconds())
	for i, id := range ids {
		if ctx.Err() != nil {
			// shutting down: hand the rest back at once instead of letting their lease run out
			r.release(ids[i:], leaseEnd, now)
			return i, nil
		}
		r.one(ctx, pol, id, now, leaseEnd)
	}
	return len(ids), nil
}

// release makes claimed users due again now, where the claim is still this replica's.
func (r *Reminders) release(ids []string, leaseEnd, now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, id := range ids {
		if _, err := r.q.Renew(ctx, ReminderQueueName, id, leaseEnd, now); err != nil {
			r.e.d.Log.WarnContext(ctx, "reminder claim not released; its lease will run out", "err", err, "user", id)
		}
	}
}

func (r *Reminders) one(ctx context.Context, pol Policy, id string, now, leaseEnd time.Time) {
	a, ok := r.users[id]
	why := ""
	var err error
	if ok {
		why, err = r.needs(ctx, a, pol, now)
	}
	if err != nil {
		r.Failed.Add(1)
		r.e.d.Log.ErrorContext(ctx, "reminder check failed", "err", err, "user", id)
		return // the lease runs out and another try comes
	}
	t, mapped := r.targets[strings.ToLower(a.Mail)]
	if !mapped && a.UPN != "" {
		t, mapped = r.targets[strings.ToLower(a.UPN)]
	}
	if !mapped { // Teams knows people by directory object id
		t, mapped = r.targets[strings.ToLower(a.ID)]
	}
	if why == "" {
		r.Skipped.Add(1)
		_ = r.q.Unschedule(ctx, ReminderQueueName, id)
		return
	}
	if !mapped { // not on any chat platform yet: look again next round
		r.Skipped.Add(1)
		_ = r.q.Reschedule(ctx, ReminderQueueName, id, now.Add(RemindEvery))
		return
	}
	if next, quiet := quietUntil(now, t.TZ); quiet {
		r.Deferred.Add(1)
		_ = r.q.Reschedule(ctx, ReminderQueueName, id, next)
		return
	}
	// a batch can outlast its lease: send only while the claim is still ours, and hold it anew
	if mine, err := r.q.Renew(ctx, ReminderQueueName, id, leaseEnd, r.e.d.Clock.Now().Add(r.Lease)); err != nil || !mine {
		r.Skipped.Add(1)
		return
	}
	// the chat's language when the platform says it, else the one remembered, else the policy's
	if t.Chat.Locale == "" {
		t.Chat.Locale, _ = r.e.noticeLocale(ctx, a, pol)
	}
	msg := Text(t.Chat.Locale, MsgReminder)
	if why == "reconfirm" {
		msg = Text(t.Chat.Locale, MsgReminderReconfirm)
	}
	msg = r.e.withHint(t.Chat.Locale, msg)
	reply := Reply{MsgID: MsgReminder, Text: msg, Private: true, Choices: []Choice{
		{ID: "r:register|remind|0", Label: Text(t.Chat.Locale, "button.register_now")},
		{ID: "r:snooze|remind|0", Label: Text(t.Chat.Locale, "button.snooze")}}}
	if err := r.e.notify(ctx, a.ID, t.Chat, []Reply{reply}); err != nil {
		r.Failed.Add(1)
		r.e.d.Log.ErrorContext(ctx, "reminder failed", "err", err, "user", id)
		return
	}
	r.Sent.Add(1)
	n, err := r.q.CountReminder(ctx, id, false)
	if err != nil {
		r.e.d.Log.ErrorContext(ctx, "reminder count failed", "err", err)
	}
	if pol.ManagerAfter > 0 && n == pol.ManagerAfter {
		r.tellManager(ctx, a, n)
	}
	_ = r.q.Reschedule(ctx, ReminderQueueName, id, now.Add(time.Duration(pol.RemindEveryDays)*24*time.Hour))
	r.e.audit(ctx, AuditEvent{Time: now, Actor: "resetbot", Subject: id, Platform: t.Chat.Platform, Action: "reminder", Outcome: "sent", Reason: why})
}

// ManagerSource finds a user's manager in the directory (optional).
type ManagerSource interface {
	Manager(ctx context.Context, userID string) (Account, error)
}

// tellManager emails a user's manager once the user ignored the policy's number of reminders.
func (r *Reminders) tellManager(ctx context.Context, a Account, n int) {
	src := r.e.caps.Managers
	if src == nil || r.e.d.Mailer == nil {
		return
	}
	m, err := src.Manager(ctx, a.ID)
	if err != nil || m.Mail == "" {
		return
	}
	lang, _ := r.e.noticeLocale(ctx, m, r.e.policyOrDefault(ctx, "manager notice"))
	body := Text(lang, "mail.manager.body", m.DisplayName, a.DisplayName, n)
	if err := r.e.d.Mailer.Send(ctx, Mail{To: []string{m.Mail}, Subject: Text(lang, "mail.manager.subject", a.DisplayName), Body: body}); err != nil {
		r.e.d.Log.ErrorContext(ctx, "manager notice failed", "err", err)
		return
	}
	r.e.audit(ctx, AuditEvent{Time: r.e.d.Clock.Now(), Actor: "resetbot", Subject: a.ID, Action: "reminder_manager", Outcome: "sent"})
}

// quietUntil reports whether now is in the user's quiet hours, and when they end.
func quietUntil(now time.Time, tz *time.Location) (time.Time, bool) {
	if tz == nil {
		tz = time.UTC
	}
	l := now.In(tz)
	h := l.Hour()
	if h >= QuietTo && h < QuietFrom {
		return time.Time{}, false
	}
	end := time.Date(l.Year(), l.Month(), l.Day(), QuietTo, 0, 0, 0, tz)
	if h >= QuietFrom {
		end = end.AddDate(0, 0, 1)
	}
	return end, true
}

// Run handles due reminders whenever tick fires, and plans the campaigns requested, until ctx
// ends.
func (r *Reminders) Run(ctx context.Context, tick <-chan time.Time) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case reply := <-r.requests:
			n, err := r.Plan(ctx)
			reply <- planned{n, err}
		case <-tick:
			claimed := 0
			for {
				n, err := r.Step(ctx)
				if err != nil {
					r.e.d.Log.ErrorContext(ctx, "reminder step failed", "err", err)
					break
				}
				if n == 0 {
					break
				}
				claimed += n
			}
			if claimed > 0 {
				r.e.d.Log.InfoContext(ctx, "reminders", "claimed", claimed, "sent", r.Sent.Load(), "skipped", r.Skipped.Load(),
					"deferred", r.Deferred.Load(), "failed", r.Failed.Load())
			}
		}
	}
}

// reminderChoice handles the buttons of a reminder: register now, or snooze.
func (e *Engine) reminderChoice(ctx context.Context, s *step, act string) {
	if act == "register" {
		e.startRegister(s)
		return
	}
	q := e.d.Reminders
	if q == nil {
		e.notUnderstood(s)
		return
	}
	n, err := q.CountReminder(ctx, s.acct.ID, true)
	if err != nil {
		s.say(MsgTrouble, s.pol.HelpdeskURL)
		return
	}
	if n > MaxSnoozes {
		_ = q.Reschedule(ctx, ReminderQueueName, s.acct.ID, s.now.Add(24*time.Hour))
		s.say(MsgSnoozeLimit)
		return
	}
	_ = q.Reschedule(ctx, ReminderQueueName, s.acct.ID, s.now.Add(SnoozeFor))
	s.say(MsgSnoozed)
}
