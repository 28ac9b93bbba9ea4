package flows_test

import (
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// The phrasings of the issue start a verification; greetings, thanks and "?" get a short
// friendly answer; anything else gets the closest suggestion.
func TestEngineUnderstandsPeople(t *testing.T) {
	h, _ := newAlice(t)
	for i, msg := range []string{"cant login", "cannot log in", "can't get into outlook", "I can not sign in to my computer",
		"cannot access my account", "lockd out"} {
		chat := "P" + string(rune('a'+i))
		if rs := h.Say(chat, aliceMail, msg); !hasMsg(rs, flows.MsgChooseMethod) {
			t.Errorf("%q: %v", msg, storetest.IDs(rs))
		}
	}
	for msg, want := range map[string]flows.MsgID{"hi": flows.MsgGreeting, "hello": flows.MsgGreeting,
		"thanks": flows.MsgThanks, "?": flows.MsgHelp} {
		rs := h.Say("Q", aliceMail, msg)
		if !hasMsg(rs, want) {
			t.Errorf("%q: %v", msg, storetest.IDs(rs))
			continue
		}
		if !strings.Contains(rs[0].Text, "locked out") {
			t.Errorf("%q: the answer does not say what the bot can do: %q", msg, rs[0].Text)
		}
	}
	rs := h.Say("Q", aliceMail, "statsu")
	if !hasMsg(rs, flows.MsgStatusIdle) {
		t.Errorf("typo of status: %v", storetest.IDs(rs))
	}
	rs = h.Say("Q", aliceMail, "outlook is being weird")
	if !hasMsg(rs, flows.MsgNotUnderstood) || !strings.Contains(rs[0].Text, `"reset my password"`) ||
		strings.Contains(rs[0].Text, "weird") {
		t.Errorf("no suggestion: %+v", rs)
	}
}
