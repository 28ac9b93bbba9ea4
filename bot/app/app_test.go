package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/app"
	"github.com/resetbot/resetbot/bot/metrics"
	"github.com/resetbot/resetbot/bot/notify/smtptest"
	slackbot "github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph/ad/adtest"
	"github.com/resetbot/resetbot/internal/freeport"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
	"github.com/resetbot/resetbot/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	adtest.StopShared()
	os.Exit(code)
}

// watched is a writer whose readers can wait for some text to appear.
type watched struct {
	mu   sync.Mutex
	b    bytes.Buffer
	wake chan struct{}
}

func newWatched() *watched { return &watched{wake: make(chan struct{}, 1)} }

func (w *watched) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.b.Write(p)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *watched) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

// wait blocks until s was written (woken by each write), failing after 20 s.
func (w *watched) wait(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(w.String(), s) {
		select {
		case <-w.wake:
		case <-deadline:
			t.Fatalf("never written: %q\n%s", s, w.String())
		}
	}
}

// freeAddr is a free loopback address for a server that binds it later (internal/freeport).
func freeAddr(t *testing.T) string { return freeport.Addr(t) }

func key(t *testing.T) []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i + 1)
	}
	return b
}

const slackTeam = "T0CONTOSO"

// bed is an App with every kind of part: the listener, Slack in Socket Mode against the fake
// Slack, the console on a pipe, the reminder scheduler and the metrics listener.
type bed struct {
	app     *app.App
	opts    app.Options
	logs    *watched
	out     *watched
	stdin   *io.PipeWriter
	slack   *fakeslack.Server
	dir     *storetest.Directory
	clock   *storetest.Clock
	metrics string
}

func newBed(t *testing.T, edit ...func(*app.Options)) *bed {
	t.Helper()
	b := &bed{logs: newWatched(), out: newWatched(), slack: fakeslack.Start(t), dir: storetest.NewDirectory(), clock: storetest.NewClock()}
	rs := redistest.Start(t)
	rdb := rs.Client()
	crypto, err := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k1": key(t)}, CurrentID: "k1", MACKey: key(t)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stdinR, stdinW := io.Pipe()
	t.Cleanup(func() { stdinW.Close() })
	b.stdin = stdinW
	b.metrics = freeAddr(t)
	b.opts = app.Options{Redis: rdb, Crypto: crypto, Directory: app.Directory{Directory: b.dir}, Mailer: &storetest.Mailer{},
		Log: bot.NewLogger(b.logs, "debug"), BaseURL: "https://bot.contoso.test", Metrics: metrics.New(), MetricsAddr: b.metrics,
		Listener: ln, Clock: b.clock,
		Slack: &app.Slack{Config: slackbot.Config{BotToken: "xoxb-1", AppToken: "xapp-1", SigningSecret: "0123456789abcdef0123456789abcdef",
			Socket: true, TeamIDs: []string{slackTeam}, APIURL: b.slack.GetAPIURL()},
			Options: []slackbot.Option{slackbot.WithSleep(b.clock.Sleep)}},
		Console: &app.Console{In: stdinR, Out: b.out}}
	for _, f := range edit {
		f(&b.opts)
	}
	a, err := app.New(context.Background(), b.opts)
	if err != nil {
		t.Fatal(err)
	}
	b.app = a
	pol := flows.DefaultPolicy()
	pol.EnabledFor = flows.EnabledAll
	if _, err := a.Store.PutPolicy(context.Background(), pol, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs the App until the returned stop is called; stop returns Run's error.
func (b *bed) run(t *testing.T) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.app.Run(ctx) }()
	b.logs.wait(t, "resetbot serving")
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// stopped lists the parts in the order the log says they stopped.
func stopped(t *testing.T, logs string) []string {
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == "part stopped" {
			names = append(names, m["part"].(string))
		}
	}
	return names
}

// Every part runs, and at the end each is stopped in order and waited for: the listener first
// (no new request), then what reads chat input, the background work, the adapters' work in
// flight, and the metrics listener last, shut down rather than closed.
func TestRunStartsEveryPartAndStopsEachInOrder(t *testing.T) {
	b := newBed(t)
	stop := b.run(t)
	base := "http://" + b.opts.Listener.Addr().String()
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz: %d", code)
	}
	if _, m := get(t, "http://"+b.metrics+"/metrics"); !strings.Contains(m, "go_goroutines") {
		t.Fatalf("metrics: %s", m)
	}
	// Socket Mode is connected: an event is acknowledged
	b.slack.SendEnvelope("events_api", "env-1", fakeslack.MessageEvent(slackTeam, "Ev1", "UNOBODY", "hello"))
	if _, err := io.WriteString(b.stdin, "/as nobody@contoso.test\nhello\n"); err != nil {
		t.Fatal(err)
	}
	b.out.wait(t, "You are now nobody@contoso.test")
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	b.slack.WaitClosed(1)
	want := []string{"web", "slack socket mode", "console", "reminders", "slack work", "metrics"}
	if got := stopped(t, b.logs.String()); !slices.Equal(got, want) {
		t.Fatalf("parts stopped in the order %v, want %v", got, want)
	}
	if !slices.Equal(b.app.Parts(), want) {
		t.Fatalf("parts %v", b.app.Parts())
	}
	for _, addr := range []string{base + "/readyz", "http://" + b.metrics + "/metrics"} {
		if _, err := http.Get(addr); err == nil {
			t.Fatalf("%s still answers after Run returned", addr)
		}
	}
}

