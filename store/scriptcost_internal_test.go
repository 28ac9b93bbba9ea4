package store

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/redistest"
)

// The scripts' cost on redis-server, next to the bot's allocations for them: each benchmark runs
// against a redis-server of its own (append-only log on, fsync every second, as in production)
// and reports redis-us/op, the microseconds redis-server spent in EVALSHA per script run (INFO
// commandstats: the script with every command it calls).
//
//	go test -run XXX -bench 'AuditScript|StepScript' -benchmem ./store/

// scriptServer is a redis-server of the benchmark's own.
func scriptServer(b *testing.B) (redis.UniversalClient, *redistest.Server) {
	b.Helper()
	srv := redistest.Start(b, "--appendonly", "yes", "--appendfsync", "everysec")
	rdb := srv.Client()
	b.Cleanup(func() { rdb.Close() })
	return rdb, srv
}

// serverCPU is the CPU time redis-server's main thread (which runs every command) has had, from
// /proc/<pid>/schedstat; 0 where that cannot be read. Unlike the commands' times in INFO
// commandstats, time the thread waited for a core (the machine busy with other work) is not in it.
func serverCPU(srv *redistest.Server) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", srv.Pid()))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	ns, _ := strconv.ParseInt(f[0], 10, 64)
	return time.Duration(ns)
}

// reportServerCPU reports redis-server's CPU microseconds per op since start (serverCPU's): the
// script runs with the reading, parsing and answering of their requests.
func reportServerCPU(b *testing.B, srv *redistest.Server, start time.Duration) {
	if end := serverCPU(srv); start > 0 && end > start {
		b.ReportMetric(float64((end-start).Microseconds())/float64(b.N), "redis-cpu-us/op")
	}
}

// resetStats zeroes INFO commandstats.
func resetStats(tb testing.TB, rdb redis.UniversalClient) {
	tb.Helper()
	if err := rdb.ConfigResetStat(context.Background()).Err(); err != nil {
		tb.Fatal(err)
	}
}

// reportScriptCost reports redis-server's microseconds per EVALSHA since the last resetStats.
func reportScriptCost(b *testing.B, rdb redis.UniversalClient) {
	b.Helper()
	calls, usec := commandStat(b, rdb, "evalsha")
	if calls == 0 {
		b.Fatal("no EVALSHA in INFO commandstats")
	}
	b.ReportMetric(float64(usec)/float64(calls), "redis-us/op")
}

// commandStat is how often redis-server ran a command (in a script too) and the microseconds it
// spent in it, since it started or its statistics were reset (INFO commandstats).
func commandStat(tb testing.TB, rdb redis.UniversalClient, name string) (calls, usec int64) {
	tb.Helper()
	s := commandStats(tb, rdb)[name]
	return s[0], s[1]
}

// commandStats are INFO commandstats: each command's calls and microseconds.
func commandStats(tb testing.TB, rdb redis.UniversalClient) map[string][2]int64 {
	tb.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][2]int64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		var s [2]int64
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "calls":
				s[0], _ = strconv.ParseInt(v, 10, 64)
			case "usec":
				s[1], _ = strconv.ParseInt(v, 10, 64)
			}
		}
		out[name] = s
	}
	return out
}

// benchSubject is a directory object id, as long as Entra's.
func benchSubject(i int) string { return fmt.Sprintf("0b1e5c2a-7d4f-4e8a-9c3b-%012d", i) }

// recoveryEvents are the audit events of one chat recovery, a typical batch of the writer's.
func recoveryEvents(subject string, now time.Time) []flows.AuditEvent {
	ev := func(action, outcome, reason string) flows.AuditEvent {
		return flows.AuditEvent{Time: now, Actor: "slack:TLOAD:U0123456789", Subject: subject, Platform: "slack",
			Action: action, Outcome: outcome, Reason: reason}
	}
	return []flows.AuditEvent{
		ev("identity", "ok", "email"), ev("verify", "ok", "totp"), ev("send", "ok", "email"),
		ev("verify", "ok", "email"), ev("link", "issued", "reset"), ev("reset", "ok", "user_password"),
		ev("notify", "sent", "email"),
	}
}

// BenchmarkAuditScript is one run of audit.lua with a recovery's seven events, each recovery a
// person of its own (so no index reaches its cap, as in a load test).
func BenchmarkAuditScript(b *testing.B) {
	rdb, srv := scriptServer(b)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	fixed := [3]any{AuditMaxLen, SubjectMaxLen, int64(countLifetime / time.Second)}
	batches := make([][]flows.AuditEvent, b.N+1)
	for i := range batches {
		batches[i] = recoveryEvents(benchSubject(i), now)
	}
	if err := auditScript.Load(ctx, rdb).Err(); err != nil {
		b.Fatal(err)
	}
	resetStats(b, rdb)
	cpu := serverCPU(srv)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		keys, args := auditArgs(batches[i], fixed)
		if err := run(ctx, rdb, auditScript, keys, args).Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportScriptCost(b, rdb)
	reportServerCPU(b, srv, cpu)
}

