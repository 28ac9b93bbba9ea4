package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/resetbot/resetbot/bot/metrics"
)

func TestReminderCountersAreScraped(t *testing.T) {
	var sent, skipped, failed, deferred atomic.Int64
	r := metrics.New()
	r.Reminders(metrics.ReminderCounts{Sent: &sent, Skipped: &skipped, Failed: &failed, Deferred: &deferred})
	sent.Add(7)
	failed.Add(2)
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`resetbot_reminders_total{outcome="sent"} 7`, `resetbot_reminders_total{outcome="failed"} 2`,
		`resetbot_reminders_total{outcome="skipped"} 0`, "go_goroutines"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("missing %q", want)
		}
	}
}