// An AD-only deployment: no Graph, no OIDC. Serve starts from the environment, checks the
// service account with a bind, and people are found in AD.
func TestServeActiveDirectoryOnly(t *testing.T) {
	dc := adtest.Get(t)
	rs := redistest.Start(t, "--appendonly", "yes")
	mail := smtptest.Start(t)
	u := dc.CreateUser(t, "solo")
	k := base64.StdEncoding.EncodeToString(key(t))
	env := map[string]string{
		"PUBLIC_BASE_URL": "https://bot.corp.test", "LISTEN_ADDR": "127.0.0.1:0", "REDIS_URL": rs.URL(),
		"SEAL_KEYS": "k1:" + k, "MAC_KEY": k, "SMTP_ADDR": mail.Addr, "SMTP_FROM": "resetbot@corp.test",
		"AD_URL": dc.URL, "AD_CA_FILE": dc.CAFile, "AD_BIND_DN": dc.ServiceDN, "AD_BIND_PASSWORD": dc.ServicePW,
		"AD_BASE_DN": adtest.BaseDN, "CONSOLE_CHAT": "true", "RESETBOT_ALLOW_ROOT": "true", "POLICY_ENABLED_FOR": "all", "HELPDESK_URL": "https://help.corp.test",
	}
	serve := func(ctx context.Context, in io.Reader, out, logs io.Writer) error {
		cfg, errs := bot.FromEnv(func(k string) string { return env[k] })
		if err := errors.Join(append(errs, cfg.Validate())...); err != nil {
			t.Fatal(err)
		}
		return app.Serve(ctx, cfg, app.Cloud{}, app.Stdio{In: in, Out: out}, bot.NewLogger(logs, "info"), "test")
	}
	// the console's input ends after these lines; serve goes on until it is stopped
	in := strings.NewReader("/as " + u.UPN + "\nI'm locked out\nregister\n/as Administrator\nreset my password\n")
	out, logs := newWatched(), newWatched()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, in, out, logs) }()
	out.wait(t, "Sorry, I can't help with this account")
	logs.wait(t, `"part":"console"`)
	select {
	case err := <-done:
		t.Fatalf("serve stopped when the console's input ended: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	o := out.String()
	for _, want := range []string{"You haven't registered enough ways", "https://bot.corp.test/l/", "Sorry, I can't help with this account"} {
		if !strings.Contains(o, want) {
			t.Errorf("console output lacks %q:\n%s", want, o)
		}
	}
	if !strings.Contains(logs.String(), "AD lockout alerts on") {
		t.Errorf("log: %s", logs.String())
	}
	// a wrong service password stops the start with the reason
	env["AD_BIND_PASSWORD"] = "not-it"
	var se *app.StartupError
	if err := serve(context.Background(), strings.NewReader(""), out, logs); !errors.As(err, &se) || !strings.Contains(err.Error(), "cannot sign in (wrong password)") {
		t.Fatalf("wrong service password: %v", err)
	}
}

// The terminal chat never stops the bot: a line of 1 MiB is refused politely, and the end of
// its input (systemd, a container without a terminal) ends the console alone.
func TestConsoleEndOfInputEndsOnlyTheConsole(t *testing.T) {
	b := newBed(t)
	stop := b.run(t)
	go func() {
		_, _ = io.WriteString(b.stdin, strings.Repeat("x", 1<<20)+"\n/as nobody@contoso.test\n")
		b.stdin.Close()
	}()
	b.out.wait(t, "That line is too long")
	b.out.wait(t, "You are now nobody@contoso.test")
	b.logs.wait(t, `"msg":"part ended","part":"console"`)
	if code, _ := get(t, "http://"+b.opts.Listener.Addr().String()+"/readyz"); code != 200 {
		t.Fatalf("not ready after the console ended: %d", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// A metrics address already in use is a start-up error, not a part that fails once running.
func TestMetricsAddressInUseFailsAtStart(t *testing.T) {
	b := newBed(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	o := b.opts
	o.Metrics = metrics.New() // a registry of its own (the bed's has the first app's collectors)
	o.MetricsAddr = busy.Addr().String()
	a, err := app.New(context.Background(), o)
	if err == nil {
		a.Close()
		t.Fatal("New accepted a metrics address in use")
	}
	if !strings.Contains(err.Error(), "metrics listen "+o.MetricsAddr) {
		t.Fatalf("error %v", err)
	}
}
