package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot/web/webtest"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/graph/graphtest"
)

// demoOut is the demo's terminal as a test reads it: what was printed, and a wait for more.
type demoOut struct {
	mu   sync.Mutex
	b    bytes.Buffer
	wake chan struct{}
}

func (d *demoOut) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return d.b.Write(p)
}

// after waits until the output printed since mark matches re and returns the first submatch
// (or the match) and the new mark.
func (d *demoOut) after(t *testing.T, mark int, re *regexp.Regexp) (string, int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		d.mu.Lock()
		s := d.b.String()[mark:]
		d.mu.Unlock()
		if m := re.FindStringSubmatchIndex(s); m != nil {
			if len(m) >= 4 && m[2] >= 0 {
				return s[m[2]:m[3]], mark + m[1]
			}
			return s[m[0]:m[1]], mark + m[1]
		}
		select {
		case <-d.wake:
		case <-deadline:
			t.Fatalf("the demo never printed %v after:\n%s", re, s)
		}
	}
}

func (d *demoOut) len() int { d.mu.Lock(); defer d.mu.Unlock(); return d.b.Len() }

var (
	demoLinkRE = regexp.MustCompile(`🔗 (http://localhost:\d+/l/\S+)`)
	outboxRE   = regexp.MustCompile(`(?s)\[outbox\] to alice\.home@mail\.test.*?\b(\d{6})\b`)
)

