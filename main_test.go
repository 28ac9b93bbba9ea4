package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/app"
	"github.com/resetbot/resetbot/bot/console"
	"github.com/resetbot/resetbot/bot/notify"
	"github.com/resetbot/resetbot/bot/notify/phonetest"
	"github.com/resetbot/resetbot/bot/notify/smtptest"
	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/bot/web/webtest"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/graph"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
	"github.com/resetbot/resetbot/store/storetest"
)

func TestServeWithEmptyEnvironmentListsEveryProblem(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"serve"}, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	if code == 0 {
		t.Fatal("serve started without configuration")
	}
	for _, v := range []string{"PUBLIC_BASE_URL", "REDIS_URL", "SEAL_KEYS", "MAC_KEY", "GRAPH_TENANT_ID", "GRAPH_CLIENT_ID",
		"GRAPH_CLIENT_SECRET", "AD_URL", "AD_BASE_DN", "SMTP_ADDR", "SMTP_FROM"} {
		if !strings.Contains(errb.String(), v) {
			t.Errorf("the error list does not name %s:\n%s", v, errb.String())
		}
	}
	// a half-configured directory: every missing or wrong part of it is named at once
	for env, want := range map[string][]string{
		"GRAPH_TENANT_ID=t":                    {"GRAPH_CLIENT_ID", "GRAPH_CLIENT_SECRET", "OIDC_ISSUER"},
		"AD_URL=http://dc.corp.test":           {"AD_URL must look like ldaps://", "AD_BIND_DN and AD_BIND_PASSWORD", "AD_BASE_DN is required"},
		"AD_BASE_DN=corp":                      {"AD_URL is required", "AD_BASE_DN is not a distinguished name"},
		"AD_URL=ldaps://dc,TEAMS_APP_ID=x":     {"Teams needs Microsoft Entra ID"},
		"AD_URL=ldaps://dc,AD_LOCKOUT_POLL=1s": {"AD_LOCKOUT_POLL must be a duration from 5s to 1h"},
		"AD_URL=ldaps://dc,AD_CA_FILE=/nope":   {"AD_CA_FILE cannot be read"},
	} {
		vals := map[string]string{}
		for _, kv := range strings.Split(env, ",") {
			k, v, _ := strings.Cut(kv, "=")
			vals[k] = v
		}
		errb.Reset()
		if run(context.Background(), []string{"serve"}, func(k string) string { return vals[k] }, strings.NewReader(""), &out, &errb) != 2 {
			t.Fatalf("%s: started", env)
		}
		for _, w := range want {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("%s: the error list does not say %q:\n%s", env, w, errb.String())
			}
		}
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if run(context.Background(), []string{"version"}, nil, nil, &out, &errb) != 0 || !strings.HasPrefix(out.String(), "resetbot ") {
		t.Fatalf("version: %q", out.String())
	}
	if run(context.Background(), []string{"frobnicate"}, nil, nil, &out, &errb) != 2 {
		t.Fatal("unknown command accepted")
	}
	all := []string{"serve", "check", "demo", "audit export", "teams-package", "version", "help"}
	for _, w := range all {
		if !strings.Contains(errb.String(), "  "+w+" ") {
			t.Errorf("the unknown-command message does not list %q:\n%s", w, errb.String())
		}
	}
	out.Reset()
	if run(context.Background(), []string{"help"}, nil, nil, &out, &errb) != 0 {
		t.Fatal("help failed")
	}
	for _, w := range all {
		if !strings.Contains(out.String(), "  "+w+" ") {
			t.Errorf("help does not list %q:\n%s", w, out.String())
		}
	}
	// no arguments prints the usage; it never starts serving
	errb.Reset()
	noEnv := func(k string) string { t.Fatalf("no arguments read the environment (%s) to serve", k); return "" }
	if run(context.Background(), nil, noEnv, strings.NewReader(""), &out, &errb) != 2 || !strings.HasPrefix(errb.String(), "usage: resetbot") {
		t.Fatalf("no arguments: %q", errb.String())
	}
}

