// Package metrics exposes resetbot's Prometheus metrics on their own listener.
package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds resetbot's metrics.
type Registry struct {
	reg   *prometheus.Registry
	mu    sync.Mutex
	hists map[string]*prometheus.HistogramVec
}

// New makes a registry with the Go runtime and process collectors.
func New() *Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Registry{reg: r, hists: map[string]*prometheus.HistogramVec{}}
}

// ReminderCounts are the scheduler's counters, read at scrape time.
type ReminderCounts struct {
	Sent, Skipped, Failed, Deferred *atomic.Int64
}

// Reminders exports the reminder counters as resetbot_reminders_total{outcome}.
func (r *Registry) Reminders(c ReminderCounts) {
	for outcome, v := range map[string]*atomic.Int64{"sent": c.Sent, "skipped": c.Skipped, "failed": c.Failed, "deferred": c.Deferred} {
		v := v
		r.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "resetbot_reminders_total", Help: "Registration reminders handled by this replica, by outcome.",
			ConstLabels: prometheus.Labels{"outcome": outcome},
		}, func() float64 { return float64(v.Load()) }))
	}
}

// AuditLost counts audit events the stream's cap trimmed before they were shipped
// (resetbot_audit_events_lost_total); give it to the audit writer.
func (r *Registry) AuditLost() func(n int) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "resetbot_audit_events_lost_total",
		Help: "Audit events trimmed from the Redis stream at its cap before they were shipped."})
	r.reg.MustRegister(c)
	return func(n int) { c.Add(float64(n)) }
}

// Handler serves /metrics.
func (r *Registry) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{}))
	return mux
}
