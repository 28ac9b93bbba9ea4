package main

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/app"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// BenchmarkReport50k makes the bot admins' report over 50,000 users in graphtest (paged through
// the real Graph SDK, every tenth registered) after 500,000 audit events over 30 days, far past
// the stream's cap: the figures come from the daily counters and are checked exact.
//
//	CGO_ENABLED=0 go test -run XXX -bench Report50k -benchtime 3x .
func BenchmarkReport50k(b *testing.B) {
	const users, events = 50_000, 500_000
	w := newRemindWorld(b, users, 10)
	clock := storetest.NewClock()
	now := clock.Now()
	ctx := context.Background()
	a, err := app.New(ctx, app.Options{Redis: w.st.Client(), Crypto: w.crypto, Directory: app.Directory{Directory: w.dir},
		Mailer: noMail{}, Clock: clock, Log: bot.NewLogger(&bytes.Buffer{}, "error")})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	audit := a.Auditor
	// per day d (0..29): resets, unlocks, reminders and TOTP proofs in a fixed mix
	want := map[string]int{}
	for i := 0; i < events; i++ {
		d := i % 30
		e := flows.AuditEvent{Time: now.AddDate(0, 0, -d), Subject: fmt.Sprintf("00000000-0000-4000-8000-%012d", i%users)}
		switch i % 5 {
		case 0:
			e.Action, e.Outcome, e.Reason = "reset", "ok", "user_password"
		case 1:
			e.Action, e.Outcome, e.Reason = "unlock", "ok", "unlocked"
		case 2, 3:
			e.Action, e.Outcome, e.Reason = "reminder", "sent", "campaign"
		default:
			e.Action, e.Outcome, e.Reason = "verify", "ok", "totp"
		}
		if k := flows.CountKind(e); d < 7 {
			want[k+"7"]++
			want[k+"30"]++
		} else {
			want[k+"30"]++
		}
		audit.Audit(ctx, e)
	}
	audit.Close() // flushed
	e := a.Engine
	var trips, inStep atomic.Int64
	w.st.Client().AddHook(tripHook{all: &trips, inStep: &inStep})
	calls := func() int {
		n := 0
		for _, c := range w.tenant.Calls() {
			n += c
		}
		return n
	}
	graphBefore, cpuBefore := calls(), cpuTime()
	b.ResetTimer()
	var r flows.Report
	for i := 0; i < b.N; i++ {
		var err error
		if r, err = e.Report(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(trips.Load())/float64(b.N), "redis-roundtrips/report")
	b.ReportMetric(float64(calls()-graphBefore)/float64(b.N), "graph-requests/report")
	b.ReportMetric((cpuTime()-cpuBefore).Seconds()/float64(b.N), "cpu-s/report")
	if r.InScope != users || r.Registered != users/10 {
		b.Fatalf("in scope %d, registered %d", r.InScope, r.Registered)
	}
	got := map[string]int{flows.CountReset + "7": r.Resets7, flows.CountReset + "30": r.Resets30, flows.CountUnlock + "7": r.Unlocks7,
		flows.CountUnlock + "30": r.Unlocks30, flows.CountReminder + "7": r.Reminders7, flows.CountReminder + "30": r.Reminders30,
		flows.CountVerified(flows.MethodTOTP) + "30": r.Verified30[flows.MethodTOTP]}
	for k, g := range got {
		if g != want[k] {
			b.Errorf("%s: the report says %d, %d were written", k, g, want[k])
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/report")
	b.ReportMetric(float64(users), "users")
	b.ReportMetric(float64(events), "events")
}

// cpuTime is the CPU time this process used so far (the bot's side and the in-process fakes;
// redis-server is a process of its own): on a shared machine it says more than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
