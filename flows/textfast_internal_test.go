package flows

import (
	"fmt"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/internal/allocs"
)

// Text formats a message whose placeholders are all %s with fmt when it is given strings, and
// that is what the language's printer makes of it, for every such message of every language.
// A message with another verb, a plural, or given something else than strings still goes to
// the printer.
func TestStringOnlyTextsAsThePrinterFormatsThem(t *testing.T) {
	c := catalogs.Load()
	checked := 0
	for _, lang := range c.names {
		for id, e := range c.msgs[lang] {
			if e.strArgs < 1 {
				continue
			}
			args := make([]any, e.strArgs)
			for i := range args {
				args[i] = fmt.Sprintf("‹arg %d: 100%% ü›", i+1)
			}
			want := c.printers[lang].Sprintf(string(id), args...)
			if got := c.text(lang, id, args...); got != want {
				t.Errorf("%s %s: %q, the printer %q", lang, id, got, want)
			}
			checked++
		}
	}
	if checked < 20 {
		t.Fatalf("only %d messages checked", checked)
	}
	for text, want := range map[string]int{"a %s b %s": 2, "%[2]s %[1]s": 2, "no verbs": 0, "%d left": -1, "%s of %d": -1,
		"%v": -1, "${name} %s": -1, "100%% %s": 1, "%[2]s only": -1} {
		if got := stringArgs(text); got != want {
			t.Errorf("stringArgs(%q) = %d, want %d", text, got, want)
		}
	}
	// the arguments and the text: the printer's set-up for each text cost four more
	id := MsgID(firstWith(t, c, "en", 's'))
	if n := allocs.Min(100, func() { _ = Text("en", id, "x") }); n > 2 {
		t.Fatalf("%v allocations for a text with one string", n)
	}
	// a number goes to the printer: its digits are grouped as the language groups them
	if got := Text("de", MsgID(firstWith(t, c, "de", 's')), 12345); !strings.Contains(got, "12.345") {
		t.Fatalf("a number given for %%s: %q", got)
	}
}

// firstWith is the id of a message of lang with a %verb placeholder.
func firstWith(t *testing.T, c *msgCatalog, lang string, verb rune) string {
	for id, e := range c.msgs[lang] {
		if ph, _ := Placeholders(e.Text); !e.plural && len(ph) == 1 && ph[1] == verb {
			return string(id)
		}
	}
	t.Fatalf("no message of %s with %%%c", lang, verb)
	return ""
}
