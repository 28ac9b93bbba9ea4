package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/web/webtest"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/store/storetest"
)

// "Change it now" under an expiry reminder: a one-time page, a fresh sign-in as the person
// (no codes), then the new-password form of a reset with its rules; the password is set, the
// person told by email and in chat, and the page cannot be used again.
func TestChangePageChangesThePassword(t *testing.T) {
	e := setup(t)
	chat, mail := "chat-"+e.alice.ID, e.alice.Mail
	change := func() string {
		t.Helper()
		rs := e.h.Click(chat, mail, flows.ExpiryChoice)
		if !storetest.Has(rs, flows.MsgChangeLink) {
			t.Fatalf("change: %v", storetest.IDs(rs))
		}
		return storetest.Link(t, rs)
	}
	// signing in as someone else changes nothing
	b := e.signIn(t, change(), e.bob)
	if b.Status != http.StatusForbidden || len(e.h.Dir.Passwords) != 0 {
		t.Fatalf("someone else: %d", b.Status)
	}
	// the form needs a signed-in change session
	anon := webtest.New(t, e.srv.Client())
	anon.Get(e.srv.URL + "/change")
	if anon.Status != http.StatusForbidden {
		t.Fatalf("form without a sign-in: %d", anon.Status)
	}

	link := change()
	b = webtest.New(t, e.srv.Client())
	b.Get(link)
	if b.Status != 200 || !strings.Contains(b.Last, "expires soon") {
		t.Fatalf("link page %d:\n%s", b.Status, b.Last)
	}
	checkHeaders(t, b.Header)
	b.Submit("", nil)
	b.SignIn(e.alice.UPN, graphtest.DemoPassword)
	if b.Status != 200 || b.URL.Path != "/change" || !strings.Contains(b.Last, `name="confirm"`) || !strings.Contains(b.Last, `action="/change"`) {
		t.Fatalf("form %d %s:\n%s", b.Status, b.URL, b.Last)
	}
	b.Submit("", url.Values{"password": {"alllowercase"}, "confirm": {"alllowercase"}})
	// a refusal names its field, and marks it
	if b.Status != http.StatusUnprocessableEntity || !strings.Contains(b.Last, "New password: Use at least three of") ||
		!strings.Contains(b.Last, `aria-invalid="true" aria-describedby="err-password"`) {
		t.Fatalf("weak: %d %s", b.Status, b.Last)
	}
	b.Submit("", url.Values{"password": {"Tr0ub4dor&3x"}, "confirm": {"Tr0ub4dor&3y"}})
	if b.Status != http.StatusUnprocessableEntity || !strings.Contains(b.Last, "Type it again: The two passwords are not the same") ||
		!strings.Contains(b.Last, `aria-invalid="true" aria-describedby="err-confirm"`) {
		t.Fatalf("not the same: %d %s", b.Status, b.Last)
	}
	b.Submit("", url.Values{"password": {"Password123!"}, "confirm": {"Password123!"}})
	if b.Status != http.StatusUnprocessableEntity || len(e.h.Dir.Passwords) != 0 {
		t.Fatalf("a common password: %d %s", b.Status, b.Last)
	}
	b.Submit("", url.Values{"password": {"Tr0ub4dor&3x"}, "confirm": {"Tr0ub4dor&3x"}})
	if b.Status != 200 || !strings.Contains(b.Last, "Your password was changed") {
		t.Fatalf("change: %d\n%s", b.Status, b.Last)
	}
	if e.h.Dir.Passwords[e.alice.ID] != "Tr0ub4dor&3x" || e.h.Dir.Forced[e.alice.ID] {
		t.Fatalf("directory: %v %v", e.h.Dir.Passwords, e.h.Dir.Forced)
	}
	e.h.Engine.Drain()
	if got := e.h.Mail.Last(); got.Subject != "Your password was changed" {
		t.Fatalf("notice: %+v", got)
	}
	if !storetest.Has(e.h.Notes.Replies, flows.MsgPasswordChanged) {
		t.Fatal("chat not told")
	}
	// the page is spent: neither the form nor the link works again
	b.Post(e.srv.URL+"/change", url.Values{"password": {"Other-Zebra-9x"}, "confirm": {"Other-Zebra-9x"}})
	if b.Status != http.StatusForbidden || e.h.Dir.Passwords[e.alice.ID] != "Tr0ub4dor&3x" {
		t.Fatalf("second change: %d", b.Status)
	}
	b.Get(link)
	if b.Status != http.StatusNotFound {
		t.Fatalf("link alive after use: %d", b.Status)
	}
}
