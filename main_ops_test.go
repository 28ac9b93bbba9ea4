package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot/console"
	"github.com/resetbot/resetbot/bot/notify/smtptest"
	"github.com/resetbot/resetbot/bot/web/webtest"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/graph/ad/adtest"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/internal/freeport"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
	"github.com/resetbot/resetbot/store/storetest"
)

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

// opsEnv is a complete environment against graphtest, a real redis-server and SMTP server.
func opsEnv(t *testing.T, tenant *graphtest.Tenant, aof bool) map[string]string {
	args := []string{}
	if aof {
		args = []string{"--appendonly", "yes"}
	}
	rs := redistest.Start(t, args...)
	mail := smtptest.Start(t)
	key := base64.StdEncoding.EncodeToString(randomBytes(32))
	return map[string]string{
		"PUBLIC_BASE_URL": "https://bot.contoso.test", "LISTEN_ADDR": freeAddr(t), "METRICS_ADDR": freeAddr(t),
		"REDIS_URL": rs.URL(), "SEAL_KEYS": "k1:" + key, "MAC_KEY": key, "SMTP_ADDR": mail.Addr, "SMTP_FROM": "resetbot@contoso.test",
		"GRAPH_TENANT_ID": "contoso", "GRAPH_CLIENT_ID": tenant.ClientID, "GRAPH_CLIENT_SECRET": tenant.ClientSecret,
		"GRAPH_BASE_URL": tenant.GraphURL(), "GRAPH_TOKEN_URL": tenant.TokenURL(), "OIDC_ISSUER": tenant.Issuer(),
		"CONSOLE_CHAT": "true", "POLICY_ENABLED_FOR": "all", "RESETBOT_ALLOW_ROOT": "true", "LOG_LEVEL": "debug",
	}
}

func startTenant(t *testing.T) *graphtest.Tenant {
	tenant := graphtest.New()
	graphtest.DemoUsers(tenant)
	if err := tenant.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tenant.Close)
	return tenant
}

func TestStartupChecksListEveryProblem(t *testing.T) {
	tenant := startTenant(t)
	dc := adtest.Get(t)
	env := opsEnv(t, tenant, false) // Redis without its append-only log
	dead := freeAddr(t)
	env["GRAPH_CLIENT_SECRET"] = "wrong"
	env["OIDC_ISSUER"] = "http://" + dead + "/v2.0"
	env["OIDC_CLIENT_SECRET"] = "x"
	env["SMTP_ADDR"] = dead
	for k, v := range map[string]string{"AD_URL": dc.URL, "AD_CA_FILE": dc.CAFile, "AD_BIND_DN": dc.ServiceDN,
		"AD_BIND_PASSWORD": "wrong", "AD_BASE_DN": adtest.BaseDN} {
		env[k] = v
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb); code != 2 {
		t.Fatalf("serve: %d\n%s", code, errb.String())
	}
	for _, want := range []string{"the start-up checks failed", "- redis: ", "append-only file off", "- graph: no token",
		"- oidc: ", "- smtp: notify: smtp dial", "- active directory: ", "cannot sign in (wrong password)"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("the list lacks %q:\n%s", want, errb.String())
		}
	}
	// REDIS_ALLOW_NO_AOF is the explicit way to accept a Redis without its log
	env["REDIS_ALLOW_NO_AOF"] = "true"
	errb.Reset()
	run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	if strings.Contains(errb.String(), "append-only") {
		t.Fatalf("allowed and still refused:\n%s", errb.String())
	}
}

