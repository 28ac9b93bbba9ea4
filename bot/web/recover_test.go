package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/bot/web/webtest"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

// testBits keeps the tests' proofs-of-work cheap; the page's default is web.DefaultChallengeBits.
const testBits = 8

// withRecovery serves the pages with the recovery page on, with the given limits.
func (e *env) withRecovery(o web.RecoverOptions) {
	o.Limiter = e.h.Store
	if o.ChallengeBits == 0 {
		o.ChallengeBits = testBits
	}
	e.srv.Config.Handler = web.New(e.h.Engine, nil, e.h.Crypto, e.h.Store, bot.NewLogger(e.h.Logs, "debug")).WithRecovery(o).Handler()
}

func roomy() web.RecoverOptions {
	return web.RecoverOptions{PerAddress: 1000, PerNetwork: 1000, NoScriptPerAddress: 1000, SendsPerHour: 1000}
}

// post submits the last recovery page's form (see webtest.Browser.Recover).
func post(t *testing.T, b *webtest.Browser, script bool, do string, kv ...string) string {
	t.Helper()
	return b.Recover(script, do, kv...)
}

// solve is the page script's solution of the last page's challenge.
func solve(t *testing.T, b *webtest.Browser) string { t.Helper(); return b.Solve() }

func (e *env) recoverBrowser(t *testing.T) *webtest.Browser {
	b := webtest.New(t, e.srv.Client())
	b.Get(e.srv.URL + "/recover")
	if b.Status != http.StatusOK || !strings.Contains(b.Last, "Your work email address or user name") {
		t.Fatalf("start page %d %q", b.Status, b.Last)
	}
	return b
}

// The whole recovery over HTTP: the first proof asked blind, the second shown after it, then
// the same new-password page as the chat's.
func TestRecoverPageOverHTTP(t *testing.T) {
	e := setup(t)
	e.withRecovery(roomy())
	secret := e.h.Enrol(e.alice.ID)
	b := e.recoverBrowser(t)
	post(t, b, true, "start", "name", e.alice.UPN, "flow", "reset")
	if !strings.Contains(b.Last, "Enter the code from your authenticator app, or send a code to your registered email or phone.") {
		t.Fatalf("first proof page %q", b.Last)
	}
	post(t, b, true, "email")
	e.h.Engine.Drain()
	if !strings.Contains(b.Last, "If an email address is registered for this account") {
		t.Fatalf("sent page %q", b.Last)
	}
	post(t, b, true, "code", "code", storetest.CodeFrom(t, e.h.Mail.Last()))
	if !strings.Contains(b.Last, "One more proof") || !strings.Contains(b.Last, `value="totp"`) || strings.Contains(b.Last, `value="email"`) {
		t.Fatalf("more page %q", b.Last)
	}
	post(t, b, true, "pick", "method", "totp")
	code, _ := totp.Code(secret, e.h.Clock.Now())
	post(t, b, true, "code", "code", code)
	if b.URL.Path[:3] != "/l/" || !strings.Contains(b.Last, `id="password"`) {
		t.Fatalf("not on the new-password page: %s %q", b.URL, b.Last)
	}
	b.Submit(b.URL.Path, url.Values{"password": {"Granite-Orchid-Lantern-8"}, "confirm": {"Granite-Orchid-Lantern-8"}})
	if !strings.Contains(b.Last, "Your password was changed") || e.h.Dir.Passwords[e.alice.ID] != "Granite-Orchid-Lantern-8" {
		t.Fatalf("reset %q", b.Last)
	}
}

var varyingRE = regexp.MustCompile(`(name="csrf" value="|data-challenge=")[^"]*`)

