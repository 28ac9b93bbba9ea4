package flows_test

import (
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
)

func TestParseIntent(t *testing.T) {
	cases := map[string]flows.Intent{
		"I'm locked out": flows.IntentUnlock, "im locked out!!": flows.IntentUnlock, "Unlock my account": flows.IntentUnlock,
		"forgot my password": flows.IntentReset, "reset": flows.IntentReset, "I forgot my password :(": flows.IntentReset,
		"register": flows.IntentRegister, "set up": flows.IntentRegister, "help": flows.IntentHelp, "HELP": flows.IntentHelp,
		"cancel": flows.IntentCancel, "status": flows.IntentStatus, "123456": flows.IntentCode, "123 456": flows.IntentCode,
		"": flows.IntentUnknown, "🔒🔑": flows.IntentUnknown, "hello": flows.IntentGreeting, "12345": flows.IntentUnknown,
		"\xff\xfe": flows.IntentUnknown, strings.Repeat("reset ", 1000): flows.IntentUnknown, "passwordless": flows.IntentUnknown,
	}
	for in, want := range cases {
		if got := flows.ParseIntent(in); got != want {
			t.Errorf("%q: got %d want %d", in, got, want)
		}
	}
}

func TestMasks(t *testing.T) {
	for in, want := range map[string]string{
		"john.smith@contoso.com": "j***@c****.com", "a@b.co": "a***@b****.co", "nobody": "***", "x@localhost": "x***@***",
	} {
		if got := flows.MaskEmail(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"+1 425 555 0142": "+1 *** *** **42", "+44 20 7946 0958": "+44 *** *** **58", "12": "***"} {
		if got := flows.MaskPhone(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	cases := []struct{ pw, confirm, want string }{
		{"Sunny-Meadow-42", "Sunny-Meadow-42", ""},
		{"Sunny-Meadow-42", "Sunny-Meadow-43", "not the same"},
		{"Ab1!", "Ab1!", "at least 8"},
		{strings.Repeat("Ab1!", 65), strings.Repeat("Ab1!", 65), "at most 256"},
		{"alllowercase", "alllowercase", "three of"},
		{"ALLUPPER123!", "ALLUPPER123!", ""},
		{"ALLUPPER123", "ALLUPPER123", "three of"},
		{"Tab\tInside1", "Tab\tInside1", "control"},
	}
	for _, c := range cases {
		err := flows.CheckPassword(c.pw, c.confirm)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q: %v, want %q", c.pw, err, c.want)
		}
	}
}

// A language without a catalog (Korean) reads English.
func TestCatalogFallsBackToEnglish(t *testing.T) {
	if flows.Text("ko-KR", flows.MsgHelp) != flows.Text("en", flows.MsgHelp) || flows.Text("en", flows.MsgHelp) == "" {
		t.Fatal("fallback")
	}
	if got := flows.Text("en", flows.MsgHelpdesk, "https://h"); !strings.HasSuffix(got, "https://h") {
		t.Fatal(got)
	}
}
