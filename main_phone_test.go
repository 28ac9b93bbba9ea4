package main

import (
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// Phones end to end: numbers registered and confirmed on the page, then a reset proven by a
// text message and a call, through the fake Twilio-compatible provider over HTTP.
func TestTranscriptPhones(t *testing.T) {
	w := newWorld(t)
	alice := w.users[0]
	link := storetest.Link(t, w.say(t, alice.UPN, "register"))
	b, _, _ := w.registerOnWeb(t, link, alice)
	// registerOnWeb finished the browser session; sign in again for the phones
	b.Get(storetest.Link(t, w.say(t, alice.UPN, "register")))
	b.Submit("", nil)
	b.SignIn(alice.UPN, "Demo-Passw0rd!")
	for _, m := range []struct{ kind, number, masked string }{
		{"sms", "+1 (425) 555-0142", "+1 *** *** **42"}, {"voice", "+1 425 555 0199", "+1 *** *** **99"},
	} {
		b.Submit("/enrol/begin", url.Values{"method": {m.kind}, "address": {m.number}})
		if !strings.Contains(html.UnescapeString(b.Last), m.masked) {
			t.Fatalf("%s page:\n%s", m.kind, b.Last)
		}
		b.Submit("/enrol/confirm", url.Values{"code": {storetest.CodeIn(t, w.phone.Last().Text)}})
		if !strings.Contains(b.Last, "registered and confirmed") {
			t.Fatalf("%s confirm:\n%s", m.kind, b.Last)
		}
	}
	b.Submit("/enrol/done", nil)

	rs := w.say(t, alice.UPN, "reset")
	pick := func(rs []flows.Reply, label string) []flows.Reply {
		for _, r := range rs {
			for _, c := range r.Choices {
				if strings.Contains(c.Label, label) {
					return w.say(t, alice.UPN, c.Key) // the number the menu shows
				}
			}
		}
		t.Fatalf("no %q in %v", label, storetest.IDs(rs))
		return nil
	}
	rs = pick(rs, "Text message")
	if !msgIn(rs, flows.MsgSMSSent) {
		t.Fatalf("sms: %v", storetest.IDs(rs))
	}
	sms := w.phone.Last()
	if sms.Kind != "sms" || sms.To != "+14255550142" {
		t.Fatalf("sent %+v", sms)
	}
	rs = pick(w.say(t, alice.UPN, storetest.CodeIn(t, sms.Text)), "Office phone")
	call := w.phone.Last()
	if call.Kind != "call" || call.To != "+14255550199" || !strings.Contains(call.Text, `<Say language="en-US">`) {
		t.Fatalf("call %+v", call)
	}
	rs = w.say(t, alice.UPN, storetest.CodeIn(t, call.Text))
	b.Get(storetest.Link(t, rs))
	b.Submit("", url.Values{"password": {"Sunny-Meadow-42"}, "confirm": {"Sunny-Meadow-42"}})
	if ch := w.tenant.Changes(); len(ch) == 0 || ch[0].Kind != "password" {
		t.Fatalf("tenant %+v", ch)
	}
	for _, r := range w.said {
		if strings.Contains(r.Text, "4255550142") || strings.Contains(r.Text, "555-0142") {
			t.Fatalf("a reply shows the number: %q", r.Text)
		}
	}
}