// An admin can try everything from the demo's console: Dana Admin (a bot admin with a
// multi-factor sign-in on the demo tenant) reads the policy, unblocks a blocked Alice without a
// restart, and a weakening change is confirmed by Dana and approved by Frank on the demo's
// sign-in pages.
func TestDemoAdminFromTheConsole(t *testing.T) {
	pr, pw := io.Pipe()
	out := &demoOut{wake: make(chan struct{}, 1)}
	var errb bytes.Buffer
	env := map[string]string{"DEMO_ADDR": "127.0.0.1:0"}
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"demo"}, func(k string) string { return env[k] }, pr, out, &errb)
	}()
	type_ := func(line string) int {
		t.Helper()
		mark := out.len()
		if _, err := io.WriteString(pw, line+"\n"); err != nil {
			t.Fatal(err)
		}
		return mark
	}
	mark := 0
	out.after(t, mark, regexp.MustCompile(`resetbot DEMO`))
	out.after(t, 0, regexp.MustCompile(`frank@contoso\.test`))

	// Alice registers an authenticator and an email address, then blocks herself with wrong codes
	m := type_("/as alice@contoso.test")
	m = type_("register")
	link, _ := out.after(t, m, demoLinkRE)
	b := webtest.New(t, http.DefaultClient)
	b.Get(link)
	b.Submit("", nil)
	b.SignIn("alice@contoso.test", graphtest.DemoPassword)
	b.Submit("/enrol/begin", url.Values{"method": {"totp"}})
	code, _ := totp.Code(b.TOTPSecret(), time.Now())
	b.Submit("/enrol/confirm", url.Values{"code": {code}})
	m = out.len()
	b.Submit("/enrol/begin", url.Values{"method": {"email"}, "address": {"alice.home@mail.test"}})
	ecode, _ := out.after(t, m, outboxRE)
	b.Submit("/enrol/confirm", url.Values{"code": {ecode}})
	b.Submit("/enrol/done", nil)
	if !strings.Contains(b.Last, "Your methods are registered") {
		t.Fatalf("registration did not finish:\n%s", b.Last)
	}
	type_("I'm locked out")
	m = type_("1")
	for i := 0; i < 5; i++ {
		m = type_("000000")
	}
	out.after(t, m, regexp.MustCompile(`self-service is paused for this account until`))
	m = type_("I'm locked out")
	out.after(t, m, regexp.MustCompile(`paused`))

	// Dana, the demo's bot admin: the commands answer in the console
	m = type_("/as dana@contoso.test")
	m = type_("/sspr policy show")
	out.after(t, m, regexp.MustCompile(`(?s)Self-service policy, version 1:.*?• required = 2 `))
	m = type_("/sspr unblock alice@contoso.test")
	link, _ = out.after(t, m, regexp.MustCompile(`one-time page: (http://\S+)`))
	b = webtest.New(t, http.DefaultClient)
	b.Get(link)
	b.Submit("", nil)
	b.SignIn("dana@contoso.test", graphtest.DemoPassword)
	if b.Status != 200 || !strings.Contains(b.Last, "can use self-service again") {
		t.Fatalf("unblock with the demo's multi-factor sign-in: %d\n%s", b.Status, b.Last)
	}
	// Alice is not blocked any more: she gets the methods menu again
	type_("/as alice@contoso.test")
	m = type_("I'm locked out")
	if s, _ := out.after(t, m, regexp.MustCompile(`(?s)^.*?Choose a method`)); strings.Contains(s, "paused") {
		t.Fatalf("still paused after the unblock:\n%s", s)
	}

	// a weakening change: Dana confirms it on the sign-in page, Frank approves it
	type_("/as dana@contoso.test")
	m = type_("/sspr policy set required 1")
	link, _ = out.after(t, m, regexp.MustCompile(`one-time page: (http://\S+)`))
	id, _ := out.after(t, m, regexp.MustCompile(`policy approve (\S+?)"`))
	b = webtest.New(t, http.DefaultClient)
	b.Get(link)
	b.Submit("", nil)
	b.SignIn("dana@contoso.test", graphtest.DemoPassword)
	if b.Status != 200 || !strings.Contains(b.Last, "Confirmed") {
		t.Fatalf("confirmation: %d\n%s", b.Status, b.Last)
	}
	type_("/as frank@contoso.test")
	m = type_("/sspr policy approve " + id)
	link, _ = out.after(t, m, regexp.MustCompile(`one-time page: (http://\S+)`))
	b = webtest.New(t, http.DefaultClient)
	b.Get(link)
	b.Submit("", nil)
	b.SignIn("frank@contoso.test", graphtest.DemoPassword)
	if b.Status != 200 || !strings.Contains(b.Last, "Approved and applied") {
		t.Fatalf("approval: %d\n%s", b.Status, b.Last)
	}
	m = type_("/sspr policy show")
	out.after(t, m, regexp.MustCompile(`(?s)Self-service policy, version 2:.*?• required = 1 `))

	// the report (and its CSV, printed in the terminal), Alice's audit trail, a reminder campaign
	for _, c := range []struct{ cmd, want string }{
		{"report", `Self-service report\n• in scope: 1\n• registered: 1 `},
		{"report csv", `📎 resetbot-report\.csv\nuser,name,registered,methods.*\nalice@contoso\.test,Alice Cloud,true,totp email`},
		{"audit alice@contoso.test", `(?s)Recent security events for Alice Cloud.*unblock ok.*block ok until`},
		{"remind now", `Reminder campaign started: 0 people have not registered`},
	} {
		m = type_("/sspr " + c.cmd)
		out.after(t, m, regexp.MustCompile(c.want))
	}

	// a person who is not a bot admin is refused
	type_("/as bob@contoso.test")
	m = type_("/sspr policy show")
	out.after(t, m, regexp.MustCompile(`only bot admins can use that command`))

	// Hana, the demo's helpdesk agent, verifies Alice by number matching in Alice's console chat
	type_("/as hana@contoso.test")
	m = type_("/sspr verify alice@contoso.test")
	num, _ := out.after(t, m, regexp.MustCompile(`number to the caller: (\d\d)`))
	key, _ := out.after(t, m, regexp.MustCompile(`(?m)^  (\d)\) `+num+`$`))
	type_("/as alice@contoso.test")
	m = type_(key)
	out.after(t, m, regexp.MustCompile(`\[resetbot → hana@contoso\.test\] Alice Cloud is verified with number matching in chat at \d\d:\d\d UTC\.`))

	type_("/quit")
	pw.Close()
	if code := <-done; code != 0 {
		t.Fatalf("demo exited %d: %s", code, errb.String())
	}
}

// make demo runs the binary make build makes, with make build's flags, and says that it is
// building first.
func TestMakeDemoUsesTheBuild(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not installed (the README's commands need it)")
	}
	// run as a top-level make even under make test (no "Entering directory" lines)
	dryRun := func(target string) []byte {
		t.Helper()
		cmd := exec.Command("make", "--no-print-directory", "-n", target)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "MAKEFLAGS=") && !strings.HasPrefix(kv, "MAKELEVEL=") && !strings.HasPrefix(kv, "MFLAGS=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	build, demo := dryRun("build"), dryRun("demo")
	d := string(demo)
	if !strings.Contains(d, strings.TrimSpace(string(build))) {
		t.Errorf("make demo does not run make build's command %q:\n%s", build, d)
	}
	if strings.Contains(d, "go run") || !strings.Contains(d, "bin/resetbot demo") {
		t.Errorf("make demo does not run the built binary:\n%s", d)
	}
	if !strings.Contains(d, "echo") || !strings.Contains(d, "few minutes") {
		t.Errorf("make demo does not say it is building:\n%s", d)
	}
}