// Every hidden state answers with the same pages: the same status and body but for the
// per-request CSRF token and challenge.
func TestRecoverPageLooksTheSameForEveryHiddenState(t *testing.T) {
	e := setup(t)
	e.withRecovery(roomy())
	e.h.Enrol(e.alice.ID)
	e.h.Enrol(e.bob.ID)
	if err := e.h.Store.Block(context.Background(), e.bob.ID, e.h.Clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	pages := func(name string) []string {
		b := e.recoverBrowser(t)
		var out []string
		for _, st := range [][]string{{"start", "name", name}, {"code", "code", "123456"}, {"email"}, {"code", "code", "654321"}, {"phone"}, {"back"}, {"code", "code", "234567"}} {
			post(t, b, true, st[0], st[1:]...)
			out = append(out, fmt.Sprint(b.Status)+varyingRE.ReplaceAllString(b.Last, "$1"))
		}
		return out
	}
	want := pages("nobody@contoso.test")
	for _, name := range []string{e.alice.UPN, e.bob.UPN, "someone-else"} {
		got := pages(name)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s, step %d:\n%s\nwant\n%s", name, i, got[i], want[i])
			}
		}
	}
}

// Without the page's script (no proof-of-work) a client gets the stricter limit; with it, the
// per-address limit; a neighbour in the same /24 shares the network's; each refusal is audited.
func TestRecoverPageLimits(t *testing.T) {
	e := setup(t)
	e.withRecovery(web.RecoverOptions{PerAddress: 6, PerNetwork: 9, NoScriptPerAddress: 2, SendsPerHour: 3, TrustedHops: 1})
	from := func(b *webtest.Browser, ip string) {
		b.Client.Transport = hopTransport{ip, e.srv.Client().Transport}
	}
	b := e.recoverBrowser(t)
	from(b, "198.51.100.7")
	for i := range 2 {
		if post(t, b, false, "start", "name", "nobody@contoso.test"); b.Status != http.StatusOK {
			t.Fatalf("no-script request %d: %d", i, b.Status)
		}
	}
	post(t, b, false, "code", "code", "123456")
	if b.Status != http.StatusTooManyRequests || !strings.Contains(b.Last, "Too many requests came from your network") {
		t.Fatalf("third no-script request: %d %q", b.Status, b.Last)
	}
	// with the script: three more are allowed at this address (six in all), then refused
	for i := range 3 {
		if post(t, b, true, "code", "code", "123456"); b.Status == http.StatusTooManyRequests {
			t.Fatalf("scripted request %d refused", i)
		}
	}
	if post(t, b, true, "code", "code", "123456"); b.Status != http.StatusTooManyRequests {
		t.Fatalf("seventh request from the address: %d", b.Status)
	}
	// a neighbour: the /24 has room for two more (9), a third is refused
	n := e.recoverBrowser(t)
	from(n, "198.51.100.99")
	post(t, n, true, "start", "name", "nobody@contoso.test")
	post(t, n, true, "email")
	if n.Status == http.StatusTooManyRequests {
		t.Fatalf("neighbour refused early")
	}
	if post(t, n, true, "phone"); n.Status != http.StatusTooManyRequests {
		t.Fatalf("the network's tenth request: %d", n.Status)
	}
	// a solved challenge is single use
	o := e.recoverBrowser(t)
	from(o, "203.0.113.5")
	pow := solve(t, o)
	post(t, o, false, "start", "name", "nobody@contoso.test", "pow", pow)
	f := o.Hidden()
	f.Set("do", "code")
	f.Set("code", "123456")
	f.Set("pow", pow)
	// the same solution again: refused as reused
	o.Post(o.Abs("/recover"), f)
	if o.Status != http.StatusTooManyRequests {
		t.Fatalf("reused challenge: %d", o.Status)
	}
	// a form whose CSRF token is not this browser's starts over, audited
	f.Set("csrf", "forged")
	f.Del("pow")
	o.Post(o.Abs("/recover"), f)
	if o.Status != http.StatusForbidden || !strings.Contains(o.Last, "start over") {
		t.Fatalf("forged form: %d %q", o.Status, o.Last)
	}
	e.h.Audit.Close()
	var reasons []string
	if err := e.h.Audit.Since(context.Background(), e.h.Clock.Now().Add(-time.Minute), func(ev flows.AuditEvent) {
		if ev.Action == "recover" && ev.Outcome == "refused" {
			reasons = append(reasons, ev.Actor+" "+ev.Reason)
		}
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"web:198.51.100.7 no_script", "web:198.51.100.7 per_address", "web:198.51.100.99 per_network", "web:203.0.113.5 challenge_reused", "web:203.0.113.5 form_expired"}
	if strings.Join(reasons, ",") != strings.Join(want, ",") {
		t.Fatalf("audited refusals %v, want %v", reasons, want)
	}
}

// The global budget of sends holds across addresses.
func TestRecoverPageSendBudget(t *testing.T) {
	e := setup(t)
	o := roomy()
	o.SendsPerHour = 2
	e.withRecovery(o)
	for i := range 3 {
		b := e.recoverBrowser(t)
		post(t, b, true, "start", "name", fmt.Sprintf("user%d@contoso.test", i))
		post(t, b, true, "email")
		if refused := b.Status == http.StatusTooManyRequests; refused != (i == 2) || refused && !strings.Contains(b.Last, "Too many codes") {
			t.Fatalf("send %d: %d %q", i, b.Status, b.Last)
		}
	}
}

// hopTransport adds the X-Forwarded-For entry a trusted proxy would add.
type hopTransport struct {
	ip   string
	real http.RoundTripper
}

func (h hopTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", "10.9.9.9, "+h.ip) // the client's own claim, then the proxy's
	return h.real.RoundTrip(r)
}

// The client address: the peer's without trusted proxies, else the entry the outermost trusted
// proxy added, never one the client wrote itself.
func TestClientAddr(t *testing.T) {
	for _, c := range []struct {
		xff  string
		hops int
		want string
	}{
		{"", 0, "192.0.2.1"}, {"1.2.3.4", 0, "192.0.2.1"}, {"1.2.3.4", 1, "1.2.3.4"}, {"6.6.6.6, 1.2.3.4", 1, "1.2.3.4"},
		{"6.6.6.6, 1.2.3.4, 10.0.0.2", 2, "1.2.3.4"}, {"1.2.3.4", 2, "192.0.2.1"}, {"junk", 1, "192.0.2.1"},
	} {
		r := httptest.NewRequest("POST", "/recover", nil)
		r.RemoteAddr = "192.0.2.1:5555"
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := web.ClientAddr(r, c.hops).String(); got != c.want {
			t.Errorf("%q hops %d: %s, want %s", c.xff, c.hops, got, c.want)
		}
	}
	for a, want := range map[string]string{"198.51.100.7": "198.51.100.0/24", "2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64", "::ffff:198.51.100.7": "198.51.100.0/24"} {
		if got := web.Network(netip.MustParseAddr(a).Unmap()); got != want {
			t.Errorf("%s: %s, want %s", a, got, want)
		}
	}
}

// Fifty wrong codes posted at once through the page for one account, from fifty browsers: at
// most the limit of them are judged; the account is blocked.
func TestRecoverPageFiftyParallelWrongCodes(t *testing.T) {
	e := setup(t)
	e.withRecovery(roomy())
	e.h.Enrol(e.alice.ID)
	const n = 50
	bs := make([]*webtest.Browser, n)
	for i := range bs {
		bs[i] = e.recoverBrowser(t)
		post(t, bs[i], false, "start", "name", e.alice.UPN)
	}
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i, b := range bs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			post(t, b, false, "code", "code", "000000")
			statuses[i] = b.Status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusUnprocessableEntity {
			t.Fatalf("browser %d: %d", i, s)
		}
	}
	en, _ := e.h.Store.Get(context.Background(), e.alice.ID)
	if en.Fails.Count != e.h.Policy.Limits.FailMax || !flows.IsBlocked(en, e.h.Clock.Now()) {
		t.Fatalf("%d wrong codes judged (limit %d), blocked until %v", en.Fails.Count, e.h.Policy.Limits.FailMax, en.BlockedUntil)
	}
}

