package slack

import (
	"context"
	"encoding/json"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/gopool"
)

// MaxQueued is how many of one person's messages wait while one is worked on. Beyond it a
// message is dropped, and the person is told once per flood to slow down: one person sending
// thousands of messages costs one goroutine and a few queued closures, and never delays the
// replies to anyone else (each person's replies wait only behind their own).
const MaxQueued = 5

// userQueue is one person's pending work, drained in order by one goroutine.
type userQueue struct {
	jobs    []func(context.Context)
	slow    bool // a "slow down" reply is owed
	told    bool // told in this flood (until the queue drains)
	team    string
	user    string
	channel string
}

// perUser queues f behind the person's earlier messages, or drops it when their queue is full.
func (a *Adapter) perUser(ctx context.Context, team, user, channel string, f func(context.Context)) {
	key := team + ":" + user
	a.qmu.Lock()
	q, running := a.queues[key]
	if !running {
		q = &userQueue{team: team, user: user}
		a.queues[key] = q
	}
	if channel != "" {
		q.channel = channel
	}
	if len(q.jobs) >= MaxQueued {
		if !q.told {
			q.told, q.slow = true, true
		}
		a.qmu.Unlock()
		a.dropped.Add(1)
		return
	}
	q.jobs = append(q.jobs, f)
	if !running {
		a.work.Add(1)
		dctx := context.WithoutCancel(ctx)
		gopool.Go(func() { a.drain(dctx, key, q) }) // on a goroutine that ran a step before (see gopool)
	}
	a.qmu.Unlock()
}

// drain works through one person's queue, then ends.
func (a *Adapter) drain(ctx context.Context, key string, q *userQueue) {
	defer a.work.Done()
	for {
		a.qmu.Lock()
		if q.slow {
			q.slow = false
			chat := flows.ChatRef{Platform: Platform, Tenant: q.team, UserID: q.user, Channel: q.channel}
			a.qmu.Unlock()
			a.slowDown(ctx, chat)
			continue
		}
		if len(q.jobs) == 0 {
			delete(a.queues, key)
			a.qmu.Unlock()
			return
		}
		f := q.jobs[0]
		q.jobs[0] = nil
		q.jobs = q.jobs[1:]
		a.qmu.Unlock()
		jctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		f(jctx)
		cancel()
	}
}

// slowDown tells a flooding person, once, that messages were skipped.
func (a *Adapter) slowDown(ctx context.Context, chat flows.ChatRef) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	chat.Locale = a.cachedLocale(chat.UserID)
	a.post(ctx, chat, []flows.Reply{{MsgID: flows.MsgSlowDown, Text: flows.Text(chat.Locale, flows.MsgSlowDown), Private: true}})
}

// Dropped is how many messages were dropped from full queues since start.
func (a *Adapter) Dropped() int64 { return a.dropped.Load() }

// dispatchEvent decodes an Events API payload (Socket Mode) and queues it.
func (a *Adapter) dispatchEvent(ctx context.Context, raw json.RawMessage) {
	env, err := decodeEvent(raw)
	if err != nil {
		return
	}
	a.dispatchDecoded(ctx, env)
}

// dispatchDecoded queues a decoded Events API payload behind its sender's earlier ones.
func (a *Adapter) dispatchDecoded(ctx context.Context, env *eventEnvelope) {
	var user, channel string
	if env.Event != nil {
		user, channel = env.Event.User, env.Event.Channel
	}
	if user == "" {
		a.later(ctx, func(ctx context.Context) { a.onEvent(ctx, env) })
		return
	}
	a.perUser(ctx, env.TeamID, user, channel, func(ctx context.Context) { a.onEvent(ctx, env) })
}

// cachedLocale is the person's Slack locale when users.info was read for them already ("" otherwise:
// English), without a call.
func (a *Adapter) cachedLocale(userID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.users[userID].user.Locale
}
