package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/bot/web/webtest"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/questions"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/storetest"
)

type env struct {
	h     *storetest.Harness
	tn    *graphtest.Tenant
	srv   *httptest.Server
	alice graphtest.User
	bob   graphtest.User
}

func setup(t *testing.T) *env {
	t.Helper()
	h := storetest.New(t)
	tn := graphtest.New()
	tn.Clock = h.Clock.Now
	users := graphtest.DemoUsers(tn)
	if err := tn.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tn.Close)
	for _, u := range users[:2] {
		h.Dir.Add(flows.Account{ID: u.ID, UPN: u.UPN, Mail: u.Mail, DisplayName: u.DisplayName, Enabled: true, Groups: []string{storetest.Group}})
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	h.Opts.BaseURL = srv.URL
	h.Rebuild()
	o, err := web.NewOIDC(context.Background(), tn.Issuer(), tn.ClientID, tn.ClientSecret, srv.URL, h.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = web.New(h.Engine, o, h.Crypto, h.Store, bot.NewLogger(h.Logs, "debug")).Handler()
	return &env{h: h, tn: tn, srv: srv, alice: users[0], bob: users[1]}
}

func (e *env) registerLink(t *testing.T, u graphtest.User) string {
	t.Helper()
	rs := e.h.Say("chat-"+u.ID, u.Mail, "register")
	for _, r := range rs {
		if r.Link != "" {
			if !strings.HasPrefix(r.Link, e.srv.URL+"/l/") {
				t.Fatalf("link %q", r.Link)
			}
			return r.Link
		}
	}
	t.Fatalf("no link: %v", storetest.IDs(rs))
	return ""
}

// signIn opens a registration link and signs in to the tenant as who.
func (e *env) signIn(t *testing.T, link string, who graphtest.User) *webtest.Browser {
	t.Helper()
	b := webtest.New(t, e.srv.Client())
	b.Get(link)
	if b.Status != 200 || !strings.Contains(b.Last, "Sign in with your work account") {
		t.Fatalf("link page %d:\n%s", b.Status, b.Last)
	}
	b.Submit("", nil)
	b.SignIn(who.UPN, graphtest.DemoPassword)
	return b
}

func checkHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers: %v", h)
	}
}

func TestRegisterAuthenticatorAndEmail(t *testing.T) {
	e := setup(t)
	b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
	if b.Status != 200 || !strings.HasSuffix(b.URL.Path, "/enrol") || !strings.Contains(b.Last, "Set up an authenticator app") {
		t.Fatalf("after sign-in %d %s:\n%s", b.Status, b.URL, b.Last)
	}
	checkHeaders(t, b.Header)
	if strings.Contains(b.Last, `class="secret"`) {
		t.Fatal("a GET page shows a secret")
	}
	b.Submit("/enrol/begin", url.Values{"method": {"totp"}})
	secret := b.TOTPSecret()
	if !strings.Contains(b.Last, `src="data:image/png;base64,`) {
		t.Fatal("no QR code")
	}
	checkHeaders(t, b.Header)
	b.Submit("/enrol/confirm", url.Values{"code": {"000000"}})
	if b.Status != http.StatusUnprocessableEntity || !strings.Contains(b.Last, "is not right") {
		t.Fatalf("wrong code %d", b.Status)
	}
	code, _ := totp.Code(secret, e.h.Clock.Now())
	b.Submit("/enrol/confirm", url.Values{"code": {code}})
	if !strings.Contains(b.Last, "authenticator app is registered") {
		t.Fatalf("confirm:\n%s", b.Last)
	}
	b.Submit("/enrol/begin", url.Values{"method": {"email"}, "address": {"not an address"}})
	if b.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad address accepted: %d", b.Status)
	}
	b.Submit("/enrol/begin", url.Values{"method": {"email"}, "address": {"alice.private@mail.test"}})
	if !strings.Contains(b.Last, "a***@m****.test") {
		t.Fatalf("email page:\n%s", b.Last)
	}
	b.Submit("/enrol/confirm", url.Values{"code": {storetest.CodeFrom(t, e.h.Mail.Last())}})
	if !strings.Contains(b.Last, "email address is registered") {
		t.Fatalf("email confirm:\n%s", b.Last)
	}
	b.Submit("/enrol/done", nil)
	if !strings.Contains(b.Last, "Your methods are registered") {
		t.Fatalf("done:\n%s", b.Last)
	}
	en, err := e.h.Store.Get(context.Background(), e.alice.ID)
	if err != nil || !en.Has(flows.MethodTOTP) || !en.Has(flows.MethodEmail) || en.Methods[flows.MethodTOTP].Secret != secret {
		t.Fatalf("enrollment %+v %v", en, err)
	}
	// the enrolment code cannot be replayed for verification
	if en.LastTOTPStep != e.h.Clock.Now().Unix()/30 {
		t.Fatalf("last step %d", en.LastTOTPStep)
	}
	announced := 0
	for _, m := range e.h.Mail.All() {
		if strings.Contains(m.Subject, "was added") {
			announced++
			if !strings.Contains(strings.Join(m.To, ","), "alice@contoso.test") {
				t.Fatalf("announcement not sent to the directory address: %v", m.To)
			}
			if !strings.Contains(m.Body, "If this wasn't you, contact the helpdesk now: https://") {
				t.Fatalf("no helpdesk link in the announcement: %q", m.Body)
			}
		}
	}
	if announced != 2 {
		t.Fatalf("%d announcements, want 2", announced)
	}
	found := false
	for _, r := range e.h.Notes.Replies {
		found = found || r.MsgID == flows.MsgRegistered
	}
	if !found {
		t.Fatal("the chat was not told")
	}
	// the browser session ended
	b.Get(e.srv.URL + "/enrol")
	if b.Status != http.StatusForbidden {
		t.Fatalf("session still alive: %d", b.Status)
	}
}

