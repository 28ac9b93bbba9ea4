package store

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
// commandstats: the script with every command it calls), and redis-cpu-us/op, the CPU time of its
// main thread per run (with the reading and answering of the requests).
//
//	go test -run XXX -bench 'AuditScript|StepScript' -benchmem ./store/
//
// Both are times, which a busy machine inflates. For counts that do not depend on the machine's
// load, run redis-server under callgrind, counting only what processCommand runs, and point the
// benchmarks at it: they then report instr/op, the instructions redis-server ran per script run.
//
//	valgrind --tool=callgrind --toggle-collect=processCommand --callgrind-out-file=/tmp/cg/out.%p \
//	  redis-server --port 7791 --save '' --appendonly yes --appendfsync everysec --dir /tmp/cg &
//	SCRIPT_BENCH_REDIS=127.0.0.1:7791 SCRIPT_BENCH_CALLGRIND=/tmp/cg/out.<its pid> \
//	  go test -run XXX -bench 'AuditScript|StepScript|LinkScripts' -benchtime 300x ./store/
//
// What costs what, measured this way one thing at a time (redis-server 7.0.15, instructions per
// run): an EVALSHA of 'return 1' with no keys or arguments ~10k; each key or argument ~600 more,
// plus ~11 per byte (Lua hashes every byte of every string it is given, a redis.call's answers
// too); a redis.call ~5k to 7k with its command, and a write ~3.5k more to copy it into the
// append-only file (more with many arguments: an XADD of seven fields ~15k); a local function
// ~550 (made anew on every run); tonumber(s) ~1.9k (it parses twice), s + 0 ~0.8k;
// string.format('%d', n) ~1.8k, '%d:%d' ~3k, a number joined to a string ~2.7k, two strings
// joined ~0.5k; a number given to redis.call ~2.3k more than a string (printed with %.17g); a
// table returned ~5.4k more than a string; a pattern over a link's value ~5k, two plain
// string.find ~2k. Lua's garbage collector runs a step every 50 scripts, whose cost grows with
// the scripts loaded (~4k per run with the bot's).

// scriptMeter is the redis-server a benchmark measures and what it reads of it.
type scriptMeter struct {
	rdb       redis.UniversalClient
	srv       *redistest.Server // nil for SCRIPT_BENCH_REDIS's
	callgrind string            // SCRIPT_BENCH_CALLGRIND: the server's callgrind output, out.<pid>
	first     int               // the first subject this run writes (others' on a shared server)
	cpu       time.Duration
}

// newScriptMeter starts a redis-server of the benchmark's own, or uses SCRIPT_BENCH_REDIS's.
func newScriptMeter(b *testing.B) *scriptMeter {
	b.Helper()
	m := &scriptMeter{callgrind: os.Getenv("SCRIPT_BENCH_CALLGRIND")}
	if addr := os.Getenv("SCRIPT_BENCH_REDIS"); addr != "" {
		m.rdb = redis.NewClient(&redis.Options{Addr: addr})
		m.first = int(time.Now().UnixNano()%1_000_000) * 1_000_000 // subjects no earlier run wrote
	} else {
		m.srv = redistest.Start(b, "--appendonly", "yes", "--appendfsync", "everysec")
		m.rdb = m.srv.Client()
	}
	b.Cleanup(func() { m.rdb.Close() })
	return m
}

// start begins the measured part: statistics zeroed, the timer and allocation counts reset.
func (m *scriptMeter) start(b *testing.B) {
	b.Helper()
	resetStats(b, m.rdb)
	m.cpu = m.serverCPU()
	if m.callgrind != "" {
		m.callgrindControl(b, "-z")
	}
	b.ReportAllocs()
	b.ResetTimer()
}

// stop ends it and reports redis-us/op, redis-cpu-us/op (a server of its own on Linux) and
// instr/op (under callgrind).
func (m *scriptMeter) stop(b *testing.B) {
	b.Helper()
	b.StopTimer()
	calls, usec := commandStat(b, m.rdb, "evalsha")
	if calls == 0 {
		b.Fatal("no EVALSHA in INFO commandstats")
	}
	b.ReportMetric(float64(usec)/float64(calls), "redis-us/op")
	if end := m.serverCPU(); m.cpu > 0 && end > m.cpu {
		b.ReportMetric(float64((end-m.cpu).Microseconds())/float64(b.N), "redis-cpu-us/op")
	}
	if m.callgrind != "" {
		m.callgrindControl(b, "-d")
		b.ReportMetric(float64(m.callgrindTotal(b))/float64(b.N), "instr/op")
	}
}

