package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot/auditship"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
)

// inLine is an auditor that writes each event before Audit returns (a closed auditor writes in
// line), so a test can interleave writes and shipping without waiting.
func inLine(a *store.Auditor) *store.Auditor { a.Close(); return a }

// Two replicas ship while 40 days of events pass through a stream capped at 200: the daily
// counts stay exact, the two shipped logs together hold every event once, in order, and nothing
// is counted lost; a third replica finds nothing left to ship.
func TestShippedLogHasEveryEventPastTheCap(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := inLine(store.NewAuditorWith(rdb, quiet, store.AuditOptions{MaxLen: 200}))
	var logA, logB bytes.Buffer
	shipA := store.NewShipper(rdb, auditship.NewLines(&logA), quiet)
	shipB := store.NewShipper(rdb, auditship.NewLines(&logB), quiet)
	shipA.Batch, shipB.Batch = 64, 64
	round := 0
	ship := func() {
		// the replicas take turns asking first; the one that took the lease ships every time
		first, second := shipA, shipB
		if round++; round%2 == 0 {
			first, second = shipB, shipA
		}
		for _, s := range []*store.Shipper{first, second} {
			if _, err := s.ShipOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	written := 0
	n := fillPastCap(t, func(e flows.AuditEvent) {
		a.Audit(ctx, e)
		if written++; written%50 == 0 {
			ship()
		}
	}, now)
	ship()
	checkCounts(t, a, now)
	if lost, err := a.LostEvents(ctx); err != nil || lost != 0 {
		t.Fatalf("lost %d events (%v) though shipping kept up", lost, err)
	}
	if logA.Len() > 0 && logB.Len() > 0 {
		t.Fatal("both replicas shipped")
	}
	var got []flows.AuditRecord
	for _, l := range strings.Split(strings.TrimSpace(logA.String()+logB.String()), "\n") {
		var r flows.AuditRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		got = append(got, r)
	}
	if len(got) != n {
		t.Fatalf("shipped %d events, wrote %d", len(got), n)
	}
	if got[0].Subject != "lone" || got[0].Action != "signin" || !got[0].Time.Equal(now.AddDate(0, 0, -39)) {
		t.Fatalf("the first event shipped is %+v", got[0])
	}
	for i := 1; i < len(got); i++ {
		if !idAfter(got[i].ID, got[i-1].ID) {
			t.Fatalf("shipped out of order or twice: %s after %s", got[i].ID, got[i-1].ID)
		}
	}
	if m, err := store.NewShipper(rdb, auditship.NewLines(io.Discard), quiet).ShipOnce(ctx); err != nil || m != 0 {
		t.Fatalf("a third replica shipped %d (%v)", m, err)
	}
}

// idAfter compares stream ids (milliseconds-sequence).
func idAfter(a, b string) bool {
	var am, as, bm, bs int64
	fmt.Sscanf(a, "%d-%d", &am, &as)
	fmt.Sscanf(b, "%d-%d", &bm, &bs)
	return am > bm || (am == bm && as > bs)
}

// A sink that fails keeps the cursor where it was: the batch is offered again and lands whole.
func TestShipperRetriesAFailedBatch(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := inLine(store.NewAuditor(rdb, quiet))
	for i := 0; i < 3; i++ {
		a.Audit(ctx, flows.AuditEvent{Time: time.Now(), Subject: "u1", Action: "reset", Outcome: "ok"})
	}
	sink := &flaky{fail: 1}
	s := store.NewShipper(rdb, sink, quiet)
	if _, err := s.ShipOnce(ctx); err == nil {
		t.Fatal("a failed sink was not reported")
	}
	if n, err := s.ShipOnce(ctx); err != nil || n != 3 || len(sink.got) != 3 {
		t.Fatalf("second round shipped %d (%v), sink holds %d", n, err, len(sink.got))
	}
}

// With nothing shipping, the cap trims unshipped events: an ALERT line says how many.
func TestTrimmingUnshippedEventsRaisesAnAlert(t *testing.T) {
	rdb := redistest.Start(t).Client()
	var logs bytes.Buffer
	a := inLine(store.NewAuditorWith(rdb, slog.New(slog.NewTextHandler(&logs, nil)), store.AuditOptions{MaxLen: 10}))
	for i := 0; i < 12; i++ {
		a.Audit(context.Background(), flows.AuditEvent{Time: time.Now(), Subject: "u1", Action: "reset", Outcome: "ok"})
	}
	if !strings.Contains(logs.String(), "ALERT audit events trimmed before they were shipped") || !strings.Contains(logs.String(), "events=1 cap=10") {
		t.Fatalf("no ALERT line:\n%s", logs.String())
	}
}

type flaky struct {
	fail int
	got  []flows.AuditRecord
}

func (f *flaky) Ship(_ context.Context, recs []flows.AuditRecord) error {
	if f.fail > 0 {
		f.fail--
		return io.ErrUnexpectedEOF
	}
	f.got = append(f.got, recs...)
	return nil
}