// Signing in as the wrong person on a one-time page says what happened and what to do, and
// the link still works for the right person (it was not used up); once they have used it, it
// is gone.
func TestSignInAsAnotherUserIsRefused(t *testing.T) {
	e := setup(t)
	link := e.registerLink(t, e.alice)
	b := e.signIn(t, link, e.bob)
	if b.Status != http.StatusForbidden || !strings.Contains(b.Last, "Signed in as someone else") ||
		!strings.Contains(b.Last, "nothing was changed") || !strings.Contains(b.Last, "open it again and sign in with your own work account") {
		t.Fatalf("%d:\n%s", b.Status, b.Last)
	}
	b.Post(e.srv.URL+"/enrol/begin", url.Values{"method": {"totp"}})
	if b.Status != http.StatusForbidden || strings.Contains(b.Last, "secret") {
		t.Fatalf("enrol after refusal: %d", b.Status)
	}
	for _, id := range []string{e.alice.ID, e.bob.ID} {
		en, _ := e.h.Store.Get(context.Background(), id)
		if len(en.Methods) != 0 {
			t.Fatalf("%s got methods", id)
		}
	}
	if p, _ := e.h.Store.Pinned(context.Background(), storetest.Chat("chat-"+e.alice.ID).Key()); p != "" {
		t.Fatalf("pinned to %q after a refused sign-in", p)
	}
	// the same link, now by Alice in her own browser: it works
	a := e.signIn(t, link, e.alice)
	if a.Status != http.StatusOK || !strings.HasSuffix(a.URL.Path, "/enrol") {
		t.Fatalf("the right person after a wrong sign-in: %d %s\n%s", a.Status, a.URL, a.Last)
	}
	// and then it is used
	c := webtest.New(t, e.srv.Client())
	c.Get(link)
	if c.Status != http.StatusNotFound {
		t.Fatalf("the link after its use: %d", c.Status)
	}
}

// A wrong sign-in gives the link back only while nothing happened since: after a newer link
// (here: a new "register" in the chat), the old one stays gone.
func TestWrongPersonDoesNotReviveAnOldLink(t *testing.T) {
	e := setup(t)
	link := e.registerLink(t, e.alice)
	b := webtest.New(t, e.srv.Client())
	b.Get(link)
	b.Submit("", nil) // the sign-in form of the tenant
	newer := e.registerLink(t, e.alice)
	b.SignIn(e.bob.UPN, graphtest.DemoPassword)
	if b.Status != http.StatusForbidden {
		t.Fatalf("wrong person: %d", b.Status)
	}
	c := webtest.New(t, e.srv.Client())
	if c.Get(link); c.Status != http.StatusNotFound {
		t.Fatalf("the old link came back: %d", c.Status)
	}
	if c.Get(newer); c.Status != http.StatusOK {
		t.Fatalf("the newer link: %d", c.Status)
	}
}

// A user's links are one per purpose across all their chats: a wrong sign-in never gives back
// a link that a newer one of the same purpose, asked for in another chat of the same person
// (Teams and Slack, two workspaces, the recovery page), replaced meanwhile. The newer link
// keeps working and the old one stays gone.
func TestWrongPersonDoesNotReviveALinkReplacedFromAnotherChat(t *testing.T) {
	e := setup(t)
	link := e.registerLink(t, e.alice)
	b := webtest.New(t, e.srv.Client())
	b.Get(link)
	b.Submit("", nil) // the sign-in form of the tenant: the link is used
	newer := ""
	for _, r := range e.h.Say("chat2-"+e.alice.ID, e.alice.Mail, "register") {
		if r.Link != "" {
			newer = r.Link
		}
	}
	if newer == "" {
		t.Fatal("no link in the second chat")
	}
	b.SignIn(e.bob.UPN, graphtest.DemoPassword)
	if b.Status != http.StatusForbidden {
		t.Fatalf("wrong person: %d", b.Status)
	}
	c := webtest.New(t, e.srv.Client())
	if c.Get(newer); c.Status != http.StatusOK {
		t.Fatalf("the newer link, from the other chat, was voided: %d", c.Status)
	}
	if c.Get(link); c.Status != http.StatusNotFound {
		t.Fatalf("the old link came back over the newer one: %d", c.Status)
	}
}

