// Package webtest drives the bot's pages over HTTP like a browser would (cookies, redirects,
// forms), including the directory sign-in form of graphtest.
package webtest

import (
	"crypto/sha256"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/web"
)

// Browser is an HTTP client with a cookie jar.
type Browser struct {
	T      testing.TB
	Client *http.Client
	// Last is the last page's body.
	Last string
	// URL is the last page's URL.
	URL *url.URL
	// Status is the last status code.
	Status int
	// Header is the last response's headers.
	Header http.Header
}

// New wraps a client (e.g. httptest.Server.Client()) with a fresh cookie jar.
func New(t testing.TB, c *http.Client) *Browser {
	jar, _ := cookiejar.New(nil)
	cl := *c
	cl.Jar = jar
	return &Browser{T: t, Client: &cl}
}

func (b *Browser) keep(resp *http.Response, err error) string {
	b.T.Helper()
	if err != nil {
		b.T.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.Last, b.URL, b.Status, b.Header = string(body), resp.Request.URL, resp.StatusCode, resp.Header
	return b.Last
}

// Get fetches a page.
func (b *Browser) Get(u string) string {
	b.T.Helper()
	return b.keep(b.Client.Get(u))
}

// Post submits a form to u.
func (b *Browser) Post(u string, form url.Values) string {
	b.T.Helper()
	return b.keep(b.Client.PostForm(u, form))
}

// Abs resolves a path against the last page.
func (b *Browser) Abs(path string) string {
	return b.URL.ResolveReference(&url.URL{Path: path}).String()
}

var inputRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// Hidden returns the hidden inputs of the last page.
func (b *Browser) Hidden() url.Values {
	v := url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(b.Last, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

// Submit posts the last page's hidden fields plus extra to path (relative to the last page).
func (b *Browser) Submit(path string, extra url.Values) string {
	b.T.Helper()
	form := b.Hidden()
	for k, vs := range extra {
		form[k] = vs
	}
	target := b.URL.String()
	if path != "" {
		target = b.Abs(path)
	}
	return b.Post(target, form)
}

// SignIn fills graphtest's sign-in form, which must be the last page.
func (b *Browser) SignIn(user, password string) string {
	b.T.Helper()
	if !strings.Contains(b.Last, `name="password"`) || !strings.Contains(b.Last, "demo tenant") {
		b.T.Fatalf("not the sign-in form (%d %s):\n%s", b.Status, b.URL, b.Last)
	}
	return b.Submit("", url.Values{"username": {user}, "password": {password}})
}

var secretRE = regexp.MustCompile(`<code class="secret">([A-Z2-7]+)</code>`)

// TOTPSecret reads the manual-entry secret from the last page.
func (b *Browser) TOTPSecret() string {
	b.T.Helper()
	m := secretRE.FindStringSubmatch(b.Last)
	if m == nil {
		b.T.Fatalf("no secret on the page:\n%s", b.Last)
	}
	return m[1]
}

var challengeRE = regexp.MustCompile(`data-challenge="([^"]+)" data-bits="(\d+)"`)

// Solve does what the recovery page's script does for the last page's challenge: it finds the
// counter whose SHA-256 with the challenge starts with the zero bits asked for, and returns the
// solution as the script sends it.
func (b *Browser) Solve() string {
	b.T.Helper()
	m := challengeRE.FindStringSubmatch(b.Last)
	if m == nil {
		b.T.Fatalf("no challenge on the page:\n%s", b.Last)
	}
	ch := html.UnescapeString(m[1])
	bits, _ := strconv.Atoi(m[2])
	for n := 0; ; n++ {
		if web.LeadingZeroBits(sha256.Sum256([]byte(ch+":"+strconv.Itoa(n)))) >= bits {
			return ch + "|" + strconv.Itoa(n)
		}
	}
}

// Recover submits the last recovery page's form: the button do and the fields as name,
// value pairs, with the challenge solved when script is true (a browser with JavaScript).
func (b *Browser) Recover(script bool, do string, kv ...string) string {
	b.T.Helper()
	f := url.Values{"do": {do}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	if script {
		f.Set("pow", b.Solve())
	}
	return b.Submit("/recover", f)
}