// The whole recovery in a phone-sized Chromium, first with JavaScript (the page solves its
// proof-of-work: no request is counted as a browser without script), then with JavaScript off
// (the forms still work, under the stricter limit); axe finds nothing serious on any page.
func TestRecoverPageInARealBrowser(t *testing.T) {
	e := setup(t)
	o := roomy()
	o.ChallengeBits = 12
	e.withRecovery(o)
	secret := e.h.Enrol(e.alice.ID)
	ctx := browser(t)
	axe := axeSource(t)
	noScript := func() int {
		keys, err := e.h.RDB.Keys(context.Background(), "{rl}:s:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	run := func(actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
	check := func(page string, n int) {
		t.Helper()
		audit(t, ctx, axe, page)
		shot(t, ctx, fmt.Sprintf("%02d-recover-%s", n, strings.ReplaceAll(page, " ", "-")))
	}

	// with JavaScript: the emailed code first, then the authenticator app; each button is
	// pressed once the page's script is listening
	scripted := chromedp.WaitReady(`html[data-pow="ready"]`, chromedp.ByQuery)
	run(chromedp.Navigate(e.srv.URL+"/recover"), chromedp.WaitVisible("#name", chromedp.ByID), scripted)
	check("start", 11)
	run(chromedp.SendKeys("#name", e.alice.UPN, chromedp.ByID), chromedp.Click(`button[value="start"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#code", chromedp.ByID), scripted)
	check("first proof", 12)
	run(chromedp.Click(`button[value="email"]`, chromedp.ByQuery), chromedp.WaitVisible(".notice", chromedp.ByQuery), scripted)
	check("code sent", 13)
	e.h.Engine.Drain()
	run(chromedp.SendKeys("#code", storetest.CodeFrom(t, e.h.Mail.Last()), chromedp.ByID), chromedp.Click(`button[value="code"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[value="pick"]`, chromedp.ByQuery), scripted)
	check("more", 14)
	run(chromedp.Click(`button[value="pick"]`, chromedp.ByQuery), chromedp.WaitVisible(`#code`, chromedp.ByID), scripted)
	code, _ := totp.Code(secret, e.h.Clock.Now())
	run(chromedp.SendKeys("#code", code, chromedp.ByID), chromedp.Click(`button[value="code"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#password", chromedp.ByID))
	check("new password", 15)
	run(chromedp.SendKeys("#password", "Granite-Orchid-Lantern-8", chromedp.ByID), chromedp.SendKeys("#confirm", "Granite-Orchid-Lantern-8", chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID), chromedp.WaitVisible(".notice", chromedp.ByQuery))
	if got := text(ctx, t); !strings.Contains(got, "Your password was changed") || e.h.Dir.Passwords[e.alice.ID] != "Granite-Orchid-Lantern-8" {
		t.Fatalf("with script: %q", got)
	}
	if n := noScript(); n != 0 {
		t.Fatalf("with script, %d requests were counted as without", n)
	}

	// without JavaScript: the authenticator app first, then the emailed code
	e.h.Clock.Advance(30 * time.Second)
	run(emulation.SetScriptExecutionDisabled(true), chromedp.Navigate(e.srv.URL+"/recover"), chromedp.WaitVisible("#name", chromedp.ByID),
		chromedp.SendKeys("#name", e.alice.Mail, chromedp.ByID), chromedp.Click(`#flow-unlock`, chromedp.ByID),
		chromedp.Click(`button[value="start"]`, chromedp.ByQuery), chromedp.WaitVisible("#code", chromedp.ByID))
	shot(t, ctx, "16-recover-no-script")
	code, _ = totp.Code(secret, e.h.Clock.Now())
	run(chromedp.SendKeys("#code", code, chromedp.ByID), chromedp.Click(`button[value="code"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[value="pick"]`, chromedp.ByQuery), chromedp.Click(`button[value="pick"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#code`, chromedp.ByID))
	e.h.Engine.Drain()
	run(chromedp.SendKeys("#code", storetest.CodeFrom(t, e.h.Mail.Last()), chromedp.ByID), chromedp.Click(`button[value="code"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#password", chromedp.ByID))
	run(emulation.SetScriptExecutionDisabled(false))
	check("new password without script", 17)
	run(emulation.SetScriptExecutionDisabled(true), chromedp.SendKeys("#password", "Another-Orchid-Canyon-9", chromedp.ByID),
		chromedp.SendKeys("#confirm", "Another-Orchid-Canyon-9", chromedp.ByID), chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible(".notice", chromedp.ByQuery))
	if e.h.Dir.Passwords[e.alice.ID] != "Another-Orchid-Canyon-9" {
		t.Fatal("without script: not reset")
	}
	if n := noScript(); n == 0 {
		t.Fatal("without script, no request was counted as such")
	}
}

var answerRE = regexp.MustCompile(`<label for="a(\d)">([^<]+)</label>`)

// Security questions as the second proof on the recovery page: their own one-time page asks
// them, and right answers lead on to the new-password page (wrong ones back to the recovery
// page, where another method can be chosen).
func TestRecoverPageWithSecurityQuestions(t *testing.T) {
	e := setup(t)
	e.withRecovery(roomy())
	ctx := context.Background()
	pol, v, _ := e.h.Store.GetPolicy(ctx)
	pol.Methods = append(pol.Methods, flows.MethodQuestions)
	if _, err := e.h.Store.PutPolicy(ctx, pol, v); err != nil {
		t.Fatal(err)
	}
	e.h.Clock.Advance(6 * time.Second) // past the policy cache
	secret := e.h.Enrol(e.alice.ID)
	if err := e.h.Store.Remove(ctx, e.alice.ID, flows.MethodEmail); err != nil {
		t.Fatal(err)
	}
	qs := e.h.Questions.Choices(pol)[:3]
	answers := map[string]string{qs[0]: "Fluffy", qs[1]: "Springfield", qs[2]: "Saint Mary"}
	reg, err := e.h.Questions.Register(ctx, pol, qs, []string{"Fluffy", "Springfield", "Saint Mary"})
	if err != nil {
		t.Fatal(err)
	}
	reg.RegisteredAt = e.h.Clock.Now()
	if err := e.h.Store.Register(ctx, e.alice.ID, reg, 0); err != nil {
		t.Fatal(err)
	}
	prove := func(b *webtest.Browser, wrong bool) {
		t.Helper()
		e.h.Clock.Advance(30 * time.Second)
		code, _ := totp.Code(secret, e.h.Clock.Now())
		post(t, b, true, "code", "code", code)
		post(t, b, true, "pick", "method", "questions")
		if !strings.HasPrefix(b.URL.Path, "/l/") {
			t.Fatalf("not on the questions page: %s\n%s", b.URL, b.Last)
		}
		f := url.Values{}
		for _, m := range answerRE.FindAllStringSubmatch(b.Last, -1) {
			a := answers[html.UnescapeString(m[2])]
			if wrong {
				a = "wrong"
			}
			f.Set("a"+m[1], a)
		}
		b.Submit("", f)
	}
	b := e.recoverBrowser(t)
	post(t, b, true, "start", "name", e.alice.UPN)
	prove(b, true)
	if b.URL.Path != "/recover" || !strings.Contains(b.Last, "Those answers aren&#39;t right") || !strings.Contains(b.Last, `value="questions"`) {
		t.Fatalf("after wrong answers: %s\n%s", b.URL, b.Last)
	}
	b = e.recoverBrowser(t)
	post(t, b, true, "start", "name", e.alice.UPN)
	prove(b, false)
	if !strings.HasPrefix(b.URL.Path, "/l/") || !strings.Contains(b.Last, `id="password"`) {
		t.Fatalf("after right answers: %s\n%s", b.URL, b.Last)
	}
}
