package flows

import (
	"os"
	"strings"
	"testing"
)

// Every bot-admin command is handled (run or open, one of them), described in the help in
// every language by a line that starts with its own words, and in the README.
func TestAdminCommandsAreOneTable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range adminCommands {
		if seen[c.words] || c.words != strings.ToLower(c.words) || len(strings.Fields(c.words)) == 0 {
			t.Errorf("command %q: duplicate, or not lowercase words", c.words)
		}
		seen[c.words] = true
		if (c.run == nil) == (c.open == nil) {
			t.Errorf("command %q: exactly one of run and open handles it", c.words)
		}
		if len(c.help) == 0 {
			t.Errorf("command %q is not in the help", c.words)
		}
		for _, lang := range Languages() {
			for _, id := range c.help {
				if line := Text(lang, id); !strings.HasPrefix(line, c.words) {
					t.Errorf("%s: help line %s of %q is %q", lang, id, c.words, line)
				}
			}
		}
		if !strings.Contains(string(readme), "`"+c.words) {
			t.Errorf("README does not list %q", c.words)
		}
	}
}
