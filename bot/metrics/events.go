package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
)

// Product metrics, all derived from the audit events the engine writes anyway, so what is
// counted and what is audited cannot drift apart.
type events struct {
	next          flows.Auditor
	all           *prometheus.CounterVec
	conversations *prometheus.CounterVec
	failures      *prometheus.CounterVec
	resets        prometheus.Counter
	unlocks       prometheus.Counter
	blocks        prometheus.Counter
	alerts        prometheus.Counter
}

// Audit counts every audit event and hands it on to next.
func (r *Registry) Audit(next flows.Auditor) flows.Auditor {
	e := &events{next: next,
		all: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "resetbot_events_total",
			Help: "Audit events by action and outcome."}, []string{"action", "outcome"}),
		conversations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "resetbot_conversations_total",
			Help: "Self-service conversations by outcome: started, completed, refused, cancelled, blocked."}, []string{"outcome"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "resetbot_verification_failures_total",
			Help: "Wrong proofs by verification method."}, []string{"method"}),
		resets:  prometheus.NewCounter(prometheus.CounterOpts{Name: "resetbot_resets_total", Help: "Passwords reset."}),
		unlocks: prometheus.NewCounter(prometheus.CounterOpts{Name: "resetbot_unlocks_total", Help: "Accounts unlocked without a reset."}),
		blocks:  prometheus.NewCounter(prometheus.CounterOpts{Name: "resetbot_blocks_total", Help: "Users whose self-service was blocked after too many failures."}),
		alerts:  prometheus.NewCounter(prometheus.CounterOpts{Name: "resetbot_lockout_alerts_total", Help: "Lockout alerts sent."}),
	}
	r.reg.MustRegister(e.all, e.conversations, e.failures, e.resets, e.unlocks, e.blocks, e.alerts)
	return e
}

func (e *events) Audit(ctx context.Context, ev flows.AuditEvent) {
	e.all.WithLabelValues(ev.Action, ev.Outcome).Inc()
	ok := ev.Outcome == "ok"
	switch ev.Action {
	case "verify_start":
		if ok {
			e.conversations.WithLabelValues("started").Inc()
		} else {
			e.conversations.WithLabelValues("refused").Inc()
		}
	case "refused":
		e.conversations.WithLabelValues("refused").Inc()
	case "cancel":
		e.conversations.WithLabelValues("cancelled").Inc()
	case "verify":
		switch ev.Outcome {
		case "failed":
			e.failures.WithLabelValues(ev.Reason).Inc()
		case "blocked":
			e.conversations.WithLabelValues("blocked").Inc()
		}
	case "block":
		e.blocks.Inc()
	case string(flows.FlowReset), string(flows.FlowUnlock):
		if !ok || ev.Reason == "not_locked" {
			break
		}
		e.conversations.WithLabelValues("completed").Inc()
		if ev.Reason == "unlocked" {
			e.unlocks.Inc()
		} else {
			e.resets.Inc()
		}
	case "lockout_alert":
		e.alerts.Inc()
	}
	if e.next != nil {
		e.next.Audit(ctx, ev)
	}
}

// Unwrap is the auditor the events go on to, so the engine still finds what it can read (the
// daily counts, a person's events) behind the metrics.
func (e *events) Unwrap() flows.Auditor { return e.next }

// Timed measures a chat platform's requests: their latency is the acknowledgement latency,
// since the adapters answer before they work.
func (r *Registry) Timed(platform string, h http.Handler) http.Handler {
	hist := r.histogram("resetbot_ack_seconds", "Time to acknowledge a chat platform's request.", platform)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, req)
		hist.Observe(time.Since(start).Seconds())
	})
}

func (r *Registry) histogram(name, help, platform string) prometheus.Observer {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.hists[name]
	if !ok {
		v = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help,
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"platform"})
		r.reg.MustRegister(v)
		r.hists[name] = v
	}
	return v.WithLabelValues(platform)
}

// RedisHook times every Redis command and pipeline (one round trip each).
func (r *Registry) RedisHook() redis.Hook {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "resetbot_redis_seconds",
		Help: "Redis round trips by kind (command or pipeline).", Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .5}},
		[]string{"kind"})
	r.reg.MustRegister(v)
	return redisHook{cmd: v.WithLabelValues("command"), pipe: v.WithLabelValues("pipeline")}
}

type redisHook struct{ cmd, pipe prometheus.Observer }

func (redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, c redis.Cmder) error {
		start := time.Now()
		err := next(ctx, c)
		h.cmd.Observe(time.Since(start).Seconds())
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cs []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cs)
		h.pipe.Observe(time.Since(start).Seconds())
		return err
	}
}
