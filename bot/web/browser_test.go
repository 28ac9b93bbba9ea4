package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/internal/childproc"
	"github.com/resetbot/resetbot/store/storetest"
)

// browser starts headless Chromium (Debian's; `make test` installs it) for one test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: run `make test` (installs it as root) or `apt-get install chromium`")
	}
	// Chromium's own scratch folders (org.chromium.Chromium.*) go where TMPDIR says; a killed
	// browser cannot remove them, so they go into a folder removed after the browser has gone
	// (cleanups run last registered first). Short: the browser's socket path has at most 107 bytes.
	// The profile goes there too: a helper process of Chromium may still write to it for a
	// moment after the browser has gone (seen on a loaded machine), which t.TempDir's cleanup
	// reports as a failure.
	scratch, err := os.MkdirTemp("", "chromium")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(scratch) })
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(filepath.Join(scratch, "profile")), chromedp.IgnoreCertErrors,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.WindowSize(390, 844), // a phone
		chromedp.Env("TMPDIR=" + scratch),
	}
	// chromedp gives Chromium a parent-death signal, which Linux ties to the forking thread:
	// the first Run forks it on a thread held until the browser is gone (cleanups run last
	// registered first, so gone closes after cancel has waited for Chromium).
	gone := make(chan struct{})
	t.Cleanup(func() { close(gone) })
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel3)
	if err := childproc.Hold(func() error { return chromedp.Run(ctx, chromedp.Navigate("about:blank")) }, gone); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// axeSource is axe-core from npm (`make test` installs it into .cache/axe).
func axeSource(t *testing.T) string {
	t.Helper()
	p := os.Getenv("AXE_PATH")
	if p == "" {
		p = filepath.Join("..", "..", ".cache", "axe", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("axe-core not found at %s: run `make test`, which installs it from npm", p)
	}
	return string(b)
}

// shot saves a screenshot as a test artifact (artifacts/screenshots, or $ARTIFACTS_DIR).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts", "screenshots")
	}
	_ = os.MkdirAll(dir, 0o755)
	var buf []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&buf, 100)); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// audit runs axe-core on the current page and fails on serious or critical violations.
func audit(t *testing.T, ctx context.Context, axe, page string) {
	t.Helper()
	var res string
	err := chromedp.Run(ctx, chromedp.Evaluate(axe, nil),
		chromedp.Evaluate(`axe.run(document).then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))))`, &res,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	var vs []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Nodes  int    `json:"nodes"`
	}
	_ = json.Unmarshal([]byte(res), &vs)
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: accessibility violation %s (%s, %d nodes)", page, v.ID, v.Impact, v.Nodes)
		}
	}
}

func text(ctx context.Context, t *testing.T) string {
	t.Helper()
	var s string
	if err := chromedp.Run(ctx, chromedp.Text("main", &s, chromedp.ByQuery)); err != nil {
		t.Fatalf("read page: %v", err)
	}
	return s
}

