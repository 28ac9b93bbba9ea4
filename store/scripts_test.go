package store

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every Lua script is a file of its own whose header says what it does, its keys and what it
// returns; none is a string in the Go code, where it cannot be read, reviewed or reused as one.
func TestScriptsAreFilesWithAHeader(t *testing.T) {
	inline := regexp.MustCompile("NewScript\\(`")
	gos, _ := filepath.Glob("*.go")
	for _, f := range gos {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if inline.Match(b) {
			t.Errorf("%s has a Lua script inline: move it to a .lua file with a header and load it with script()", f)
		}
	}
	luas, _ := filepath.Glob("*.lua")
	// one implementation of the per-person fixed window: lib_window.lua (budget.lua's window is
	// a deployment-wide string key with its own expiry)
	for _, f := range luas {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), "(%d+):(%d+)") && f != "lib_window.lua" && f != "budget.lua" {
			t.Errorf("%s parses a 'count:start' window itself: use lib_window.lua's functions", f)
		}
		// and of the window of a counter with a key of its own (helpdesk_ask.lua's INCR numbers
		// requests; it counts no window)
		if strings.Contains(string(b), "'INCR'") && strings.Contains(string(b), "EXPIRE'") && f != "lib_window_key.lua" && f != "helpdesk_ask.lua" {
			t.Errorf("%s counts in a key it gives a lifetime: use lib_window_key.lua's window_key_tick", f)
		}
	}
	if len(luas) < 10 {
		t.Fatalf("only %d scripts found: %v", len(luas), luas)
	}
	for _, f := range luas {
		if strings.HasPrefix(f, "lib_") {
			continue // a library of local functions, put in front of the scripts that use it
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head strings.Builder // the comment lines that open the file
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(l, "--") {
				break
			}
			head.WriteString(l + "\n")
		}
		if h := head.String(); !strings.Contains(h, "KEYS") || !strings.Contains(h, "Returns") {
			t.Errorf("%s: its header must open the file and name its KEYS and what it returns", f)
		}
	}
}

// The subject's keys all start with its hash tag, so a script's keys share one cluster slot.
func TestSubjectKeysShareTheTag(t *testing.T) {
	for key, want := range map[string]string{sessKey("s1", "c"): tag("s1") + ":s:c", codeKey("s1", "c"): tag("s1") + ":code:c",
		enrolKey("s1"): tag("s1") + ":e", linksKey("s1"): tag("s1") + ":l", idemKey("s1", "k"): tag("s1") + ":i:k"} {
		if key != want {
			t.Errorf("key %q, want %q", key, want)
		}
	}
}

// step.lua's keys, built together, are the subject's keys as each is built on its own.
func TestStepKeysAreTheSubjectsKeys(t *testing.T) {
	idem, sess, enrol, code := idemKey("s1", "k"), sessKey("s1", "slack:T:U"), enrolKey("s1"), codeKey("s1", "slack:T:U")
	links, menu, locale := linksKey("s1"), menuKey("s1", "slack:T:U"), localeKey("s1")
	for parts, want := range map[int64][]string{
		partIdem | partSave:                          {idem, sess},
		partKeep:                                     {idem, sess},
		partIdem:                                     {idem, sess, code}, // the session and its code go
		partIdem | partSave | partLocale:             {idem, sess, locale},
		partIdem | partSave | partAttempt:            {idem, sess, enrol, code},
		partIdem | partSave | partSend | partCode:    {idem, sess, enrol, code},
		partIdem | partSave | partSend:               {idem, sess, enrol},
		partIdem | partSave | partLink | partCorrect: {idem, sess, links},
		partIdem | partKeep | partForgetMenu:         {idem, sess, menu},
		partIdem | partSave | partForget | partForgetMenu | partLocale | partAttempt | partCorrect | partOnce | partPut | partSend | partCode | partLink | partLinkIfFree: {
			idem, sess, enrol, code, links, menu, locale},
	} {
		got := stepKeys("s1", "slack:T:U", "k", parts)
		if strings.Join(got, " ") != strings.Join(want, " ") || len(got) != len(want) {
			t.Errorf("parts %d: step keys %q, want %q", parts, got, want)
		}
	}
}
