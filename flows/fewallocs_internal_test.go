package flows

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/internal/allocs"
)

// nthField answers what strings.Split does, for lists of every shape.
func TestNthFieldIsSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"", ",", "a", " b ", "Mo", "日", ",,"}
	for range 5000 {
		s := ""
		for range r.IntN(14) {
			s += pieces[r.IntN(len(pieces))]
		}
		parts := strings.Split(s, ",")
		for n := 1; n <= 13; n++ {
			for i := -1; i <= n; i++ {
				got, ok := nthField(s, i, n)
				want, wok := "", len(parts) == n && i >= 0 && i < n
				if wok {
					want = parts[i]
				}
				if got != want || ok != wok {
					t.Fatalf("nthField(%q, %d, %d) = %q %v, want %q %v", s, i, n, got, ok, want, wok)
				}
			}
		}
	}
}

// A masked address is one new string (its first letters are slices of the address), the same
// as before for letters of every width and for what is not an address.
func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{"jane@contoso.com": "j***@c****.com", "élise@über.de": "é***@ü****.de",
		"x@localhost": "x***@***", "@contoso.com": "***", "\xffa@b.c": "***@b****.c", "a@\xffb.c": "a***@****.c"} {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
	if n := allocs.Min(100, func() { _ = MaskEmail("jane@contoso.com") }); n > 1 {
		t.Fatalf("%v allocations per masked address", n)
	}
}

// The method names come from the ids methodMsgs made once, the same ids as built each time,
// and a method it does not list still has its name.
func TestMethodMsgs(t *testing.T) {
	for m, ids := range methodMsgs {
		if ids.noun != MsgID("method."+string(m)+".noun") || ids.label != MsgID("method."+string(m)+".label") {
			t.Fatalf("%s: %+v", m, ids)
		}
		if methodLabel("de", m) != Text("de", MsgID("method."+string(m)+".label")) {
			t.Fatalf("%s: label %q", m, methodLabel("de", m))
		}
	}
	if got := methodLabel("en", "carrier-pigeon"); got != "method.carrier-pigeon.label" {
		t.Fatalf("an unlisted method: %q", got)
	}
	for _, m := range []MethodKind{MethodTOTP, MethodEmail, MethodSMS, MethodVoice, MethodQuestions, MethodPasskey} {
		if _, ok := methodMsgs[m]; !ok {
			t.Fatalf("%s not listed", m)
		}
	}
	// the weekday and the month of a moment, in a language's own words
	if got := FormatWhen("de", time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), time.UTC); !strings.Contains(got, "Dienstag") || !strings.Contains(got, "Dezember") {
		t.Fatalf("FormatWhen: %q", got)
	}
}