// world is the whole product wired as in production, with fakes only at the edges: a real
// redis-server, the real Graph SDK against graphtest, a real SMTP server, the web pages over
// HTTPS and the console adapter as the chat.
type world struct {
	clock  *storetest.Clock
	redis  *redistest.Server
	tenant *graphtest.Tenant
	smtp   *smtptest.Server
	web    *httptest.Server
	chat   *console.Console
	out    *bytes.Buffer
	logs   *bytes.Buffer
	st     *store.Store
	users  []graphtest.User
	said   []flows.Reply
	eng    *flows.Engine
	app    *app.App
	log    *slog.Logger
	phone  *phonetest.Provider
	audit  *store.Auditor
}

func newWorld(t testing.TB, edit ...func(*app.Options)) *world {
	t.Helper()
	w := &world{clock: storetest.NewClock(), out: &bytes.Buffer{}, logs: &bytes.Buffer{}}
	w.redis = redistest.Start(t)
	w.tenant = graphtest.New()
	w.tenant.Clock = w.clock.Now
	w.users = graphtest.DemoUsers(w.tenant)
	if err := w.tenant.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.tenant.Close)
	w.smtp = smtptest.Start(t)
	w.phone = phonetest.Start()
	t.Cleanup(w.phone.Close)
	w.web = httptest.NewUnstartedServer(nil)
	w.web.StartTLS()
	t.Cleanup(w.web.Close)

	ctx := context.Background()
	rdb, err := store.Connect(store.Options{URL: w.redis.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	crypto, err := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k1": randomBytes(32)}, CurrentID: "k1", MACKey: randomBytes(32)})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := graph.New(graph.Config{BaseURL: w.tenant.GraphURL(),
		Credential: graph.NewClientCredential(w.tenant.TokenURL(), w.tenant.ClientID, w.tenant.ClientSecret, nil)})
	if err != nil {
		t.Fatal(err)
	}
	o, err := web.NewOIDC(ctx, w.tenant.Issuer(), w.tenant.ClientID, w.tenant.ClientSecret, w.web.URL, w.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	log := bot.NewLogger(w.logs, "debug")
	opts := app.Options{Redis: rdb, Crypto: crypto, Directory: app.Directory{Directory: dir}, Log: log, Clock: w.clock, BaseURL: w.web.URL,
		OIDC: o, Mailer: &notify.SMTP{Addr: w.smtp.Addr, From: "resetbot@contoso.test"}, PhoneBudget: 100,
		Phone:   &notify.Twilio{BaseURL: w.phone.URL, AccountSID: w.phone.SID, AuthToken: w.phone.Token, From: "+14255550100"},
		Console: &app.Console{Out: w.out}}
	for _, f := range edit {
		f(&opts)
	}
	a, err := app.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	w.st, w.audit, w.app = a.Store, a.Auditor, a
	cfg := bot.Config{EnabledFor: "selected", EnabledGroups: []string{graphtest.SSPRGroup}, HelpdeskURL: "https://help.contoso.test"}
	if err := app.SeedPolicy(ctx, w.st, cfg); err != nil {
		t.Fatal(err)
	}
	w.web.Config.Handler = a.Handler()
	w.chat = a.Console
	w.eng, w.log = a.Engine, log
	return w
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func (w *world) say(t testing.TB, as, text string) []flows.Reply {
	t.Helper()
	w.chat.As(as)
	rs, rendered, err := w.chat.Say(context.Background(), text)
	if err != nil {
		t.Fatalf("%s says %q: %v", as, text, err)
	}
	w.out.WriteString(as + "> " + text + "\n" + rendered)
	w.said = append(w.said, rs...)
	return rs
}

var (
	msgIn  = storetest.Has
	linkIn = storetest.Link
)

var codeRE = regexp.MustCompile(`code is (\d{6})`)

// anyMailCode finds the 6-digit code in a mail's body, whatever its language.
func anyMailCode(t testing.TB, m smtptest.Message) string {
	t.Helper()
	_, body, _ := strings.Cut(strings.ReplaceAll(m.Data, "\r\n", "\n"), "\n\n")
	c := anyCodeRE.FindStringSubmatch(body)
	if c == nil {
		t.Fatalf("no code in\n%s", m.Data)
	}
	return c[1]
}

var anyCodeRE = regexp.MustCompile(`(?:^|\D)(\d{6})(?:\D|$)`)

func mailCode(t testing.TB, m smtptest.Message) string {
	t.Helper()
	c := codeRE.FindStringSubmatch(m.Data)
	if c == nil {
		t.Fatalf("no code in\n%s", m.Data)
	}
	return c[1]
}

func TestTranscriptRegisterVerifyReset(t *testing.T) {
	w := newWorld(t)
	alice := w.users[0]
	var secrets []string // everything that must never show up in chat or logs

	// unregistered: told to register
	if rs := w.say(t, alice.UPN, "I'm locked out"); !msgIn(rs, flows.MsgMustRegister) {
		t.Fatalf("unregistered: %v", storetest.IDs(rs))
	}
	// register on the web page after the directory sign-in
	link := linkIn(t, w.say(t, alice.UPN, "register"))
	secrets = append(secrets, link[strings.LastIndex(link, "/")+1:])
	b, secret, regSecrets := w.registerOnWeb(t, link, alice)
	secrets = append(secrets, regSecrets...)

	// verify in chat with both methods, choosing by number as a person would
	w.clock.Advance(30 * time.Second)
	rs := w.say(t, alice.UPN, "forgot my password")
	if !msgIn(rs, flows.MsgChooseMethod) {
		t.Fatalf("start: %v", storetest.IDs(rs))
	}
	rs = w.say(t, alice.UPN, "1") // authenticator app
	if !msgIn(rs, flows.MsgEnterTOTP) {
		t.Fatalf("pick 1: %v", storetest.IDs(rs))
	}
	code2, _ := totp.Code(secret, w.clock.Now())
	secrets = append(secrets, code2)
	rs = w.say(t, alice.UPN, code2[:3]+" "+code2[3:])
	if !msgIn(rs, flows.MsgProvenMore) {
		t.Fatalf("totp: %v", storetest.IDs(rs))
	}
	sent := len(w.smtp.Messages())
	rs = w.say(t, alice.UPN, "2") // email, the one left, keeps its number
	if !msgIn(rs, flows.MsgEmailSent) || !strings.Contains(rs[0].Text, "a***@m****.test") {
		t.Fatalf("email: %+v", rs)
	}
	ecode2 := mailCode(t, w.smtp.Wait(t, sent+1)[sent])
	secrets = append(secrets, ecode2)
	rs = w.say(t, alice.UPN, ecode2)
	resetLink := linkIn(t, rs)
	secrets = append(secrets, resetLink[strings.LastIndex(resetLink, "/")+1:])

	// the new password on the one-time page
	const newPassword = "Sunny-Meadow-42"
	secrets = append(secrets, newPassword, graphtest.DemoPassword)
	b.Get(resetLink)
	b.Submit("", url.Values{"password": {newPassword}, "confirm": {newPassword}})
	if !strings.Contains(b.Last, "Your password was changed") {
		t.Fatalf("reset page:\n%s", b.Last)
	}
	w.eng.Drain() // revocation and notices run after the page answered
	changes := w.tenant.Changes()
	if len(changes) != 2 || changes[0].Kind != "password" || changes[0].UserID != alice.ID || changes[1].Kind != "revoke" {
		t.Fatalf("tenant changes %+v", changes)
	}
	if u, _ := w.tenant.User(alice.ID); u.Password != newPassword {
		t.Fatal("the tenant does not have the new password")
	}
	all := w.smtp.Wait(t, sent+2)
	notice := all[len(all)-1]
	if !strings.Contains(notice.Data, "Subject: Your password was reset") || !strings.Contains(strings.Join(notice.To, ","), "alice@contoso.test") {
		t.Fatalf("notice:\n%+v", notice)
	}
	if !strings.Contains(w.out.String(), "Your password was changed") {
		t.Fatal("the chat was not told")
	}

	// the others get the helpdesk
	for _, u := range w.users[1:] {
		if rs := w.say(t, u.UPN, "reset"); !msgIn(rs, flows.MsgHelpdesk) {
			t.Fatalf("%s: %v", u.UPN, storetest.IDs(rs))
		}
	}

	// nothing secret in any reply text or log line
	var texts strings.Builder
	for _, r := range w.said {
		texts.WriteString(r.Text + "\n")
		for _, c := range r.Choices {
			texts.WriteString(c.Label + "\n")
		}
	}
	logs := stripTimes(t, w.logs.String())
	for _, s := range secrets {
		if strings.Contains(texts.String(), s) {
			t.Errorf("a reply contains the secret %q", s)
		}
		if strings.Contains(logs, s) {
			t.Errorf("the log contains the secret %q", s)
		}
	}
	// nor in Redis in clear: the secret, the private address
	ctx := context.Background()
	keys, _ := w.st.Client().Keys(ctx, "*").Result()
	for _, k := range keys {
		dump, _ := w.st.Client().Dump(ctx, k).Result()
		for _, s := range append(secrets, "alice.home@mail.test") {
			if strings.Contains(dump, s) {
				t.Errorf("redis key %s holds %q in clear", k, s)
			}
		}
	}
	t.Logf("transcript:\n%s", w.out.String())
}

// registerOnWeb opens a registration link, signs in as who, registers an authenticator app and
// an email address, and returns the browser, the TOTP secret and the codes it used.
func (w *world) registerOnWeb(t testing.TB, link string, who graphtest.User) (*webtest.Browser, string, []string) {
	t.Helper()
	return w.registerOnWebIn(t, link, who, "", "Your methods are registered")
}

// registerOnWebIn registers as registerOnWeb does, with a browser that sends Accept-Language
// accept, and expects done on the last page.
func (w *world) registerOnWebIn(t testing.TB, link string, who graphtest.User, accept, done string) (*webtest.Browser, string, []string) {
	t.Helper()
	var secrets []string
	sent := len(w.smtp.Messages())
	b := webtest.New(t, w.web.Client())
	if accept != "" {
		b.Speaking(accept)
	}
	b.Get(link)
	b.Submit("", nil)
	b.SignIn(who.UPN, graphtest.DemoPassword)
	b.Submit("/enrol/begin", url.Values{"method": {"totp"}})
	secret := b.TOTPSecret()
	secrets = append(secrets, secret)
	code, _ := totp.Code(secret, w.clock.Now())
	secrets = append(secrets, code)
	b.Submit("/enrol/confirm", url.Values{"code": {code}})
	b.Submit("/enrol/begin", url.Values{"method": {"email"}, "address": {"alice.home@mail.test"}})
	msgs := w.smtp.Wait(t, sent+2) // the TOTP announcement, then the confirmation code
	ecode := anyMailCode(t, msgs[len(msgs)-1])
	secrets = append(secrets, ecode)
	b.Submit("/enrol/confirm", url.Values{"code": {ecode}})
	b.Submit("/enrol/done", nil)
	if !strings.Contains(b.Last, done) {
		t.Fatalf("registration did not finish:\n%s", b.Last)
	}

	return b, secret, secrets
}

// stripTimes removes the wall-clock time of JSON log lines, whose digits could look like a code.
func stripTimes(t *testing.T, logs string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		delete(m, "time")
		out, _ := json.Marshal(m)
		b.Write(out)
		b.WriteString("\n")
	}
	return b.String()
}

