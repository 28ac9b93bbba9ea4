package flows

import (
	"github.com/trustelem/zxcvbn/frequency"
	"strings"
	"sync"
	"unicode/utf8"
)

// Banned-password checking in the style Entra ID Password Protection documents: normalise
// (lower case, common substitutions), find banned terms (exactly or at edit distance 1) and the
// user's own names, score one point per banned part and one per other character, and accept
// at five points or more. The built-in list is CommonPasswords, the custom one the policy's.

// MinScore is the score a new password must reach.
const MinScore = 5

var substitutions = strings.NewReplacer("0", "o", "1", "l", "$", "s", "@", "a")

// NormalisePassword lowers case and undoes the usual substitutions.
func NormalisePassword(s string) string { return substitutions.Replace(strings.ToLower(s)) }

// BannedList is a set of normalised banned terms.
type BannedList struct {
	mu    sync.RWMutex
	terms map[string]bool
	fuzzy map[fuzzyKey][]string // the candidates of a fuzzy match, see fuzzyKey
}

// fuzzyKey files a term of length n under its first byte with its second byte, and again with
// its last byte (last set). A term one edit away from a part that starts with the same byte
// shares that part's second byte or its last one: an edit after the second byte leaves the
// first two alike, an edit at the second byte leaves the last alike (the part and the term have
// three bytes or more). So the two lists of a part hold every term its fuzzy match could find,
// a few dozen where the first byte and length alone gave hundreds.
type fuzzyKey struct {
	first, other byte
	last         bool
	n            int
}

// NewBannedList normalises and indexes terms of 4 or more characters.
func NewBannedList(terms []string) *BannedList {
	b := &BannedList{terms: map[string]bool{}, fuzzy: map[fuzzyKey][]string{}}
	for _, t := range terms {
		b.add(t)
	}
	return b
}

func (b *BannedList) add(t string) {
	n := NormalisePassword(strings.TrimSpace(t))
	if utf8.RuneCountInString(n) < 4 || b.terms[n] {
		return
	}
	b.terms[n] = true
	for _, k := range []fuzzyKey{{n[0], n[1], false, len(n)}, {n[0], n[len(n)-1], true, len(n)}} {
		b.fuzzy[k] = append(b.fuzzy[k], n)
	}
}

// Len is the number of terms.
func (b *BannedList) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.terms)
}

// within1 reports whether a and b are at edit distance at most 1.
func within1(a, b string) bool {
	if a == b {
		return true
	}
	la, lb := len(a), len(b)
	if la-lb > 1 || lb-la > 1 {
		return false
	}
	i, j, edits := 0, 0, 0
	for i < la && j < lb {
		if a[i] == b[j] {
			i++
			j++
			continue
		}
		if edits++; edits > 1 {
			return false
		}
		switch {
		case la > lb:
			i++
		case lb > la:
			j++
		default:
			i++
			j++
		}
	}
	return edits+(la-i)+(lb-j) <= 1
}

// match returns the length of the banned part of s starting at i: the longest exact term, or
// else the longest part one edit away from a term; 0 when there is none.
func (b *BannedList) match(s string, i int) int {
	for l := len(s) - i; l >= 4; l-- {
		if b.terms[s[i:i+l]] {
			return l
		}
	}
	for l := len(s) - i; l >= 3; l-- {
		cand := s[i : i+l]
		if !alnum(cand[0]) || !alnum(cand[l-1]) {
			continue // a fuzzy match never starts or ends on a separator
		}
		for _, n := range [...]int{l, l + 1, l - 1} {
			for _, k := range [...]fuzzyKey{{cand[0], cand[1], false, n}, {cand[0], cand[l-1], true, n}} {
				for _, t := range b.fuzzy[k] {
					if within1(cand, t) {
						return l
					}
				}
			}
		}
	}
	return 0
}

// Score counts a password's points: each banned part (from the lists or the user's own names)
// is one point, every other character one point.
func Score(pw string, lists []*BannedList, personal []string) (int, []string) {
	s := NormalisePassword(pw)
	var found []string
	var own []string
	for _, p := range personal {
		if p = NormalisePassword(p); utf8.RuneCountInString(p) >= 3 {
			own = append(own, p)
		}
	}
	points := 0
	for i := 0; i < len(s); {
		l := 0
		for _, p := range own {
			if strings.HasPrefix(s[i:], p) && len(p) > l {
				l = len(p)
			}
		}
		if l == 0 {
			for _, b := range lists {
				if b == nil {
					continue
				}
				b.mu.RLock()
				if m := b.match(s, i); m > l {
					l = m
				}
				b.mu.RUnlock()
			}
		}
		if l > 0 {
			found = append(found, s[i:i+l])
			points++
			i += l
			continue
		}
		points++
		i++
	}
	return points, found
}

// PasswordSymbols are the symbols Entra ID accepts in passwords besides ASCII letters, digits
// and space; the new-password page's checklist reads them from here too.
const PasswordSymbols = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<>"

// entraSymbols are the symbols and the space.
const entraSymbols = PasswordSymbols + " "

// CheckNewPassword applies Entra's cloud rules, then the banned-password scoring, and says in
// plain words what to change.
func CheckNewPassword(pw, confirm string, lists []*BannedList, personal []string) error {
	if err := CheckPassword(pw, confirm); err != nil {
		return err
	}
	for _, r := range pw {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(entraSymbols, r)) {
			return PasswordRefused(Msg{ID: "pw.charset", Args: []any{strings.TrimSpace(entraSymbols)}})
		}
	}
	points, found := Score(pw, lists, personal)
	if points < MinScore {
		what := MsgID("pw.guessable_common")
		for _, f := range found {
			for _, p := range personal {
				if NormalisePassword(p) == f {
					what = "pw.guessable_name"
				}
			}
		}
		return PasswordRefused(Msg{ID: what})
	}
	return nil
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

var (
	commonOnce sync.Once
	common     *BannedList
)

// CommonPasswords is the built-in banned list: the 30,000 most common passwords from the
// frequency lists of zxcvbn (MIT licence), as its Go port ships them. Built once.
func CommonPasswords() *BannedList {
	commonOnce.Do(func() { common = NewBannedList(frequency.FrequencyLists["passwords"]) })
	return common
}
