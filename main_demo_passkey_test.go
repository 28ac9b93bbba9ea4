package main

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/web/webtest"
	"github.com/resetbot/resetbot/flows/method/passkey/passkeytest"
	"github.com/resetbot/resetbot/graph/graphtest"
)

var optionsRE = regexp.MustCompile(`data-options="([^"]+)"`)

// options reads the WebAuthn options the page hands to its script.
func options(t *testing.T, b *webtest.Browser) []byte {
	t.Helper()
	m := optionsRE.FindStringSubmatch(b.Last)
	if m == nil {
		t.Fatalf("no passkey options on the page (%d %s):\n%s", b.Status, b.URL, b.Last)
	}
	return []byte(html.UnescapeString(m[1]))
}

// In the demo, Alice registers a passkey (answered by a software authenticator, as a browser
// would) and an email address, then resets with the passkey and the email code.
func TestDemoPasskeyReset(t *testing.T) {
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
	out.after(t, 0, regexp.MustCompile(`frank@contoso\.test`))
	m := type_("/as alice@contoso.test")
	m = type_("register")
	link, _ := out.after(t, m, demoLinkRE)
	u, _ := url.Parse(link)
	origin := u.Scheme + "://" + u.Host
	b := webtest.New(t, http.DefaultClient)
	b.Get(link)
	b.Submit("", nil)
	b.SignIn("alice@contoso.test", graphtest.DemoPassword)
	b.Submit("/enrol/passkey", url.Values{"name": {"Laptop"}})
	key := passkeytest.NewKey()
	b.Submit("/enrol/passkey/finish", url.Values{"response": {string(key.Create(options(t, b), origin, passkeytest.Ceremony{}))}})
	if !strings.Contains(b.Last, "Done: the passkey &#34;Laptop&#34; is registered") {
		t.Fatalf("passkey not registered (%d):\n%s", b.Status, b.Last)
	}
	m = out.len()
	b.Submit("/enrol/begin", url.Values{"method": {"email"}, "address": {"alice.home@mail.test"}})
	ecode, _ := out.after(t, m, outboxRE)
	b.Submit("/enrol/confirm", url.Values{"code": {ecode}})
	b.Submit("/enrol/done", nil)
	if !strings.Contains(b.Last, "Your methods are registered") {
		t.Fatalf("registration did not finish:\n%s", b.Last)
	}

	type_("I'm locked out")
	m = type_("passkey")
	link, _ = out.after(t, m, demoLinkRE)
	b = webtest.New(t, http.DefaultClient)
	b.Get(link)
	m = out.len()
	b.Submit("", url.Values{"response": {string(key.Get(options(t, b), origin, passkeytest.Ceremony{}))}})
	if !strings.Contains(b.Last, "Your passkey was accepted") {
		t.Fatalf("passkey proof (%d):\n%s", b.Status, b.Last)
	}
	out.after(t, m, regexp.MustCompile(`One more proof`))
	m = type_("email")
	ecode, _ = out.after(t, m, outboxRE)
	m = type_(ecode)
	link, _ = out.after(t, m, demoLinkRE)
	b = webtest.New(t, http.DefaultClient)
	b.Get(link)
	m = out.len()
	b.Submit("", url.Values{"password": {"Granite-Orchid-Lantern-8"}, "confirm": {"Granite-Orchid-Lantern-8"}})
	out.after(t, m, regexp.MustCompile(`password of alice@contoso\.test changed`))
	type_("/quit")
	if code := <-done; code != 0 {
		t.Fatalf("demo exited %d: %s", code, errb.String())
	}
}