func TestDemoRunsOfflineFromAPipe(t *testing.T) {
	var out, errb bytes.Buffer
	env := map[string]string{"DEMO_ADDR": "127.0.0.1:0"}
	in := strings.NewReader("1\nI'm locked out\nregister\n/as 3\nreset\n/quit\n")
	code := run(context.Background(), []string{"demo"}, func(k string) string { return env[k] }, in, &out, &errb)
	if code != 0 {
		t.Fatalf("demo exited %d: %s", code, errb.String())
	}
	o := out.String()
	for _, want := range []string{"resetbot DEMO", "alice@contoso.test", "bob@contoso.test", "carol@contoso.test", "dave@contoso.test",
		"You haven't registered enough", "🔗 http://localhost:", "contact the helpdesk", "Passkeys: on the registration page", "/recover"} {
		if !strings.Contains(o, want) {
			t.Errorf("demo output lacks %q:\n%s", want, o)
		}
	}
}

func TestAuditExportCommand(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	a := store.NewAuditor(rdb, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, action := range []string{"verify", "reset"} {
		a.Audit(context.Background(), flows.AuditEvent{Time: time.Now(), Actor: "console:local:x", Subject: "u1", Action: action, Outcome: "ok"})
	}
	a.Close()
	var out, errb bytes.Buffer
	env := map[string]string{"REDIS_URL": srv.URL()}
	if code := run(context.Background(), []string{"audit", "export"}, func(k string) string { return env[k] }, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"action":"verify"`) || !strings.Contains(lines[1], `"action":"reset"`) {
		t.Fatalf("export:\n%s", out.String())
	}
	if code := run(context.Background(), []string{"audit", "export"}, func(string) string { return "" }, nil, &out, &errb); code != 2 {
		t.Fatal("export without Redis settings did not fail")
	}
}