func TestServeReadinessMetricsAndGracefulStop(t *testing.T) {
	tenant := startTenant(t)
	env := opsEnv(t, tenant, true)
	env["AUDIT_LOG"] = filepath.Join(t.TempDir(), "audit.jsonl")
	stdinR, stdinW := io.Pipe()
	stdout, stderr := newWatched(), newWatched()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, stdinR, stdout, stderr)
	}()
	t.Cleanup(func() { cancel(); stdinW.Close() })
	stderr.wait(t, "resetbot serving")

	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	base := "http://" + env["LISTEN_ADDR"]
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, _ := get(base + p); code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
	}
	// one conversation on the console: an unregistered person is told to register
	if _, err := io.WriteString(stdinW, "/as alice@contoso.test\nI'm locked out\n"); err != nil {
		t.Fatal(err)
	}
	stdout.wait(t, "registered enough ways")
	// its log lines carry the step's request id
	if !regexp.MustCompile(`"req":"[0-9a-f]{16}"`).MatchString(stderr.String()) {
		t.Fatalf("no request id in the log:\n%s", stderr.String())
	}
	_, m := get("http://" + env["METRICS_ADDR"] + "/metrics")
	for _, want := range []string{`resetbot_conversations_total{outcome="refused"} 1`,
		`resetbot_events_total{action="verify_start",outcome="refused"} 1`, "resetbot_redis_seconds_bucket", "go_goroutines"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if n := metricValue(t, m, `resetbot_redis_seconds_count{kind="pipeline"}`); n < 1 {
		t.Errorf("no Redis round trips timed: %v", n)
	}
	// SIGTERM: serve stops cleanly and says so
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	for _, want := range []string{"shutting down", `"msg":"stopped"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if _, err := http.Get(base + "/readyz"); err == nil {
		t.Fatal("still serving after the stop")
	}
	// the audit trail was shipped to AUDIT_LOG, the last events at the stop
	shipped, err := os.ReadFile(env["AUDIT_LOG"])
	if err != nil || !strings.Contains(string(shipped), `"action":"verify_start"`) {
		t.Fatalf("shipped audit log (%v):\n%s", err, shipped)
	}
	// audit export --since: what the stream holds from a time on
	for since, want := range map[string]int{"1h": strings.Count(string(shipped), "\n"), "2099-01-01": 0} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"audit", "export", "--since", since}, func(k string) string { return env[k] },
			strings.NewReader(""), &out, &errb); code != 0 || strings.Count(out.String(), "\n") != want {
			t.Errorf("audit export --since %s: %d, %d lines, want %d\n%s", since, code, strings.Count(out.String(), "\n"), want, errb.String())
		}
	}
}

func metricValue(t *testing.T, text, name string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return -1
}

// auditTrail flushes the audit writer and lists "action outcome reason" of a subject's events.
func (w *world) auditTrail(t *testing.T, subject, actor string) []string {
	t.Helper()
	w.audit.Close()
	evs, err := store.Events(context.Background(), w.st.Client())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Subject == subject || e.Actor == actor {
			out = append(out, e.Action+" "+e.Outcome+" "+e.Reason)
		}
	}
	return out
}

// When Graph, the SMTP relay, the SMS provider or the sign-in provider fail, the person is
// asked politely to try again, nothing is half-done, and the audit log says what failed.
func TestDependenciesDown(t *testing.T) {
	w := newWorld(t)
	alice := w.users[0]
	b, secret, _ := w.registerOnWeb(t, linkIn(t, w.say(t, alice.UPN, "register")), alice)
	ctx := context.Background()
	if err := w.st.Register(ctx, alice.ID, flows.Registered{Kind: flows.MethodSMS, Address: "+14255550142", RegisteredAt: w.clock.Now()}, 0); err != nil {
		t.Fatal(err)
	}
	pick := func(rs []flows.Reply, label string) string {
		for _, r := range rs {
			for _, c := range r.Choices {
				if strings.Contains(c.Label, label) {
					return c.Key // the number the menu shows
				}
			}
		}
		t.Fatalf("no %q choice in %s", label, storetest.Render(rs))
		return ""
	}

	// Graph answers 500 to the lookup
	w.clock.Advance(2 * time.Minute) // past the identity cache
	// the known user is read by id
	w.tenant.FailNext("GET /v1.0/users/"+alice.ID+"$", http.StatusInternalServerError, "")
	before, _ := w.st.Load(ctx, alice.ID, console.Chat(alice.UPN).Key())
	w.chat.As(alice.UPN)
	if rs, _, err := w.chat.Say(ctx, "I'm locked out"); err == nil || !msgIn(rs, flows.MsgTrouble) || !strings.Contains(rs[0].Text, "try again") {
		t.Fatalf("graph down: %s %v", storetest.Render(rs), err)
	}
	if after, _ := w.st.Load(ctx, alice.ID, console.Chat(alice.UPN).Key()); (after.Session == nil) != (before.Session == nil) ||
		after.Session != nil && after.Session.Version != before.Session.Version {
		t.Fatal("the session changed while the directory was down")
	}

	// the mail relay refuses the code
	rs := w.say(t, alice.UPN, "I'm locked out")
	w.smtp.RejectNext(1)
	sent := len(w.smtp.Messages())
	if rs = w.say(t, alice.UPN, pick(rs, "Email")); !msgIn(rs, flows.MsgTrouble) || msgIn(rs, flows.MsgEmailSent) {
		t.Fatalf("smtp down: %s", storetest.Render(rs))
	}
	if len(w.smtp.Messages()) != sent {
		t.Fatal("a mail went out")
	}
	// the SMS provider answers 503
	rs = w.say(t, alice.UPN, "I'm locked out")
	w.phone.FailNext(1)
	if rs = w.say(t, alice.UPN, pick(rs, "Text")); !msgIn(rs, flows.MsgTrouble) {
		t.Fatalf("sms down: %s", storetest.Render(rs))
	}

	// Graph refuses the password change: no reset recorded, announced or told in chat
	w.clock.Advance(time.Minute)
	rs = w.say(t, alice.UPN, "I'm locked out")
	rs = w.say(t, alice.UPN, pick(rs, "Authenticator"))
	code, _ := totp.Code(secret, w.clock.Now())
	rs = w.say(t, alice.UPN, code)
	sent = len(w.smtp.Messages())
	rs = w.say(t, alice.UPN, pick(rs, "Email"))
	rs = w.say(t, alice.UPN, mailCode(t, w.smtp.Wait(t, sent+1)[sent]))
	link := linkIn(t, rs)
	w.tenant.FailNext("PATCH /v1.0/users/", http.StatusInternalServerError, "")
	sent = len(w.smtp.Messages())
	b.Get(link)
	b.Submit("", url.Values{"password": {"Sturdy-Lantern-83"}, "confirm": {"Sturdy-Lantern-83"}})
	if b.Status != http.StatusInternalServerError || !strings.Contains(b.Last, "Something went wrong on our side") {
		t.Fatalf("reset page with Graph down: %d\n%s", b.Status, b.Last)
	}
	if u, _ := w.tenant.User(alice.ID); u.Password == "Sturdy-Lantern-83" {
		t.Fatal("the password changed")
	}
	if len(w.smtp.Messages()) != sent || strings.Contains(w.out.String(), "Your password was changed") {
		t.Fatal("a reset that did not happen was announced")
	}

	// the sign-in provider fails the code exchange during a registration
	w.tenant.FailNext("/oauth2/v2.0/token", http.StatusServiceUnavailable, "")
	reg := webtest.New(t, w.web.Client())
	reg.Get(linkIn(t, w.say(t, alice.UPN, "register")))
	reg.Submit("", nil)
	reg.SignIn(alice.UPN, graphtest.DemoPassword)
	if reg.Status != http.StatusForbidden || !strings.Contains(reg.Last, "could not be completed") {
		t.Fatalf("sign-in with the provider down: %d\n%s", reg.Status, reg.Last)
	}

	trail := w.auditTrail(t, alice.ID, console.Chat(alice.UPN).Key())
	for _, want := range []string{"step failed directory unavailable", "code_sent failed email: provider unavailable",
		"code_sent failed sms: provider unavailable", "unlock failed directory", "signin failed token exchange failed"} {
		if !slices.Contains(trail, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, strings.Join(trail, "\n"))
		}
	}
	if slices.Contains(trail, "unlock ok user_chosen") {
		t.Error("a reset was recorded as done")
	}
}
