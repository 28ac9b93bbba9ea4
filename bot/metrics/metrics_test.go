package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/resetbot/resetbot/bot/metrics"
	"github.com/resetbot/resetbot/flows"
)

func TestReminderCountersAreScraped(t *testing.T) {
	var sent, skipped, failed, deferred atomic.Int64
	r := metrics.New()
	r.Reminders(metrics.ReminderCounts{Sent: &sent, Skipped: &skipped, Failed: &failed, Deferred: &deferred})
	sent.Add(7)
	failed.Add(2)
	b := scrape(t, r)
	for _, want := range []string{`resetbot_reminders_total{outcome="sent"} 7`, `resetbot_reminders_total{outcome="failed"} 2`,
		`resetbot_reminders_total{outcome="skipped"} 0`, "go_goroutines"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("missing %q", want)
		}
	}
}

type sink struct{ n int }

func (s *sink) Audit(context.Context, flows.AuditEvent) { s.n++ }

func TestAuditEventsBecomeProductMetrics(t *testing.T) {
	r := metrics.New()
	next := &sink{}
	a := r.Audit(next)
	for _, e := range []struct{ action, outcome, reason string }{
		{"verify_start", "ok", "reset"}, {"verify_start", "refused", "not_registered"}, {"refused", "refused", "privileged"},
		{"verify", "failed", "totp"}, {"verify", "failed", "totp"}, {"verify", "failed", "email"}, {"verify", "blocked", "sms"},
		{"block", "ok", "until"}, {"cancel", "ok", ""}, {"reset", "ok", "user_chosen"}, {"unlock", "ok", "unlocked"},
		{"unlock", "ok", "temporary"}, {"unlock", "ok", "not_locked"}, {"reset", "failed", "directory"}, {"lockout_alert", "ok", ""},
	} {
		a.Audit(context.Background(), flows.AuditEvent{Action: e.action, Outcome: e.outcome, Reason: e.reason})
	}
	if next.n != 15 {
		t.Fatalf("forwarded %d of 15", next.n)
	}
	h := r.Timed("slack", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	for i := 0; i < 3; i++ {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/slack/events", nil))
	}
	b := scrape(t, r)
	for _, want := range []string{
		`resetbot_conversations_total{outcome="started"} 1`, `resetbot_conversations_total{outcome="refused"} 2`,
		`resetbot_conversations_total{outcome="blocked"} 1`, `resetbot_conversations_total{outcome="cancelled"} 1`,
		`resetbot_conversations_total{outcome="completed"} 3`,
		`resetbot_verification_failures_total{method="totp"} 2`, `resetbot_verification_failures_total{method="email"} 1`,
		"resetbot_resets_total 2", "resetbot_unlocks_total 1", "resetbot_blocks_total 1", "resetbot_lockout_alerts_total 1",
		`resetbot_events_total{action="reset",outcome="failed"} 1`, `resetbot_ack_seconds_count{platform="slack"} 3`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("missing %q", want)
		}
	}
}

// scrape reads /metrics from the registry's handler.
func scrape(t *testing.T, r *metrics.Registry) []byte {
	t.Helper()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}
