package main

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows/method/totp"

	"github.com/resetbot/resetbot/flows"
)

// graphLatency is what every Graph call costs in BenchmarkGraphWaits: a realistic round trip to
// Graph from a data centre in another region.
const graphLatency = 120 * time.Millisecond

// BenchmarkGraphWaits walks one recovery through the real wiring (console chat, Redis, SMTP, the
// Graph client against graphtest with 120 ms added to every Graph call) and reports how long a
// person waits at each step, and so how many Graph round trips the step waits for. Each chat step
// runs with a cold identity cache (the clock moves past its lifetime), the worst case. It writes
// the table into BENCHMARKS.md:
//
//	go test -run XXX -bench GraphWaits -benchtime 1x .
func BenchmarkGraphWaits(b *testing.B) {
	var rows [][2]string
	for range b.N {
		rows = graphWaits(b)
	}
	var t strings.Builder
	fmt.Fprintf(&t, "%s\n### What a person waits for when Graph is 120 ms away\n\n", waitsStart)
	fmt.Fprintf(&t, "Written by `go test -run XXX -bench GraphWaits -benchtime 1x .` (%s, %d CPUs, %s): one recovery through the console adapter, Redis, SMTP and the real Graph client against graphtest with %d ms added to every Graph call; each chat step with a cold identity cache, the first after the engine forgot the chat's object id (KnownIDTTL: the address is searched again, with the pin the registration left). Round trips = the wait divided by %d ms, rounded down.\n\n",
		runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), runtime.Version(), graphLatency.Milliseconds(), graphLatency.Milliseconds())
	t.WriteString("| step | wait (ms) | Graph round trips waited for |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&t, "| %s | %s |\n", r[0], r[1])
	}
	t.WriteString(waitsEnd + "\n")
	if err := writeSection("BENCHMARKS.md", t.String()); err != nil {
		b.Fatal(err)
	}
}

const (
	waitsStart = "<!-- graph-waits: written by BenchmarkGraphWaits -->"
	waitsEnd   = "<!-- /graph-waits -->"
)

// writeSection replaces the marked section of a file where it stands, or appends it.
func writeSection(path, section string) error {
	old, _ := os.ReadFile(path)
	s := string(old)
	re := regexp.MustCompile(`(?s)` + regexp.QuoteMeta(waitsStart) + `.*?` + regexp.QuoteMeta(waitsEnd) + `\n?`)
	if loc := re.FindStringIndex(s); loc != nil {
		return os.WriteFile(path, []byte(s[:loc[0]]+section+s[loc[1]:]), 0o644)
	}
	return os.WriteFile(path, []byte(strings.TrimRight(s, "\n")+"\n\n"+section), 0o644)
}

func graphWaits(tb testing.TB) [][2]string {
	w := newWorld(tb)
	alice := w.users[0]
	link := linkIn(tb, w.say(tb, alice.UPN, "register"))
	b, secret, _ := w.registerOnWeb(tb, link, alice)
	w.tenant.Latency = graphLatency
	var rows [][2]string
	step := func(name string, f func()) {
		w.clock.Advance(flows.DefaultIdentityTTL + time.Second) // a cold identity cache
		if len(rows) == 0 {
			// long enough after registering that the engine forgot the chat's object id: it
			// finds it again by the address, with the pin the registration left
			w.clock.Advance(flows.KnownIDTTL)
		}
		start := time.Now()
		f()
		d := time.Since(start)
		rows = append(rows, [2]string{name, fmt.Sprintf("%.0f | %d", float64(d.Microseconds())/1000, int(d/graphLatency))})
	}
	var rs []flows.Reply
	step("1 \"I'm locked out\", the object id forgotten", func() { rs = w.say(tb, alice.UPN, "I'm locked out") })
	if !msgIn(rs, flows.MsgChooseMethod) {
		tb.Fatalf("start: %v", rs)
	}
	step("2 pick the authenticator app", func() { rs = w.say(tb, alice.UPN, "1") })
	code, _ := totp.Code(secret, w.clock.Now().Add(flows.DefaultIdentityTTL+time.Second))
	step("3 its code", func() { rs = w.say(tb, alice.UPN, code) })
	if !msgIn(rs, flows.MsgProvenMore) {
		tb.Fatalf("totp: %v", rs)
	}
	sent := len(w.smtp.Messages())
	step("4 pick email", func() { rs = w.say(tb, alice.UPN, "email") })
	ecode := mailCode(tb, w.smtp.Wait(tb, sent+1)[sent])
	step("5 the emailed code", func() { rs = w.say(tb, alice.UPN, ecode) })
	reset := linkIn(tb, rs)
	b.Get(reset)
	const pw = "Sunny-Meadow-42"
	step("6 set password (page POST)", func() { b.Submit("", url.Values{"password": {pw}, "confirm": {pw}}) })
	if !strings.Contains(b.Last, "Your password was changed") {
		tb.Fatalf("reset page:\n%s", b.Last)
	}
	w.eng.Drain()
	// the one step that waits for two: the very first message of a chat account nobody has
	// registered from (no pin), whose object id only the search can give the privilege checks
	step("first message ever from an unregistered chat account", func() { rs = w.say(tb, w.users[1].UPN, "I'm locked out") })
	return rows
}