func TestOldSignInIsRefused(t *testing.T) {
	e := setup(t)
	e.tn.Clock = func() time.Time { return e.h.Clock.Now().Add(-6 * time.Minute) }
	b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
	if b.Status != http.StatusForbidden || !strings.Contains(b.Last, "not fresh enough") {
		t.Fatalf("%d:\n%s", b.Status, b.Last)
	}
}

func TestLinkIsConsumedByPOSTOnly(t *testing.T) {
	e := setup(t)
	link := e.registerLink(t, e.alice)
	scanner := webtest.New(t, e.srv.Client())
	for i := 0; i < 3; i++ { // chat unfurlers and mail scanners fetch links
		scanner.Get(link)
		if scanner.Status != 200 {
			t.Fatalf("GET %d consumed the link: %d", i, scanner.Status)
		}
	}
	// a POST without the form's CSRF token is refused and consumes nothing
	scanner.Post(link, url.Values{"csrf": {"forged"}})
	if scanner.Status != http.StatusForbidden {
		t.Fatalf("forged POST: %d", scanner.Status)
	}
	e.signIn(t, link, e.alice)
	again := webtest.New(t, e.srv.Client())
	again.Get(link)
	if again.Status != http.StatusNotFound {
		t.Fatalf("used link: %d", again.Status)
	}
	usedPage := again.Last
	again.Get(e.srv.URL + "/l/AAAAunknownAAAA")
	if again.Status != http.StatusNotFound || again.Last != usedPage {
		t.Fatalf("unknown and used links look different")
	}
	// a second POST of the used link (replaying the form) fails too
	form := url.Values{"csrf": {"x"}}
	again.Client.Jar.SetCookies(again.URL, []*http.Cookie{{Name: "__Host-resetbot-pre", Value: "x", Path: "/"}})
	again.Post(link, form)
	if again.Status != http.StatusNotFound {
		t.Fatalf("second POST: %d", again.Status)
	}
}

func TestNewLinkVoidsTheOld(t *testing.T) {
	e := setup(t)
	old := e.registerLink(t, e.alice)
	e.registerLink(t, e.alice)
	b := webtest.New(t, e.srv.Client())
	b.Get(old)
	if b.Status != http.StatusNotFound {
		t.Fatalf("old link still works: %d", b.Status)
	}
}

func TestLinkExpires(t *testing.T) {
	e := setup(t)
	link := e.registerLink(t, e.alice)
	e.h.Clock.Advance(flows.LinkTTL)
	b := webtest.New(t, e.srv.Client())
	b.Get(link)
	if b.Status != http.StatusNotFound {
		t.Fatalf("expired link: %d", b.Status)
	}
}

func TestCookiesAreHostPrefixedAndSecure(t *testing.T) {
	e := setup(t)
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(e.registerLink(t, e.alice))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	set := resp.Header.Values("Set-Cookie")
	if len(set) == 0 {
		t.Fatal("no cookie")
	}
	for _, s := range set {
		if !strings.HasPrefix(s, "__Host-") || !strings.Contains(s, "Secure") || !strings.Contains(s, "HttpOnly") || !strings.Contains(s, "Path=/") || strings.Contains(s, "Domain=") {
			t.Fatalf("cookie %q", s)
		}
	}
}

func TestResetPage(t *testing.T) {
	e := setup(t)
	secret := e.h.Enrol(e.alice.ID)
	chat, mail := "chat-reset", e.alice.Mail
	rs := e.h.Say(chat, mail, "forgot my password")
	rs = e.h.Click(chat, mail, storetest.Choice(t, rs, "Authenticator"))
	code, _ := totp.Code(secret, e.h.Clock.Now())
	rs = e.h.Say(chat, mail, code)
	rs = e.h.Click(chat, mail, storetest.Choice(t, rs, "Email"))
	rs = e.h.Say(chat, mail, storetest.CodeFrom(t, e.h.Mail.Last()))
	link := ""
	for _, r := range rs {
		link += r.Link
	}
	b := webtest.New(t, e.srv.Client())
	b.Get(link)
	if b.Status != 200 || !strings.Contains(b.Last, `name="confirm"`) {
		t.Fatalf("reset page %d:\n%s", b.Status, b.Last)
	}
	checkHeaders(t, b.Header)
	b.Submit("", url.Values{"password": {"Tr0ub4dor&3x"}, "confirm": {"Tr0ub4dor&3y"}})
	if b.Status != http.StatusUnprocessableEntity || !strings.Contains(b.Last, "not the same") {
		t.Fatalf("mismatch: %d", b.Status)
	}
	b.Submit("", url.Values{"password": {"alllowercase"}, "confirm": {"alllowercase"}})
	if !strings.Contains(b.Last, "three of") {
		t.Fatalf("weak: %d %s", b.Status, b.Last)
	}
	b.Submit("", url.Values{"password": {"Tr0ub4dor&3x"}, "confirm": {"Tr0ub4dor&3x"}})
	if b.Status != 200 || !strings.Contains(b.Last, "Your password was changed") {
		t.Fatalf("reset: %d\n%s", b.Status, b.Last)
	}
	if e.h.Dir.Passwords[e.alice.ID] != "Tr0ub4dor&3x" {
		t.Fatal("directory not called")
	}
	b.Get(link)
	if b.Status != http.StatusNotFound {
		t.Fatalf("link alive after use: %d", b.Status)
	}
}

