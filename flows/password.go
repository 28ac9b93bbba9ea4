package flows

import (
	_ "embed"
	"hash/maphash"
	"slices"
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

// BannedList is a set of normalised banned terms. It never changes once built, and it holds no
// pointer the garbage collector would follow: the terms one after another in one string, and
// two open-addressing hash tables of integers over them (the built-in list, 30,000 terms, takes
// about 1 MB this way; as maps of strings and slices of strings it took about 4 MB of live heap,
// scanned at every collection).
type BannedList struct {
	blob   string   // the terms one after another
	ends   []uint32 // term k is blob[ends[k]:ends[k+1]]
	maxLen int      // the longest term's length in bytes
	seed   maphash.Seed
	exact  []uint32 // by the hash of a term: its index + 1 (0: empty), then the next slots
	fkeys  []uint64 // the fuzzy keys in use, see fuzzyKey
	fslot  []uint32 // by the hash of a fuzzy key: its index in fkeys + 1 (0: empty)
	fstart []uint32 // the terms filed under fkeys[k] are fterms[fstart[k]:fstart[k+1]]
	fterms []uint32
	fmasks []uint32 // fmasks[j] is the letterMask of term fterms[j], beside it for the scan
	// lens[c] has bit n set when a term of n bytes starts with byte c (bit 63: 63 bytes or
	// more): the lengths a part starting with c need not be looked up at
	lens [256]uint64
}

// fuzzyKey files a term of length n under its first byte with its second byte, and again with
// its last byte (last set). A term one edit away from a part that starts with the same byte
// shares that part's second byte or its last one: an edit after the second byte leaves the
// first two alike, an edit at the second byte leaves the last alike (the part and the term have
// three bytes or more). So the two lists of a part hold every term its fuzzy match could find,
// a few dozen where the first byte and length alone gave hundreds.
func fuzzyKey(first, other byte, last bool, n int) uint64 {
	k := uint64(n)<<17 | uint64(first)<<8 | uint64(other)
	if last {
		k |= 1 << 16
	}
	return k
}

// NewBannedList normalises and indexes terms of 4 or more characters.
func NewBannedList(terms []string) *BannedList {
	seen := make(map[string]bool, len(terms))
	var kept []string
	size := 0
	for _, t := range terms {
		n := NormalisePassword(strings.TrimSpace(t))
		if utf8.RuneCountInString(n) < 4 || seen[n] {
			continue
		}
		seen[n] = true
		kept = append(kept, n)
		size += len(n)
	}
	b := &BannedList{seed: maphash.MakeSeed(), ends: make([]uint32, 1, len(kept)+1), exact: make([]uint32, tableSize(len(kept)))}
	var blob strings.Builder
	blob.Grow(size)
	filed := map[uint64][]uint32{}
	for k, n := range kept {
		blob.WriteString(n)
		b.ends = append(b.ends, uint32(blob.Len()))
		b.maxLen = max(b.maxLen, len(n))
		b.lens[n[0]] |= lenBit(len(n))
		h := b.slot(maphash.String(b.seed, n), b.exact)
		for b.exact[h] != 0 {
			h = (h + 1) & (len(b.exact) - 1)
		}
		b.exact[h] = uint32(k + 1)
		for _, key := range [...]uint64{fuzzyKey(n[0], n[1], false, len(n)), fuzzyKey(n[0], n[len(n)-1], true, len(n))} {
			filed[key] = append(filed[key], uint32(k))
		}
	}
	b.blob = blob.String()
	b.fkeys = make([]uint64, 0, len(filed))
	for key := range filed {
		b.fkeys = append(b.fkeys, key)
	}
	slices.Sort(b.fkeys) // the same layout every time
	b.fslot = make([]uint32, tableSize(len(b.fkeys)))
	b.fstart = make([]uint32, 1, len(b.fkeys)+1)
	b.fterms = make([]uint32, 0, 2*len(kept))
	b.fmasks = make([]uint32, 0, 2*len(kept))
	for i, key := range b.fkeys {
		b.fterms = append(b.fterms, filed[key]...)
		for _, k := range filed[key] {
			b.fmasks = append(b.fmasks, letterMask(b.term(k)))
		}
		b.fstart = append(b.fstart, uint32(len(b.fterms)))
		h := b.slot(mixKey(key), b.fslot)
		for b.fslot[h] != 0 {
			h = (h + 1) & (len(b.fslot) - 1)
		}
		b.fslot[h] = uint32(i + 1)
	}
	return b
}

// tableSize is a power of two at least twice n: a table at most half full.
func tableSize(n int) int {
	s := 1
	for s < 2*n {
		s <<= 1
	}
	return s
}

// slot is where a hash starts its probe in a table (whose size is a power of two).
func (b *BannedList) slot(h uint64, table []uint32) int { return int(h & uint64(len(table)-1)) }

// mixKey spreads a fuzzy key's bits over a hash.
func mixKey(k uint64) uint64 {
	k *= 0x9e3779b97f4a7c15
	return k ^ k>>29
}

// letterMask is the set of s's bytes, each as one of 32 bits (letterBit). A string one edit
// from another has at most one byte the other lacks, both ways, so their sets differ by one bit
// at most each way, whatever bit each byte is given: a cheap test before within1 (see fuzzyIn).
func letterMask(s string) uint32 {
	var m uint32
	for i := 0; i < len(s); i++ {
		m |= letterBit[s[i]]
	}
	return m
}

// letterBit gives each letter its own bit and shares the other six among the rest (after
// NormalisePassword a part is mostly letters).
var letterBit = func() (t [256]uint32) {
	for c := range 256 {
		switch {
		case c >= 'a' && c <= 'z':
			t[c] = 1 << (c - 'a')
		case c >= '0' && c <= '9':
			t[c] = 1 << (26 + (c-'0')%6)
		default:
			t[c] = 1 << (26 + c%6)
		}
	}
	return t
}()

// lenBit is the bit of lens for a term of n bytes.
func lenBit(n int) uint64 { return 1 << min(n, 63) }

// term is term k.
func (b *BannedList) term(k uint32) string { return b.blob[b.ends[k]:b.ends[k+1]] }

// has reports whether t is a term.
func (b *BannedList) has(t string) bool {
	if len(b.ends) == 1 {
		return false
	}
	for h := b.slot(maphash.String(b.seed, t), b.exact); ; h = (h + 1) & (len(b.exact) - 1) {
		k := b.exact[h]
		if k == 0 {
			return false
		}
		if b.term(k-1) == t {
			return true
		}
	}
}

// filed is where the terms filed under a fuzzy key are in fterms (and fmasks): [from, to).
func (b *BannedList) filed(key uint64) (from, to uint32) {
	if len(b.fkeys) == 0 {
		return 0, 0
	}
	for h := b.slot(mixKey(key), b.fslot); ; h = (h + 1) & (len(b.fslot) - 1) {
		i := b.fslot[h]
		if i == 0 {
			return 0, 0
		}
		if b.fkeys[i-1] == key {
			return b.fstart[i-1], b.fstart[i]
		}
	}
}

// fuzzyIn reports whether a term of n bytes filed in fterms[from:to] is one edit from cand
// (whose letterMask is cm) at most.
func (b *BannedList) fuzzyIn(cand string, cm uint32, n int, from, to uint32) bool {
	terms := b.fterms[from:to]
	// a term a byte shorter lacks a byte of cand: it has no byte cand lacks (and the other
	// way round); one as long has one at most each way
	var more, fewer uint32 = 1, 1 // 0: no bit may differ that way, 1: one may
	switch n - len(cand) {
	case -1:
		more = 0
	case 1:
		fewer = 0
	}
	for j, m := range b.fmasks[from:to] {
		x, y := m&^cm, cm&^m
		if x&(x-more)|y&(y-fewer) == 0 && within1(cand, b.term(terms[j])) {
			return true
		}
	}
	return false
}

// Len is the number of terms.
func (b *BannedList) Len() int { return len(b.ends) - 1 }

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
	lens := b.lens[s[i]] // the lengths of the terms that start as the part does
	for l := min(len(s)-i, b.maxLen); l >= 4; l-- {
		if lens&lenBit(l) != 0 && b.has(s[i:i+l]) {
			return l
		}
	}
	top := min(len(s)-i, b.maxLen+1) // a part one edit away is a byte longer at most
	if top < 3 || !alnum(s[i]) {
		return 0 // a fuzzy match never starts on a separator
	}
	// the parts of lengths top down to 3 all start with s[i] and s[i+1]: the terms filed
	// under those two bytes for a length n are looked up once, for the parts of lengths n+1,
	// n and n-1; masks[l] is the letterMask of the part of length l
	var masks [66]uint32
	for l := 1; l <= min(top, len(masks)-1); l++ {
		masks[l] = masks[l-1] | letterBit[s[i+l-1]]
	}
	var second [3][2]uint32 // the terms under the second byte for lengths l+1, l, l-1
	look := func(n int) [2]uint32 {
		if n < 2 || lens&lenBit(n) == 0 {
			return [2]uint32{}
		}
		from, to := b.filed(fuzzyKey(s[i], s[i+1], false, n))
		return [2]uint32{from, to}
	}
	second[1], second[2] = look(top+1), look(top)
	for l := top; l >= 3; l-- {
		second[0], second[1], second[2] = second[1], second[2], look(l-1)
		cand := s[i : i+l]
		if !alnum(cand[l-1]) {
			continue // nor ends on one
		}
		var cm uint32
		if l < len(masks) {
			cm = masks[l]
		} else {
			cm = letterMask(cand)
		}
		for k, n := range [...]int{l + 1, l, l - 1} {
			if lens&lenBit(n) == 0 {
				continue
			}
			if r := second[k]; b.fuzzyIn(cand, cm, n, r[0], r[1]) {
				return l
			}
			if from, to := b.filed(fuzzyKey(cand[0], cand[l-1], true, n)); b.fuzzyIn(cand, cm, n, from, to) {
				return l
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
				if m := b.match(s, i); m > l {
					l = m
				}
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

// commonPasswords is the 30,000 most common passwords, most common first, one a line: the
// "passwords" frequency list of zxcvbn (MIT licence, commonpasswords.LICENSE) as its Go port
// ships it. Embedded as text, it costs the heap nothing until CommonPasswords indexes it
// (importing the port's package built all its lists, about 100,000 strings, at start-up).
//
//go:embed commonpasswords.txt
var commonPasswords string

// CommonPasswords is the built-in banned list, built once.
func CommonPasswords() *BannedList {
	commonOnce.Do(func() { common = NewBannedList(strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n")) })
	return common
}
