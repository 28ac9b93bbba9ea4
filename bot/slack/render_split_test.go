package slack

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/internal/allocs"
)

// splitTextRunes is splitText as it was, over a rune slice: the reference the in-place walk
// must match.
func splitTextRunes(s string, n int) []string {
	if s == "" {
		return []string{" "}
	}
	runesLen := func(r []rune) int {
		k := 0
		for _, c := range r {
			k += escapedLen(c)
		}
		return k
	}
	var out []string
	for {
		r := []rune(s)
		if runesLen(r) <= n {
			return append(out, s)
		}
		cut, size := 0, 0
		for i, c := range r {
			size += escapedLen(c)
			if size > n {
				break
			}
			cut = i + 1
		}
		head := string(r[:cut])
		if i := strings.LastIndex(head, "\n"); i > 0 {
			head = head[:i+1]
		} else if i := strings.LastIndex(head, " "); i > 0 {
			head = head[:i+1]
		}
		out = append(out, strings.TrimRight(head, "\n"))
		s = s[len(head):]
	}
}

// TestSplitTextMatchesRuneSplit: the in-place split cuts every text (line breaks, spaces, none,
// characters mrkdwn escapes, multi-byte characters) exactly where the rune-slice split did.
func TestSplitTextMatchesRuneSplit(t *testing.T) {
	alphabet := []string{"a", "b", " ", "\n", "&", "<", ">", "é", "€", "😀", "\n\n", "word "}
	rng := rand.New(rand.NewPCG(1, 23))
	texts := []string{"", " ", "\n", "short", strings.Repeat("x", 3001), strings.Repeat("&", 700), strings.Repeat("😀 ", 2000)}
	for range 400 {
		var b strings.Builder
		for range rng.IntN(400) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		texts = append(texts, b.String())
	}
	split := 0
	for _, s := range texts {
		for _, n := range []int{7, 20, 64, maxSectionText} {
			want, got := splitTextRunes(s, n), splitText(s, n)
			if !slices.Equal(want, got) {
				t.Fatalf("splitText(%q, %d) = %q, the rune split gives %q", s, n, got, want)
			}
			if len(got) > 1 {
				split++
			}
		}
	}
	if split < 100 {
		t.Fatalf("only %d texts were long enough to split", split)
	}
}

// TestSplitTextAllocations: a text that fits in one section costs one allocation (the result).
func TestSplitTextAllocations(t *testing.T) {
	s := strings.Repeat("Pick how to prove it's you & then <follow> the link. ", 20)
	if n := allocs.Min(100, func() { _ = splitText(s, maxSectionText) }); n > 1 {
		t.Fatalf("splitText of a short text allocates %.0f times, want 1", n)
	}
}