func TestSecurityQuestionsOnThePages(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	pol, v, _ := e.h.Store.GetPolicy(ctx)
	pol.Methods = append(pol.Methods, flows.MethodQuestions)
	if _, err := e.h.Store.PutPolicy(ctx, pol, v); err != nil {
		t.Fatal(err)
	}
	e.h.Clock.Advance(6 * time.Second) // past the policy cache
	secret := e.h.Enrol(e.alice.ID)

	b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
	b.Submit("/enrol/begin", url.Values{"method": {"questions"}})
	if b.Status != 200 || strings.Count(b.Last, "<select") != 3 {
		t.Fatalf("questions form %d:\n%s", b.Status, b.Last)
	}
	form := url.Values{}
	answers := []string{"Fluffy McFluff", "Springfield", "Saint Mary"}
	for i := 0; i < 3; i++ {
		form.Set(fmt.Sprintf("q%d", i), questionsList()[i])
		form.Set(fmt.Sprintf("a%d", i), answers[i])
	}
	form.Set("a1", "fluffy   mcfluff")
	b.Submit("/enrol/questions", form)
	if b.Status != http.StatusUnprocessableEntity || !strings.Contains(b.Last, "different answer") {
		t.Fatalf("duplicate answers: %d", b.Status)
	}
	form.Set("a1", answers[1])
	b.Submit("/enrol/questions", form)
	if !strings.Contains(b.Last, "security questions are registered") {
		t.Fatalf("register:\n%s", b.Last)
	}

	chat, mail := "chat-q", e.alice.Mail
	answerPage := func(rs []flows.Reply) *webtest.Browser {
		t.Helper()
		qb := webtest.New(t, e.srv.Client())
		qb.Get(storetest.Link(t, rs))
		// the page says before any answer that there is one try
		if qb.Status != 200 || strings.Count(qb.Last, `type="password"`) != 3 || !strings.Contains(qb.Last, "You have one try") {
			t.Fatalf("answer page %d:\n%s", qb.Status, qb.Last)
		}
		return qb
	}
	answer := func(qb *webtest.Browser, wrong bool) {
		t.Helper()
		f := url.Values{}
		for i := 0; i < 3; i++ {
			q := regexp.MustCompile(fmt.Sprintf(`<label for="a%d">([^<]+)</label>`, i)).FindStringSubmatch(qb.Last)
			a := answers[indexOf(html.UnescapeString(q[1]))]
			if wrong && i == 2 {
				a = "wrong answer"
			}
			f.Set(fmt.Sprintf("a%d", i), "  "+strings.ToUpper(a)+" ")
		}
		qb.Submit("", f)
	}
	rs := e.h.Say(chat, mail, "reset")
	rs = e.h.Click(chat, mail, storetest.Choice(t, rs, "Security questions"))
	if !storetest.Has(rs, flows.MsgQuestionsLink) {
		t.Fatalf("questions link: %v", storetest.IDs(rs))
	}
	qb := answerPage(rs)
	answer(qb, true)
	if qb.Status != http.StatusUnprocessableEntity {
		t.Fatalf("wrong answers: %d", qb.Status)
	}
	if last := e.h.Notes.Replies[len(e.h.Notes.Replies)-1]; last.MsgID != flows.MsgAnswersWrong {
		t.Fatalf("chat told %v", last.MsgID)
	}
	told := len(e.h.Notes.Replies)
	qb.Submit("", url.Values{"a0": {"x"}})
	if qb.Status < 400 || len(e.h.Notes.Replies) != told {
		t.Fatalf("a used questions link worked again: %d", qb.Status)
	}
	rs = e.h.Click(chat, mail, storetest.Choice(t, e.h.Notes.Replies[len(e.h.Notes.Replies)-1:], "Security questions"))
	qb = answerPage(rs)
	answer(qb, false)
	if qb.Status != 200 {
		t.Fatalf("right answers: %d\n%s", qb.Status, qb.Last)
	}
	next := e.h.Notes.Replies[len(e.h.Notes.Replies)-1]
	if next.MsgID != flows.MsgProvenMore {
		t.Fatalf("after questions the chat got %v", next.MsgID)
	}
	// the menu the page's outcome posted answers to the number it shows, typed in chat
	key := ""
	for _, c := range next.Choices {
		if strings.Contains(c.Label, "Authenticator") {
			key = c.Key
		}
	}
	if rs = e.h.Say(chat, mail, key); key == "" || !storetest.Has(rs, flows.MsgEnterTOTP) {
		t.Fatalf("typed %q after the page: %v", key, storetest.IDs(rs))
	}
	code, _ := totp.Code(secret, e.h.Clock.Now())
	if rs = e.h.Say(chat, mail, code); !storetest.Has(rs, flows.MsgResetLink) {
		t.Fatalf("after totp: %v", storetest.IDs(rs))
	}
	// the answers are nowhere in clear
	keys, _ := e.h.RDB.Keys(ctx, "*").Result()
	for _, k := range keys {
		d, _ := e.h.RDB.Dump(ctx, k).Result()
		for _, a := range answers {
			if strings.Contains(strings.ToLower(d), strings.ToLower(a)) {
				t.Fatalf("%s holds an answer", k)
			}
		}
	}
	for _, a := range answers {
		if strings.Contains(strings.ToLower(e.h.LogText()), strings.ToLower(a)) {
			t.Fatal("an answer was logged")
		}
	}
}

