package flows_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
)

var intentNames = map[string]flows.Intent{
	"reset": flows.IntentReset, "unlock": flows.IntentUnlock, "register": flows.IntentRegister,
	"help": flows.IntentHelp, "cancel": flows.IntentCancel, "status": flows.IntentStatus, "code": flows.IntentCode,
	"greeting": flows.IntentGreeting, "thanks": flows.IntentThanks, "resend": flows.IntentResend,
	"unknown": flows.IntentUnknown,
}

// The corpus of helpdesk phrasings (testdata/intents_en.tsv) is read as expected by at least
// 97% of its lines, and every intent has phrasings in it.
func TestIntentCorpus(t *testing.T) {
	f, err := os.Open("testdata/intents_en.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	total, right := 0, 0
	per := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, phrase, ok := strings.Cut(line, "\t")
		want, known := intentNames[name]
		if !ok || !known {
			t.Fatalf("bad corpus line %q", line)
		}
		total++
		per[name]++
		if flows.LooksLikePassword("en", phrase) {
			t.Errorf("%q taken for a password", phrase)
		}
		if got := flows.ParseIntent(phrase); got == want {
			right++
		} else {
			t.Logf("%-8s %q read as %d", name, phrase, got)
		}
	}
	if total < 250 {
		t.Fatalf("corpus has %d phrasings, want at least 250", total)
	}
	for name := range intentNames {
		if per[name] == 0 {
			t.Errorf("no phrasing for %s", name)
		}
	}
	pct := 100 * float64(right) / float64(total)
	t.Logf("%d of %d phrasings understood (%.1f%%)", right, total, pct)
	if pct < 97 {
		t.Fatalf("only %.1f%% understood, want at least 97%%", pct)
	}
}

// Anything not understood gets the closest suggestion, never the text back.
func TestSuggestClosest(t *testing.T) {
	for in, want := range map[string]string{
		"outlook is acting up": "reset my password",
		"statsu pls":           "status",
		"regsiter me plz":      "register",
		"cancl":                "cancel",
		"the code thing":       "resend",
		"zzzz qqqq":            "help",
		"my outlook":           "reset my password",
	} {
		if got := flows.Suggest("en", in); got != want {
			t.Errorf("%q: suggested %q, want %q", in, got, want)
		}
	}
}

func TestPasswordShapes(t *testing.T) {
	for in, want := range map[string]bool{
		"my new password is Sunflower#Quartz77": true, "Sunflower#Quartz77": true, "password: hunter22": true,
		"my password is sunflower77": true, "Correct-Horse-9": true, "P@ssw0rd!": true, "Winter2024!": true,
		"I'm locked out": false, "can't log in to Office365": false, "sign-in problem with 2-factor": false,
		"my email is alice.home@mail.test": false, "123456": false, "my password is expired": false,
		"My password is not working": false, "https://x.example/Ab1?x=2": false,
	} {
		if got := flows.LooksLikePassword("en", in); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}
