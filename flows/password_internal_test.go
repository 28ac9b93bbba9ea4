package flows

import (
	"math/rand/v2"
	"testing"
)

// matchEveryTerm is match as it was before the fuzzy index: every term with the part's first
// byte and a length one apart at most is tried (byLen holds them by first byte and length).
func matchEveryTerm(b *BannedList, byLen map[[2]int][]string, s string, i int) int {
	for l := len(s) - i; l >= 4; l-- {
		if b.terms[s[i:i+l]] {
			return l
		}
	}
	for l := len(s) - i; l >= 3; l-- {
		cand := s[i : i+l]
		if !alnum(cand[0]) || !alnum(cand[l-1]) {
			continue
		}
		for _, n := range []int{l, l + 1, l - 1} {
			for _, t := range byLen[[2]int{int(cand[0]), n}] {
				if within1(cand, t) {
					return l
				}
			}
		}
	}
	return 0
}

// The fuzzy index finds exactly what trying every term finds: passwords made of common
// passwords with an edit, a swap, a typo or nothing, and noise around them.
func TestFuzzyIndexFindsWhatEveryTermFinds(t *testing.T) {
	b := CommonPasswords()
	var terms []string
	byLen := map[[2]int][]string{}
	for term := range b.terms {
		terms = append(terms, term)
		k := [2]int{int(term[0]), len(term)}
		byLen[k] = append(byLen[k], term)
	}
	r := rand.New(rand.NewPCG(23, 42))
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789-!"
	edit := func(s string) string {
		p := r.IntN(len(s))
		c := string(letters[r.IntN(len(letters))])
		switch r.IntN(4) {
		case 0:
			return s[:p] + c + s[p+1:]
		case 1:
			return s[:p] + c + s[p:]
		case 2:
			return s[:p] + s[p+1:]
		}
		return s
	}
	for n := 0; n < 500; n++ {
		s := ""
		for range 1 + r.IntN(3) {
			s += edit(edit(terms[r.IntN(len(terms))]))
			if r.IntN(2) == 0 {
				s += string(letters[r.IntN(len(letters))])
			}
		}
		for i := 0; i < len(s); i++ {
			if got, want := b.match(s, i), matchEveryTerm(b, byLen, s, i); got != want {
				t.Fatalf("match(%q, %d) = %d, trying every term: %d", s, i, got, want)
			}
		}
	}
}