func questionsList() []string { return questions.Predefined }

func indexOf(q string) int {
	for i, x := range questions.Predefined {
		if x == q {
			return i
		}
	}
	return -1
}

func TestReconfirmationAndRemoval(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	secret := e.h.Enrol(e.alice.ID) // registered now; the default policy asks to reconfirm after 180 days
	e.h.Clock.Advance(181 * 24 * time.Hour)
	rs := e.h.Say("chat-r", e.alice.Mail, "I'm locked out")
	if !storetest.Has(rs, flows.MsgReconfirmDue) || storetest.Has(rs, flows.MsgChooseMethod) {
		t.Fatalf("due: %v", storetest.IDs(rs))
	}
	b := e.signIn(t, storetest.Link(t, rs), e.alice)
	if strings.Count(b.Last, "reconfirmation due") != 2 {
		t.Fatalf("menu:\n%s", b.Last)
	}
	// the authenticator app: its current code, never a replayed step
	b.Submit("/enrol/reconfirm", url.Values{"method": {"totp"}})
	if strings.Contains(b.Last, `class="secret"`) {
		t.Fatal("reconfirming shows the secret again")
	}
	b.Submit("/enrol/confirm", url.Values{"code": {"000000"}})
	if b.Status != http.StatusUnprocessableEntity {
		t.Fatalf("wrong code: %d", b.Status)
	}
	code, _ := totp.Code(secret, e.h.Clock.Now())
	b.Submit("/enrol/confirm", url.Values{"code": {code}})
	if !strings.Contains(b.Last, "registered and confirmed") || strings.Count(b.Last, "reconfirmation due") != 1 {
		t.Fatalf("totp reconfirm:\n%s", b.Last)
	}
	// the email address: a code to the same address
	b.Submit("/enrol/reconfirm", url.Values{"method": {"email"}})
	m := e.h.Mail.Last()
	if m.To[0] != "private."+e.alice.ID+"@mail.test" {
		t.Fatalf("code went to %v", m.To)
	}
	b.Submit("/enrol/confirm", url.Values{"code": {storetest.CodeFrom(t, m)}})
	if strings.Contains(b.Last, "reconfirmation due") {
		t.Fatalf("still due:\n%s", b.Last)
	}
	if rs := e.h.Say("chat-r", e.alice.Mail, "reset"); !storetest.Has(rs, flows.MsgChooseMethod) {
		t.Fatalf("after reconfirming: %v", storetest.IDs(rs))
	}
	// removal is announced, to the removed address too, with the helpdesk link
	before := len(e.h.Mail.All())
	// below the two methods the policy requires: asked first, and told how many are needed
	b.Submit("/enrol/remove", url.Values{"method": {"email"}})
	if b.Status != http.StatusOK || !strings.Contains(b.Last, "Remove this method?") || !strings.Contains(b.Last, "needs 2 ways") ||
		!strings.Contains(b.Last, "Without the email address you would have 1") || !strings.Contains(b.Last, `name="confirm" value="yes"`) {
		t.Fatalf("no confirmation before going below the requirement:\n%s", b.Last)
	}
	if en, _ := e.h.Store.Get(ctx, e.alice.ID); !en.Has(flows.MethodEmail) || len(e.h.Mail.All()) != before {
		t.Fatal("removed (or announced) before the confirmation")
	}
	b.Submit("/enrol/remove", nil) // "Remove anyway" posts the method and confirm=yes
	if !strings.Contains(b.Last, "Removed") {
		t.Fatalf("remove:\n%s", b.Last)
	}
	all := e.h.Mail.All()
	if len(all) != before+1 || !strings.Contains(all[before].Subject, "removed") ||
		!strings.Contains(strings.Join(all[before].To, ","), "private.") || !strings.Contains(all[before].Body, "https://") {
		t.Fatalf("removal notice: %+v", all[before:])
	}
	if en, _ := e.h.Store.Get(ctx, e.alice.ID); en.Has(flows.MethodEmail) || !en.Has(flows.MethodTOTP) {
		t.Fatalf("enrollment after removal: %+v", en.Methods)
	}
}

