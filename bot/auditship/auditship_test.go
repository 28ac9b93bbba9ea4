package auditship_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/auditship"
	"github.com/resetbot/resetbot/flows"
)

var recs = []flows.AuditRecord{
	{ID: "1700000000000-0", AuditEvent: flows.AuditEvent{Time: time.UnixMilli(1700000000000).UTC(), Actor: "slack:T1:U1", Subject: "u1", Action: "reset", Outcome: "ok"}},
	{ID: "1700000000001-0", AuditEvent: flows.AuditEvent{Time: time.UnixMilli(1700000000001).UTC(), Subject: "u2", Action: "block", Outcome: "ok"}},
}

// collector is an HTTP event collector as Splunk documents it: the token in
// "Authorization: Splunk <token>", events as stacked JSON envelopes with "time" in epoch seconds
// and the event object under "event"; 503 when busy, 401 for a wrong token
// (https://help.splunk.com/splunk-enterprise/get-data-in/collect-http-event-data/format-events-for-http-event-collector).
type collector struct {
	busy   int
	events []map[string]any
	calls  int
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.calls++
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Splunk hec-token" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"text":"Invalid token","code":4}`))
		return
	}
	if c.busy > 0 {
		c.busy--
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"text":"Server is busy","code":9}`))
		return
	}
	dec := json.NewDecoder(r.Body)
	for dec.More() {
		var env map[string]any
		if err := dec.Decode(&env); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"text":"Invalid data format","code":6}`))
			return
		}
		c.events = append(c.events, env)
	}
	_, _ = w.Write([]byte(`{"text":"Success","code":0}`))
}

// A busy collector is retried with growing pauses until it takes the batch, whole; a wrong token
// is not retried.
func TestHECRetriesABusyCollector(t *testing.T) {
	c := &collector{busy: 2}
	srv := httptest.NewTLSServer(c)
	defer srv.Close()
	var pauses []time.Duration
	h := &auditship.HEC{URL: srv.URL + "/services/collector/event", Token: "hec-token", Client: srv.Client(),
		Sleep: func(_ context.Context, d time.Duration) error { pauses = append(pauses, d); return nil }}
	if err := h.Ship(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if c.calls != 3 || len(pauses) != 2 || pauses[0] != time.Second || pauses[1] != 2*time.Second {
		t.Fatalf("%d calls, pauses %v", c.calls, pauses)
	}
	if len(c.events) != 2 || c.events[0]["time"] != 1700000000.0 || c.events[1]["event"].(map[string]any)["action"] != "block" {
		t.Fatalf("collector got %+v", c.events)
	}
	h.Token, c.calls = "wrong", 0
	if err := h.Ship(context.Background(), recs); err == nil || c.calls != 1 || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a wrong token: %v after %d calls", err, c.calls)
	}
	c.busy, h.Token, c.calls = 10, "hec-token", 0
	if err := h.Ship(context.Background(), recs); err == nil || c.calls != 5 {
		t.Fatalf("an always busy collector: %v after %d calls", err, c.calls)
	}
}

// AUDIT_LOG names a file: every batch is appended to it as JSON lines, across restarts.
func TestLinesToAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	for i := 0; i < 2; i++ {
		sink, closeSink, err := auditship.FromConfig(bot.Config{AuditLog: path}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := sink.Ship(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
		closeSink()
	}
	f, _ := os.Open(path)
	defer f.Close()
	var got []flows.AuditRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r flows.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 4 || got[2] != recs[0] || got[3] != recs[1] {
		t.Fatalf("file holds %+v", got)
	}
	if sink, _, _ := auditship.FromConfig(bot.Config{AuditLog: "off"}, nil, nil); sink != nil {
		t.Fatal("AUDIT_LOG=off still ships")
	}
	var out bytes.Buffer
	sink, _, _ := auditship.FromConfig(bot.Config{AuditLog: "stdout"}, &out, nil)
	_ = sink.Ship(context.Background(), recs[:1])
	if !strings.HasPrefix(out.String(), `{"action":"reset"`) || strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("stdout got %q", out.String())
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"2026-11-01":           time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"2026-11-29T08:00:00Z": time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC),
		"72h":                  now.Add(-72 * time.Hour),
	} {
		if got, err := auditship.ParseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "-3h", "2026-13-01"} {
		if _, err := auditship.ParseSince(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