func TestPagesInARealBrowser(t *testing.T) {
	e := setup(t)
	ctx := browser(t)
	axe := axeSource(t)

	// registration: sign in through the tenant's form, then the authenticator app
	link := e.registerLink(t, e.alice)
	if err := chromedp.Run(ctx, chromedp.Navigate(link), chromedp.WaitVisible("button", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	audit(t, ctx, axe, "link page")
	shot(t, ctx, "01-register-link")
	err := chromedp.Run(ctx, chromedp.Click("button", chromedp.ByQuery), chromedp.WaitVisible("#u", chromedp.ByID),
		chromedp.SendKeys("#u", e.alice.UPN, chromedp.ByID), chromedp.SendKeys("#p", graphtest.DemoPassword, chromedp.ByID),
		chromedp.Submit("#p", chromedp.ByID), chromedp.WaitVisible(`form[action="/enrol/begin"] button`, chromedp.ByQuery))
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	audit(t, ctx, axe, "methods page")
	shot(t, ctx, "02-methods")
	var secret string
	err = chromedp.Run(ctx, chromedp.Submit(`input[value="totp"]`, chromedp.ByQuery), chromedp.WaitVisible("code.secret", chromedp.ByQuery),
		chromedp.Text("code.secret", &secret, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	audit(t, ctx, axe, "authenticator page")
	shot(t, ctx, "03-authenticator")
	code, _ := totp.Code(strings.TrimSpace(secret), e.h.Clock.Now())
	if err := chromedp.Run(ctx, chromedp.SendKeys("#code", code, chromedp.ByID), chromedp.Submit("#code", chromedp.ByID),
		chromedp.WaitVisible(".notice", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t); !strings.Contains(got, "authenticator app is registered") {
		t.Fatalf("after the code: %q", got)
	}
	en, _ := e.h.Store.Get(context.Background(), e.alice.ID)
	if !en.Has(flows.MethodTOTP) {
		t.Fatal("not registered")
	}

	// the new password, with JavaScript off: a refused attempt, then a good one, then a replay
	e.h.Enrol(e.alice.ID)
	e.h.Clock.Advance(30 * time.Second)
	chat := "chat-browser"
	rs := e.h.Say(chat, e.alice.Mail, "reset")
	rs = e.h.Click(chat, e.alice.Mail, storetest.Choice(t, rs, "Authenticator"))
	en, _ = e.h.Store.Get(context.Background(), e.alice.ID)
	code, _ = totp.Code(en.Methods[flows.MethodTOTP].Secret, e.h.Clock.Now())
	rs = e.h.Say(chat, e.alice.Mail, code)
	rs = e.h.Click(chat, e.alice.Mail, storetest.Choice(t, rs, "Email"))
	rs = e.h.Say(chat, e.alice.Mail, storetest.CodeFrom(t, e.h.Mail.Last()))
	reset := storetest.Link(t, rs)
	if err := chromedp.Run(ctx, emulation.SetScriptExecutionDisabled(true), chromedp.Navigate(reset), chromedp.WaitVisible("#password", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	audit2 := func(page string) {
		// axe needs scripts: turn them on for the scan only
		_ = chromedp.Run(ctx, emulation.SetScriptExecutionDisabled(false))
		audit(t, ctx, axe, page)
		_ = chromedp.Run(ctx, emulation.SetScriptExecutionDisabled(true))
	}
	audit2("new password page")
	shot(t, ctx, "04-new-password")
	err = chromedp.Run(ctx, chromedp.SendKeys("#password", "Password99", chromedp.ByID), chromedp.SendKeys("#confirm", "Password99", chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID), chromedp.WaitVisible(".error", chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t); !strings.Contains(got, "too easy to guess") {
		t.Fatalf("refusal: %q", got)
	}
	audit2("refused password page")
	shot(t, ctx, "05-refused")
	err = chromedp.Run(ctx, chromedp.SendKeys("#password", "Granite-Orchid-Lantern-8", chromedp.ByID),
		chromedp.SendKeys("#confirm", "Granite-Orchid-Lantern-8", chromedp.ByID), chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible(".notice", chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t); !strings.Contains(got, "Your password was changed") || e.h.Dir.Passwords[e.alice.ID] != "Granite-Orchid-Lantern-8" {
		t.Fatalf("reset: %q", got)
	}
	audit2("done page")
	shot(t, ctx, "06-done")
	// the back button cannot resend the form (no-store), and a fresh POST of the used link fails
	var ok bool
	err = chromedp.Run(ctx, emulation.SetScriptExecutionDisabled(false), chromedp.Evaluate(fmt.Sprintf(`(() => {
		const f = document.createElement("form"); f.method = "post"; f.action = %q;
		for (const [k, v] of [["csrf", "x"], ["password", "Another-Orchid-Canyon-9"], ["confirm", "Another-Orchid-Canyon-9"]]) {
			const i = document.createElement("input"); i.name = k; i.value = v; f.appendChild(i);
		}
		document.body.appendChild(f); f.submit(); return true; })()`, reset), &ok),
		chromedp.WaitVisible("main", chromedp.ByQuery))
	if err != nil {
		t.Fatalf("second POST: %v", err)
	}
	if got := text(ctx, t); !strings.Contains(got, "not valid") && !strings.Contains(got, "expired") {
		t.Fatalf("second POST answered: %q", got)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(reset), chromedp.WaitVisible("main", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t); !strings.Contains(got, "not valid") {
		t.Fatalf("used link: %q", got)
	}
	audit(t, ctx, axe, "used link page")
	shot(t, ctx, "07-used-link")
	if e.h.Dir.Passwords[e.alice.ID] != "Granite-Orchid-Lantern-8" {
		t.Fatal("the second POST changed the password")
	}
}

func TestQuestionsAndTemporaryPasswordPagesInARealBrowser(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	pol, v, _ := e.h.Store.GetPolicy(ctx)
	pol.Methods = append(pol.Methods, flows.MethodQuestions)
	pol.ResetMode = flows.ResetTemporary
	if _, err := e.h.Store.PutPolicy(ctx, pol, v); err != nil {
		t.Fatal(err)
	}
	e.h.Clock.Advance(6 * time.Second) // past the policy cache
	bctx := browser(t)
	axe := axeSource(t)
	err := chromedp.Run(bctx, chromedp.Navigate(e.registerLink(t, e.alice)), chromedp.Click("button", chromedp.ByQuery),
		chromedp.WaitVisible("#u", chromedp.ByID), chromedp.SendKeys("#u", e.alice.UPN, chromedp.ByID),
		chromedp.SendKeys("#p", graphtest.DemoPassword, chromedp.ByID), chromedp.Submit("#p", chromedp.ByID),
		chromedp.WaitVisible(`form[action="/enrol/begin"] button`, chromedp.ByQuery),
		chromedp.Submit(`input[value="questions"]`, chromedp.ByQuery), chromedp.WaitVisible("#a0", chromedp.ByID))
	if err != nil {
		t.Fatal(err)
	}
	audit(t, bctx, axe, "security questions page")
	shot(t, bctx, "08-questions")
	for i, a := range []string{"Fluffy McFluff", "Springfield", "Saint Mary"} {
		if err := chromedp.Run(bctx, chromedp.SendKeys(fmt.Sprintf("#a%d", i), a, chromedp.ByID)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Run(bctx, chromedp.Submit("#a0", chromedp.ByID), chromedp.WaitVisible(".notice", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if got := text(bctx, t); !strings.Contains(got, "security questions are registered") {
		t.Fatalf("questions: %q", got)
	}
	// a temporary password, shown once after the POST
	secret := e.h.Enrol(e.alice.ID)
	e.h.Clock.Advance(30 * time.Second)
	chat := "chat-temp"
	rs := e.h.Say(chat, e.alice.Mail, "reset")
	rs = e.h.Click(chat, e.alice.Mail, storetest.Choice(t, rs, "Authenticator"))
	code, _ := totp.Code(secret, e.h.Clock.Now())
	rs = e.h.Say(chat, e.alice.Mail, code)
	rs = e.h.Click(chat, e.alice.Mail, storetest.Choice(t, rs, "Email"))
	rs = e.h.Say(chat, e.alice.Mail, storetest.CodeFrom(t, e.h.Mail.Last()))
	link := storetest.Link(t, rs)
	if err := chromedp.Run(bctx, chromedp.Navigate(link), chromedp.WaitVisible("button", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if got := text(bctx, t); !strings.Contains(got, "temporary password") || e.h.Dir.Passwords[e.alice.ID] != "" {
		t.Fatalf("temporary page before the POST (GET must issue nothing): %q", got)
	}
	audit(t, bctx, axe, "temporary password page")
	shot(t, bctx, "09-temporary")
	var shown string
	if err := chromedp.Run(bctx, chromedp.Click("button", chromedp.ByQuery), chromedp.WaitVisible("code.secret", chromedp.ByQuery),
		chromedp.Text("code.secret", &shown, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if shown == "" || e.h.Dir.Passwords[e.alice.ID] != strings.TrimSpace(shown) || !e.h.Dir.Forced[e.alice.ID] {
		t.Fatalf("shown %q, set %q", shown, e.h.Dir.Passwords[e.alice.ID])
	}
	audit(t, bctx, axe, "temporary password result")
	shot(t, bctx, "10-temporary-shown")
}