func TestAdminConfirmationNeedsAnMFASignIn(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	bob := e.bob
	e.h.Dir.Add(flows.Account{ID: bob.ID, UPN: bob.UPN, Mail: bob.Mail, DisplayName: bob.DisplayName, Enabled: true, Groups: []string{"admins"}})
	e.h.Opts.AdminGroups = []string{"admins"}
	e.h.Rebuild()
	o, err := web.NewOIDC(ctx, e.tn.Issuer(), e.tn.ClientID, e.tn.ClientSecret, e.srv.URL, e.h.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = web.New(e.h.Engine, o, e.h.Crypto, e.h.Store, bot.NewLogger(e.h.Logs, "debug")).Handler()
	// the tenant as the README sets it up: context c1 protected by a policy that requires MFA,
	// and the acrs optional claim on the app registration
	e.tn.OptionalClaims, e.tn.MFAContexts = []string{"acrs"}, []string{"c1"}
	if err := e.h.RDB.HSet(ctx, "{u:"+e.alice.ID+"}:e", "block", e.h.Clock.Now().Add(time.Hour).UnixMilli()).Err(); err != nil {
		t.Fatal(err)
	}
	unblock := func() string {
		rs, err := e.h.Engine.Admin(ctx, flows.Inbound{Chat: storetest.Chat("bob-chat"), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: bob.Mail}}, "unblock "+e.alice.Mail)
		if err != nil {
			t.Fatal(err)
		}
		out := rs[0].Text
		return strings.Fields(out[strings.Index(out, e.srv.URL+"/l/"):])[0]
	}
	b := webtest.New(t, e.srv.Client())
	b.Get(unblock())
	if !strings.Contains(b.Last, "Sign in to confirm") {
		t.Fatalf("admin page:\n%s", b.Last)
	}
	b.Submit("", nil)
	b.SignIn(bob.UPN, graphtest.DemoPassword) // no MFA on this account yet
	if b.Status != http.StatusForbidden || !strings.Contains(b.Last, "multi-factor") {
		t.Fatalf("without MFA: %d\n%s", b.Status, b.Last)
	}
	if bs, _ := e.h.Engine.Blocks(ctx); len(bs) != 1 {
		t.Fatal("unblocked without MFA")
	}
	u, _ := e.tn.User(bob.ID)
	u.MFA = true
	e.tn.AddUser(u)
	b = webtest.New(t, e.srv.Client())
	b.Get(unblock())
	b.Submit("", nil)
	b.SignIn(bob.UPN, graphtest.DemoPassword)
	if b.Status != 200 || !strings.Contains(b.Last, "can use self-service again") {
		t.Fatalf("with MFA: %d\n%s", b.Status, b.Last)
	}
	if bs, _ := e.h.Engine.Blocks(ctx); len(bs) != 0 {
		t.Fatal("still blocked")
	}
}

// An id_token must be for this client alone (OpenID Connect Core 3.1.3.7): one audience, or an
// azp that is this client. Several audiences without azp, or an azp of another client, are
// refused, pin nothing and are audited.
func TestIDTokenAudience(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(e *env, c jwt.MapClaims)
		ok   bool
	}{
		{"one audience", func(*env, jwt.MapClaims) {}, true},
		{"one audience as a list", func(e *env, c jwt.MapClaims) { c["aud"] = []string{e.tn.ClientID} }, true},
		{"extra audience", func(e *env, c jwt.MapClaims) { c["aud"] = []string{e.tn.ClientID, "another-app"} }, false},
		{"extra audience, azp us", func(e *env, c jwt.MapClaims) {
			c["aud"], c["azp"] = []string{e.tn.ClientID, "another-app"}, e.tn.ClientID
		}, true},
		{"extra audience, azp another", func(e *env, c jwt.MapClaims) {
			c["aud"], c["azp"] = []string{e.tn.ClientID, "another-app"}, "another-app"
		}, false},
		{"one audience, azp another", func(e *env, c jwt.MapClaims) { c["azp"] = "another-app" }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t)
			e.tn.IDToken = func(claims jwt.MapClaims) { c.edit(e, claims) }
			b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
			pinned, _ := e.h.Store.Pinned(context.Background(), storetest.Chat("chat-"+e.alice.ID).Key())
			if c.ok {
				if b.Status != http.StatusOK || !strings.Contains(b.Last, "Authenticator app") || pinned != e.alice.ID {
					t.Fatalf("refused: %d pinned %q\n%s", b.Status, pinned, b.Last)
				}
				return
			}
			if b.Status != http.StatusForbidden || !strings.Contains(b.Last, "could not be verified") || pinned != "" {
				t.Fatalf("accepted: %d pinned %q\n%s", b.Status, pinned, b.Last)
			}
			e.h.Audit.Close()
			evs, err := store.Events(context.Background(), e.h.RDB)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, ev := range evs {
				found = found || ev.Action == "signin" && ev.Outcome == "failed" && ev.Reason == "id token not for this client"
			}
			if !found {
				t.Fatalf("not audited: %+v", evs)
			}
		})
	}
}

