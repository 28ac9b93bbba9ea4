package web_test

import (
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

var qrRE = regexp.MustCompile(`src="(data:image/png;base64,[^"]+)"`)

// A wrong code on the authenticator page shows the same key and QR code again, so the person
// can fix a mistyped code or scan again, and the key still registers.
func TestAuthenticatorPageKeepsTheKeyAfterAWrongCode(t *testing.T) {
	e := setup(t)
	b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
	b.Submit("/enrol/begin", url.Values{"method": {"totp"}})
	secret := b.TOTPSecret()
	qr := qrRE.FindStringSubmatch(b.Last)
	if qr == nil {
		t.Fatal("no QR code")
	}
	b.Submit("/enrol/confirm", url.Values{"code": {"000000"}})
	if b.Status != http.StatusUnprocessableEntity || !strings.Contains(b.Last, "is not right") {
		t.Fatalf("wrong code %d", b.Status)
	}
	if !strings.Contains(b.Last, `class="secret"`) || b.TOTPSecret() != secret {
		t.Fatalf("the key is not shown again after a wrong code:\n%s", b.Last)
	}
	again := qrRE.FindStringSubmatch(b.Last)
	if again == nil || again[1] != qr[1] {
		t.Fatal("the QR code is not shown again (or is another key's)")
	}
	code, _ := totp.Code(secret, e.h.Clock.Now())
	b.Submit("/enrol/confirm", url.Values{"code": {code}})
	if en, _ := e.h.Store.Get(context.Background(), e.alice.ID); en.Methods[flows.MethodTOTP].Secret != secret {
		t.Fatalf("not registered with the key shown:\n%s", b.Last)
	}
}

// The code page of a registration offers a new code (a send within the send limits, never a
// failed attempt) and the way back to the methods.
func TestRegistrationCodePageSendsANewCodeAndGoesBack(t *testing.T) {
	e := setup(t)
	b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
	b.Submit("/enrol/begin", url.Values{"method": {"email"}, "address": {"alice.private@mail.test"}})
	if !strings.Contains(b.Last, `action="/enrol/resend"`) || !strings.Contains(b.Last, "Send a new code") ||
		!strings.Contains(b.Last, `action="/enrol/cancel"`) || !strings.Contains(b.Last, ">Back<") {
		t.Fatalf("no new code or back on the code page:\n%s", b.Last)
	}
	first := storetest.CodeFrom(t, e.h.Mail.Last())
	sent := len(e.h.Mail.All())
	// more new codes than failed attempts are allowed: none of them counts as one
	pol := flows.DefaultPolicy()
	for i := 1; i < pol.Limits.SendMax; i++ {
		b.Submit("/enrol/resend", nil)
		if b.Status != http.StatusOK || !strings.Contains(b.Last, "We sent a new code") || !strings.Contains(b.Last, "a***@m****.test") {
			t.Fatalf("new code %d: %d\n%s", i, b.Status, b.Last)
		}
	}
	if got := len(e.h.Mail.All()); got != sent+pol.Limits.SendMax-1 {
		t.Fatalf("%d codes sent, want %d", got, sent+pol.Limits.SendMax-1)
	}
	last := storetest.CodeFrom(t, e.h.Mail.Last())
	// the send limit holds: the next one is refused, and the last code still works
	b.Submit("/enrol/resend", nil)
	if b.Status != http.StatusTooManyRequests || !strings.Contains(b.Last, `name="code"`) {
		t.Fatalf("past the send limit: %d\n%s", b.Status, b.Last)
	}
	if last == first {
		t.Fatal("the new code is the old one")
	}
	b.Submit("/enrol/confirm", url.Values{"code": {last}})
	if !strings.Contains(b.Last, "email address is registered") {
		t.Fatalf("the newest code:\n%s", b.Last)
	}
	// back: from the authenticator's page to the methods, with nothing pending
	b.Submit("/enrol/begin", url.Values{"method": {"totp"}})
	if strings.Contains(b.Last, `action="/enrol/resend"`) {
		t.Fatal("a new code offered for the authenticator app")
	}
	b.Submit("/enrol/cancel", nil)
	if b.Status != http.StatusOK || !strings.Contains(b.Last, "Set up an authenticator app") {
		t.Fatalf("back: %d\n%s", b.Status, b.Last)
	}
	b.Submit("/enrol/confirm", url.Values{"code": {"123456"}})
	if b.Status != http.StatusBadRequest {
		t.Fatalf("a code after back: %d", b.Status)
	}
}

// On the recovery page, the page asking for a second code that was sent offers a new code and
// the way back to the choice of method; the first proof's page names its new code as such.
func TestRecoverCodePageSendsANewCodeAndGoesBack(t *testing.T) {
	e := setup(t)
	e.withRecovery(roomy())
	secret := e.h.Enrol(e.alice.ID)
	b := e.recoverBrowser(t)
	post(t, b, true, "start", "name", e.alice.UPN, "flow", "reset")
	post(t, b, true, "email")
	if !strings.Contains(b.Last, "Send a new code to my email") || !strings.Contains(b.Last, `value="back"`) {
		t.Fatalf("the sent page does not offer a new code and back:\n%s", b.Last)
	}
	// back: the first page again, where the app's code is asked for
	post(t, b, true, "back")
	if !strings.Contains(b.Last, "Enter the code from your authenticator app") || strings.Contains(b.Last, "Send a new code") {
		t.Fatalf("back from the sent page:\n%s", b.Last)
	}
	code, _ := totp.Code(secret, e.h.Clock.Now())
	post(t, b, true, "code", "code", code)
	post(t, b, true, "pick", "method", "email")
	e.h.Engine.Drain()
	if !strings.Contains(b.Last, `value="resend"`) || !strings.Contains(b.Last, `value="back"`) {
		t.Fatalf("no new code or back on the second code's page:\n%s", b.Last)
	}
	sent := len(e.h.Mail.All())
	post(t, b, true, "resend")
	e.h.Engine.Drain()
	if len(e.h.Mail.All()) != sent+1 || !strings.Contains(b.Last, `name="code"`) {
		t.Fatalf("new code: %d mails, page:\n%s", len(e.h.Mail.All())-sent, b.Last)
	}
	post(t, b, true, "back")
	if !strings.Contains(b.Last, "One more proof") || !strings.Contains(b.Last, `value="email"`) {
		t.Fatalf("back:\n%s", b.Last)
	}
	post(t, b, true, "pick", "method", "email")
	e.h.Engine.Drain()
	// four codes sent so far; new codes up to the send limit, more than the failures allowed,
	// so none of them counts as one; then the limit holds
	for i := 4; i < flows.DefaultPolicy().Limits.SendMax; i++ {
		post(t, b, true, "resend")
		e.h.Engine.Drain()
		if strings.Contains(b.Last, "Too many codes") {
			t.Fatalf("new code %d refused:\n%s", i+1, b.Last)
		}
	}
	post(t, b, true, "resend")
	if !strings.Contains(b.Last, "Too many codes were asked for recently") || !strings.Contains(b.Last, `name="code"`) {
		t.Fatalf("past the send limit:\n%s", b.Last)
	}
	post(t, b, true, "code", "code", storetest.CodeFrom(t, e.h.Mail.Last()))
	if b.URL.Path[:3] != "/l/" {
		t.Fatalf("not on the new-password page: %s\n%s", b.URL, b.Last)
	}
}

// A refused set of security questions says which question or answer is wrong, by its number,
// and keeps every other choice and answer.
func TestQuestionErrorsNameTheFieldAndKeepTheRest(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	pol, v, _ := e.h.Store.GetPolicy(ctx)
	pol.Methods = append(pol.Methods, flows.MethodQuestions)
	if _, err := e.h.Store.PutPolicy(ctx, pol, v); err != nil {
		t.Fatal(err)
	}
	e.h.Clock.Advance(6 * time.Second) // past the policy cache
	b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
	b.Submit("/enrol/begin", url.Values{"method": {"questions"}})
	qs := questionsList()
	form := url.Values{"q0": {qs[0]}, "q1": {qs[4]}, "q2": {qs[2]}, "a0": {"Fluffy McFluff"}, "a1": {"Springfield"}, "a2": {"fluffy  mcfluff"}}
	b.Submit("/enrol/questions", form)
	if b.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(b.Last, "Answer to question 3: It is the same as the answer to question 1.") {
		t.Fatalf("the error does not name the answer:\n%s", b.Last)
	}
	if !strings.Contains(b.Last, `id="a2" name="a2" type="password" autocomplete="off" required minlength="3" maxlength="40" aria-invalid="true" aria-describedby="err-a2"`) {
		t.Fatalf("the answer in error is not marked (or kept its text):\n%s", b.Last)
	}
	if !strings.Contains(b.Last, `value="Fluffy McFluff"`) || !strings.Contains(b.Last, `value="Springfield"`) {
		t.Fatal("the other answers were cleared")
	}
	if !strings.Contains(b.Last, `<option value="`+html.EscapeString(qs[4])+`" selected>`) {
		t.Fatal("the chosen question was not kept")
	}
	form.Set("q2", qs[0])
	form.Set("a2", "Saint Mary")
	b.Submit("/enrol/questions", form)
	if b.Status != http.StatusUnprocessableEntity || !strings.Contains(b.Last, "Question 3: It is the same as question 1.") ||
		!strings.Contains(b.Last, `aria-describedby="err-q2"`) || !strings.Contains(b.Last, `value="Saint Mary"`) {
		t.Fatalf("the error does not name the question:\n%s", b.Last)
	}
	form.Set("q2", qs[2])
	b.Submit("/enrol/questions", form)
	if !strings.Contains(b.Last, "security questions are registered") {
		t.Fatalf("fixed:\n%s", b.Last)
	}
}

// Removing the last passkey takes the method with it: below the requirement the page asks
// first, as for any method; with more passkeys left it does not.
func TestRemovingTheLastPasskeyAsksFirst(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	pol, v, _ := e.h.Store.GetPolicy(ctx)
	pol.Methods = append(pol.Methods, flows.MethodPasskey)
	if _, err := e.h.Store.PutPolicy(ctx, pol, v); err != nil {
		t.Fatal(err)
	}
	e.h.Clock.Advance(6 * time.Second) // past the policy cache
	keys := []flows.Passkey{{ID: []byte("key-one"), Name: "Laptop"}, {ID: []byte("key-two"), Name: "Phone"}}
	if err := e.h.Store.Register(ctx, e.alice.ID, flows.Registered{Kind: flows.MethodPasskey, Handle: []byte("handle"), Passkeys: keys}, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Store.Register(ctx, e.alice.ID, flows.Registered{Kind: flows.MethodEmail, Address: "alice.private@mail.test"}, 0); err != nil {
		t.Fatal(err)
	}
	b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
	csrf := b.Hidden().Get("csrf")
	remove := func(id string, extra ...string) {
		t.Helper()
		f := url.Values{"csrf": {csrf}, "id": {base64.RawURLEncoding.EncodeToString([]byte(id))}}
		for i := 0; i+1 < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		b.Post(e.srv.URL+"/enrol/passkey/remove", f)
	}
	remove("key-one") // another passkey is left: no question
	if !strings.Contains(b.Last, "Laptop") || strings.Contains(b.Last, "Remove this method?") {
		t.Fatalf("one of two passkeys:\n%s", b.Last)
	}
	remove("key-two")
	if !strings.Contains(b.Last, "Remove this method?") || !strings.Contains(b.Last, "needs 2 ways") || !strings.Contains(b.Last, "Without the passkey you would have 1") {
		t.Fatalf("the last passkey, below the requirement:\n%s", b.Last)
	}
	if en, _ := e.h.Store.Get(ctx, e.alice.ID); !en.Has(flows.MethodPasskey) {
		t.Fatal("removed before the confirmation")
	}
	b.Submit("/enrol/passkey/remove", nil)
	if en, _ := e.h.Store.Get(ctx, e.alice.ID); en.Has(flows.MethodPasskey) {
		t.Fatalf("not removed after the confirmation:\n%s", b.Last)
	}
}
