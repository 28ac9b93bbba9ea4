package main

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot/web/webtest"
	"github.com/resetbot/resetbot/flows/method/totp"
)

// A person with no chat client recovers on the recovery page of the bot as production wires it
// (the real Graph SDK against the fake tenant, a real SMTP server, Redis, the app's default
// limits and proof-of-work): an emailed code asked for blind, then the authenticator app, then
// the same new-password page as the chat's; the tenant has the new password and the sessions
// revoked, the reset is emailed, and the chat the person registered from is told.
func TestRecoverWithoutChat(t *testing.T) {
	w := newWorld(t)
	alice := w.users[0]
	link := linkIn(t, w.say(t, alice.UPN, "register"))
	_, secret, _ := w.registerOnWeb(t, link, alice)
	w.eng.Drain()
	w.clock.Advance(30 * time.Second)
	w.out.Reset()

	b := webtest.New(t, w.web.Client())
	b.Get(w.web.URL + "/recover")
	b.Recover(true, "start", "name", alice.Mail)
	sent := len(w.smtp.Messages())
	b.Recover(true, "email")
	if !strings.Contains(b.Last, "If an email address is registered for this account") {
		t.Fatalf("sent page:\n%s", b.Last)
	}
	b.Recover(true, "code", "code", mailCode(t, w.smtp.Wait(t, sent+1)[sent]))
	b.Recover(true, "pick", "method", "totp")
	code, _ := totp.Code(secret, w.clock.Now())
	b.Recover(true, "code", "code", code)
	if !strings.HasPrefix(b.URL.Path, "/l/") {
		t.Fatalf("not on the new-password page: %s\n%s", b.URL, b.Last)
	}
	const newPassword = "Quiet-Harbor-Lantern-7"
	b.Submit("", url.Values{"password": {newPassword}, "confirm": {newPassword}})
	if !strings.Contains(b.Last, "Your password was changed") {
		t.Fatalf("reset page:\n%s", b.Last)
	}
	w.eng.Drain()
	if u, _ := w.tenant.User(alice.ID); u.Password != newPassword {
		t.Fatal("the tenant does not have the new password")
	}
	changes := w.tenant.Changes()
	if last := changes[len(changes)-1]; last.Kind != "revoke" || last.UserID != alice.ID {
		t.Fatalf("tenant changes %+v", changes)
	}
	all := w.smtp.Wait(t, sent+2)
	if n := all[len(all)-1]; !strings.Contains(n.Data, "Subject: Your password was reset") {
		t.Fatalf("notice:\n%+v", n)
	}
	if !strings.Contains(w.out.String(), "Your password was changed") || !strings.Contains(w.out.String(), "This wasn't me") {
		t.Fatalf("the chat was not told:\n%s", w.out.String())
	}
	trail := strings.Join(w.auditTrail(t, alice.ID, ""), "\n")
	if !strings.Contains(trail, "recover_start ok reset from 127.0.0.1") || !strings.Contains(trail, "recover_send ok email") ||
		!strings.Contains(trail, "verify ok totp") || !strings.Contains(trail, "reset ok user_chosen") {
		t.Fatalf("audit trail:\n%s", trail)
	}
}

var pageLinkRE = regexp.MustCompile(`href="(/l/[^"]+)"`)

// Hybrid, on the recovery page: a user synced from Active Directory and locked out there is
// unlocked in AD (a real Samba DC) without a new password, and may then choose one, set in AD.
func TestRecoverWithoutChatUnlocksInAD(t *testing.T) {
	w, dc, onprem, _ := hybridWorld(t)
	w.clock.Advance(time.Since(w.clock.Now()))
	sam, samAD := syncedUser(t, w, dc, onprem, "5a11ced0-0000-4000-8000-000000000009")
	_, secret, _ := w.registerOnWeb(t, linkIn(t, w.say(t, sam.UPN, "register")), sam)
	w.eng.Drain()
	dc.Lock(t, samAD)
	w.clock.Advance(time.Minute)

	b := webtest.New(t, w.web.Client())
	b.Get(w.web.URL + "/recover")
	b.Recover(true, "start", "name", sam.UPN, "flow", "unlock")
	code, _ := totp.Code(secret, w.clock.Now())
	b.Recover(true, "code", "code", code)
	sent := len(w.smtp.Messages())
	b.Recover(true, "pick", "method", "email")
	b.Recover(true, "code", "code", mailCode(t, w.smtp.Wait(t, sent+1)[sent]))
	m := pageLinkRE.FindStringSubmatch(b.Last)
	if !strings.Contains(b.Last, "Your account is unlocked") || m == nil {
		t.Fatalf("unlock page:\n%s", b.Last)
	}
	if err := dc.Bind(samAD.DN, samAD.Password); err != nil {
		t.Fatalf("bind after the unlock: %v", err)
	}
	b.Get(w.web.URL + html.UnescapeString(m[1]))
	b.Submit("", url.Values{"password": {"Harbor!Lights-9917"}, "confirm": {"Harbor!Lights-9917"}})
	if !strings.Contains(b.Last, "Your password was changed") {
		t.Fatalf("reset page:\n%s", b.Last)
	}
	if err := dc.Bind(samAD.DN, "Harbor!Lights-9917"); err != nil {
		t.Fatalf("AD does not have the new password: %v", err)
	}
	w.eng.Drain()
}