// A real tenant's ID tokens carry neither auth_time nor amr unless configured: registration
// works with Entra's default token shape and with the auth_time optional claim.
func TestSignInWithDefaultAndConfiguredTokens(t *testing.T) {
	for _, optional := range [][]string{nil, {"auth_time"}} {
		e := setup(t)
		e.tn.OptionalClaims = optional
		b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
		if b.Status != 200 || !strings.HasSuffix(b.URL.Path, "/enrol") {
			t.Fatalf("optional claims %v: %d %s\n%s", optional, b.Status, b.URL, b.Last)
		}
	}
}

// A browser with a single sign-on session at the tenant still has to type its password: the
// bot asks with prompt=login, so the sign-in is fresh even without auth_time.
func TestSignInIgnoresSingleSignOn(t *testing.T) {
	e := setup(t)
	b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
	if !strings.HasSuffix(b.URL.Path, "/enrol") {
		t.Fatalf("first sign-in: %s", b.URL)
	}
	b.Get(e.registerLink(t, e.alice))
	b.Submit("", nil)
	if !strings.Contains(b.Last, `name="password"`) {
		t.Fatalf("signed in from the single sign-on session without credentials: %d %s", b.Status, b.URL)
	}
}

// Without an authentication context the bot never asks for MFA it cannot check: weakening
// changes, approvals and unblocks are refused with a reply that says how to enable them.
func TestAdminStepUpNeedsAnAuthenticationContext(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	bob := e.bob
	e.h.Dir.Add(flows.Account{ID: bob.ID, UPN: bob.UPN, Mail: bob.Mail, DisplayName: bob.DisplayName, Enabled: true, Groups: []string{"admins"}})
	e.h.Opts.AdminGroups, e.h.Opts.AdminAuthContext = []string{"admins"}, ""
	e.h.Rebuild()
	for _, cmd := range []string{"policy set required 1", "unblock " + e.alice.Mail, "policy approve 0123456789ab"} {
		rs, err := e.h.Engine.Admin(ctx, flows.Inbound{Chat: storetest.Chat("bob-chat"), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: bob.Mail}}, cmd)
		if err != nil {
			t.Fatal(err)
		}
		out := rs[0].Text
		if !strings.Contains(out, "ADMIN_AUTH_CONTEXT") || !strings.Contains(out, "Conditional Access") || strings.Contains(out, "/l/") {
			t.Errorf("%s: %q", cmd, out)
		}
	}
	if p, v, _ := e.h.Store.GetPolicy(ctx); p.Required != 2 || v != 1 {
		t.Fatalf("policy changed: required %d version %d", p.Required, v)
	}
}

// The page and the chat count the ways registered against the policy; "All set" only when it is
// met.
func TestRegistrationCountsAgainstThePolicy(t *testing.T) {
	e := setup(t)
	b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
	if !strings.Contains(b.Last, "0 of 2 ways registered") {
		t.Fatalf("menu:\n%s", b.Last)
	}
	b.Submit("/enrol/begin", url.Values{"method": {"totp"}})
	secret := b.TOTPSecret()
	code, _ := totp.Code(secret, e.h.Clock.Now())
	b.Submit("/enrol/confirm", url.Values{"code": {code}})
	if !strings.Contains(b.Last, "1 of 2 ways registered") {
		t.Fatalf("after one method:\n%s", b.Last)
	}
	b.Submit("/enrol/done", nil)
	if strings.Contains(b.Last, "All set") || !strings.Contains(b.Last, "1 of 2 ways registered") ||
		!strings.Contains(b.Last, "You need 2 ways") {
		t.Fatalf("done with too few:\n%s", b.Last)
	}
	short := false
	for _, r := range e.h.Notes.Replies {
		if r.MsgID == flows.MsgRegistered {
			t.Fatalf("the chat was told all is set: %q", r.Text)
		}
		short = short || r.MsgID == flows.MsgRegisteredShort && strings.Contains(r.Text, "1 of the 2")
	}
	if !short {
		t.Fatal("the chat was not told what is missing")
	}
	// with the second method it is all set
	b = e.signIn(t, e.registerLink(t, e.alice), e.alice)
	b.Submit("/enrol/begin", url.Values{"method": {"email"}, "address": {"alice.private@mail.test"}})
	b.Submit("/enrol/confirm", url.Values{"code": {storetest.CodeFrom(t, e.h.Mail.Last())}})
	b.Submit("/enrol/done", nil)
	if !strings.Contains(b.Last, "All set") || !strings.Contains(b.Last, "2 of 2 ways registered") {
		t.Fatalf("done:\n%s", b.Last)
	}
	last := e.h.Notes.Replies[len(e.h.Notes.Replies)-1]
	if last.MsgID != flows.MsgRegistered || !strings.Contains(last.Text, "All set: 2 of 2") {
		t.Fatalf("chat: %+v", last)
	}
}