// serverCPU is the CPU time redis-server's main thread (which runs every command) has had, from
// /proc/<pid>/schedstat; 0 where that cannot be read. Unlike the commands' times in INFO
// commandstats, time the thread waited for a core (the machine busy with other work) is not in it.
func (m *scriptMeter) serverCPU() time.Duration {
	if m.srv == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", m.srv.Pid()))
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

// callgrindControl zeroes (-z) or dumps (-d) the counts of the redis-server callgrind runs.
func (m *scriptMeter) callgrindControl(b *testing.B, op string) {
	b.Helper()
	pid := m.callgrind[strings.LastIndexByte(m.callgrind, '.')+1:]
	out, err := exec.Command("callgrind_control", op, pid).CombinedOutput()
	if err != nil || strings.Contains(string(out), "Error") {
		b.Fatalf("callgrind_control %s %s: %v %s", op, pid, err, out)
	}
}

// callgrindTotal is the instruction count of callgrind's latest dump.
func (m *scriptMeter) callgrindTotal(b *testing.B) int64 {
	b.Helper()
	dumps, _ := filepath.Glob(m.callgrind + ".*")
	var latest string
	var at time.Time
	for _, d := range dumps {
		if fi, err := os.Stat(d); err == nil && fi.ModTime().After(at) {
			latest, at = d, fi.ModTime()
		}
	}
	if latest == "" {
		b.Fatalf("no dump %s.*", m.callgrind)
	}
	data, err := os.ReadFile(latest)
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && (f[0] == "totals:" || f[0] == "summary:") {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	b.Fatalf("no totals in %s", latest)
	return 0
}

// resetStats zeroes INFO commandstats.
func resetStats(tb testing.TB, rdb redis.UniversalClient) {
	tb.Helper()
	if err := rdb.ConfigResetStat(context.Background()).Err(); err != nil {
		tb.Fatal(err)
	}
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

// newTestStore is a Store on rdb with keys of zeros.
func newTestStore(tb testing.TB, rdb redis.UniversalClient) *Store {
	tb.Helper()
	c, err := NewCrypto(Keys{SealKeys: map[string][]byte{"k1": make([]byte, 32)}, CurrentID: "k1", MACKey: make([]byte, 32)})
	if err != nil {
		tb.Fatal(err)
	}
	return New(rdb, c)
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
	m := newScriptMeter(b)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	fixed := [3]any{AuditMaxLen, SubjectMaxLen, int64(countLifetime / time.Second)}
	batches := make([][]flows.AuditEvent, b.N)
	for i := range batches {
		batches[i] = recoveryEvents(benchSubject(m.first+i), now)
	}
	if err := auditScript.Load(ctx, m.rdb).Err(); err != nil {
		b.Fatal(err)
	}
	m.start(b)
	for i := 0; i < b.N; i++ {
		keys, args := auditArgs(batches[i], fixed)
		if err := run(ctx, m.rdb, auditScript, keys, args).Err(); err != nil {
			b.Fatal(err)
		}
	}
	m.stop(b)
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
			m := newScriptMeter(b)
			rdb := m.rdb
			ctx := context.Background()
			s := newTestStore(b, rdb)
			commits := make([]flows.Commit, b.N)
			p := rdb.Pipeline()
			for i := range commits {
				commits[i] = stepCommits(benchSubject(m.first+i), now)[kind]
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
			m.start(b)
			for i := range commits {
				out, err := s.Commit(ctx, commits[i])
				if err != nil || out.Status != status {
					b.Fatalf("%s: %+v %v", kind, out, err)
				}
			}
			m.stop(b)
		})
	}
}

// BenchmarkLinkScripts is one run of each script a recovery's reset page runs on its link:
// peek.lua (the page's GET and its POST each read the link and its session) and consume.lua as
// the reset consumes it, keeping the new password's record (keep_newpw.lua's work, in the same
// run). Each run is a person of their own whose email-code step gave them the link.
func BenchmarkLinkScripts(b *testing.B) {
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	linkMAC := strings.Repeat("9cca6c7e", 8)
	for _, kind := range []string{"peek", "consume"} {
		b.Run(kind, func(b *testing.B) {
			m := newScriptMeter(b)
			rdb := m.rdb
			ctx := context.Background()
			s := newTestStore(b, rdb)
			if err := s.Preload(ctx); err != nil {
				b.Fatal(err)
			}
			subjects := make([]string, b.N)
			recs := make([]flows.LinkRecord, b.N)
			for i := range subjects {
				subjects[i] = benchSubject(m.first + i)
				c := stepCommits(subjects[i], now)["code"]
				if err := rdb.Set(ctx, codeKey(c.Subject, c.ChatKey), c.Attempt.CodeMAC+"|1795597800000", time.Hour).Err(); err != nil {
					b.Fatal(err)
				}
				if out, err := s.Commit(ctx, c); err != nil || out.Status != flows.Committed {
					b.Fatalf("%+v %v", out, err)
				}
				if kind == "consume" {
					rec, _, err := s.Peek(ctx, subjects[i], flows.PurposeReset, linkMAC)
					if err != nil {
						b.Fatal(err)
					}
					recs[i] = rec
				}
			}
			kept := strings.Repeat("k", 120)
			m.start(b)
			for i := range subjects {
				var err error
				if kind == "peek" {
					_, _, err = s.Peek(ctx, subjects[i], flows.PurposeReset, linkMAC)
				} else {
					_, err = s.ConsumeKeeping(ctx, recs[i], linkMAC, nil, kept, 10*time.Minute, time.Now())
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			m.stop(b)
		})
	}
}