// stepCommits are the commits of one chat recovery's steps, as the engine makes them (see
// TestResetEndToEnd), and a wrong code: each starts from no session, for a person of its own.
func stepCommits(subject string, now time.Time) map[string]flows.Commit {
	chat := "slack:TLOAD:U0123456789"
	sess := &flows.Session{ID: "_YaqDsuepmaWVZP1yUH7sg", Version: 1, State: "await_code", Flow: "reset", UserID: subject,
		Chat:   flows.ChatRef{Platform: "slack", Tenant: "TLOAD", UserID: "U0123456789", Channel: "D0123456789", Locale: "en"},
		Method: flows.MethodEmail, Proven: []flows.MethodKind{flows.MethodTOTP}, CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
	limits := flows.Limits{FailMax: 5, FailWindow: 24 * time.Hour, TriesMax: 5, TriesWindow: time.Hour, BlockFor: 24 * time.Hour,
		SendMax: 10, SendWindow: 10 * time.Minute}
	base := func(idem string) flows.Commit {
		return flows.Commit{Subject: subject, ChatKey: chat, IdemKey: idem, Now: now, Session: sess}
	}
	start := base("Ev0001")
	start.Locale = &flows.PersonLocale{Lang: "en", TimeZone: "Europe/Berlin"}
	pick := base("Ev0002")
	totp := base("Ev0003")
	totp.Attempt = &flows.Attempt{Method: flows.MethodTOTP, Correct: true, TOTPStep: 59853240, Limits: limits}
	send := base("Ev0004")
	send.CountSend = &limits
	send.PutCode = &flows.StoredCode{MAC: strings.Repeat("fd6d928d", 8), ExpiresAt: now.Add(10 * time.Minute)}
	code := base("Ev0005")
	code.Attempt = &flows.Attempt{Method: flows.MethodEmail, Correct: true, CodeMAC: strings.Repeat("fd6d928d", 8), Limits: limits}
	code.Link = &flows.LinkGrant{Purpose: flows.PurposeReset, MAC: strings.Repeat("9cca6c7e", 8), ExpiresAt: now.Add(10 * time.Minute)}
	wrong := base("Ev0006")
	wrong.Attempt = &flows.Attempt{Method: flows.MethodTOTP, Correct: false, Limits: limits}
	return map[string]flows.Commit{"start": start, "pick": pick, "totp": totp, "send": send, "code": code, "rejected": wrong}
}

// BenchmarkStepScript is one run of step.lua for each kind of step a recovery commits: a new
// session (with the locale), a method picked (the session saved), an authenticator code
// accepted, an email code sent, the email code accepted with the reset link, and a wrong code.
func BenchmarkStepScript(b *testing.B) {
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	want := map[string]flows.Status{"rejected": flows.Rejected}
	for _, kind := range []string{"start", "pick", "totp", "send", "code", "rejected"} {
		b.Run(kind, func(b *testing.B) {
			rdb, srv := scriptServer(b)
			ctx := context.Background()
			c, err := NewCrypto(Keys{SealKeys: map[string][]byte{"k1": make([]byte, 32)}, CurrentID: "k1", MACKey: make([]byte, 32)})
			if err != nil {
				b.Fatal(err)
			}
			s := New(rdb, c)
			commits := make([]flows.Commit, b.N)
			p := rdb.Pipeline()
			for i := range commits {
				commits[i] = stepCommits(benchSubject(i), now)[kind]
				if a := commits[i].Attempt; a != nil && a.CodeMAC != "" {
					p.Set(ctx, codeKey(commits[i].Subject, commits[i].ChatKey), a.CodeMAC+"|1795597800000", time.Hour)
				}
			}
			if _, err := p.Exec(ctx); err != nil && err != redis.Nil && !strings.Contains(err.Error(), "no commands") {
				b.Fatal(err)
			}
			if err := s.Preload(ctx); err != nil {
				b.Fatal(err)
			}
			status := flows.Committed
			if st, ok := want[kind]; ok {
				status = st
			}
			resetStats(b, rdb)
			cpu := serverCPU(srv)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range commits {
				out, err := s.Commit(ctx, commits[i])
				if err != nil || out.Status != status {
					b.Fatalf("%s: %+v %v", kind, out, err)
				}
			}
			b.StopTimer()
			reportScriptCost(b, rdb)
			reportServerCPU(b, srv, cpu)
		})
	}
}