// The private email address may not be one of the directory's addresses for the person: the
// page names the field, and no code is sent.
func TestPrivateEmailIsNotTheWorkAddress(t *testing.T) {
	e := setup(t)
	b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
	sent := len(e.h.Mail.All())
	for _, addr := range []string{e.alice.Mail, strings.ToUpper(e.alice.UPN)} {
		b.Submit("/enrol/begin", url.Values{"method": {"email"}, "address": {addr}})
		if b.Status != http.StatusUnprocessableEntity || !strings.Contains(b.Last, "Email address: That is your work address") ||
			!strings.Contains(b.Last, `aria-invalid="true" aria-describedby="err-email"`) || !strings.Contains(b.Last, `value="`+addr+`"`) {
			t.Fatalf("%s: %d\n%s", addr, b.Status, b.Last)
		}
	}
	// a colleague's work address is no private address either
	b.Submit("/enrol/begin", url.Values{"method": {"email"}, "address": {e.bob.Mail}})
	if b.Status != http.StatusUnprocessableEntity || !strings.Contains(b.Last, "Email address: That is a work address in the company directory") {
		t.Fatalf("%s: %d\n%s", e.bob.Mail, b.Status, b.Last)
	}
	if len(e.h.Mail.All()) != sent {
		t.Fatal("a code went to a work address")
	}
	b.Submit("/enrol/begin", url.Values{"method": {"email"}, "address": {"alice.private@mail.test"}})
	if b.Status != http.StatusOK || len(e.h.Mail.All()) != sent+1 {
		t.Fatalf("a private address: %d", b.Status)
	}
}

// The reset page reads its link once per request, in one round trip (peek.lua: the link and
// the session it names): the GET to pick the page, the POST to route the form; the step that
// sets the password consumes what the POST read, in the atomic script that refuses it if
// anything changed since.
func TestResetPageReadsItsLinkOncePerRequest(t *testing.T) {
	e := setup(t)
	secret := e.h.Enrol(e.alice.ID)
	chat, mail := "chat-reset", e.alice.Mail
	rs := e.h.Say(chat, mail, "forgot my password")
	rs = e.h.Click(chat, mail, storetest.Choice(t, rs, "Authenticator"))
	code, _ := totp.Code(secret, e.h.Clock.Now())
	rs = e.h.Say(chat, mail, code)
	rs = e.h.Click(chat, mail, storetest.Choice(t, rs, "Email"))
	rs = e.h.Say(chat, mail, storetest.CodeFrom(t, e.h.Mail.Last()))
	link := storetest.Link(t, rs)
	b := webtest.New(t, e.srv.Client())
	e.h.Counter.Take()
	b.Get(link)
	n, cmds := e.h.Counter.Take()
	if b.Status != 200 || !strings.Contains(b.Last, `name="confirm"`) {
		t.Fatalf("reset page %d", b.Status)
	}
	if n != 1 || cmds[0] != "EVALSHA" {
		t.Errorf("GET: %d round trips %v, want the link read once", n, cmds)
	}
	b.Submit("", url.Values{"password": {"Tr0ub4dor&3x"}, "confirm": {"Tr0ub4dor&3x"}})
	if b.Status != 200 || !strings.Contains(b.Last, "Your password was changed") {
		t.Fatalf("reset: %d\n%s", b.Status, b.Last)
	}
	e.h.Engine.Drain()
	n, cmds = e.h.Counter.Take()
	// the link read (EVALSHA) and its consumption, which keeps the new password's keyed hash in
	// the same script (EVALSHA); the work after a reset, the notices, runs on meanwhile and adds
	// reads and writes of its own (no script) after those
	scripts := 0
	for _, c := range cmds {
		if c == "EVALSHA" {
			scripts++
		}
	}
	if n < 2 || strings.Join(cmds[:2], " ") != "EVALSHA EVALSHA" || scripts != 2 {
		t.Errorf("POST: %d round trips %v, want the link read once, then consumed with the new password kept", n, cmds)
	}
}
