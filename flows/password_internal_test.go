package flows

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/trustelem/zxcvbn/frequency"
)

// refList is the banned list done the plain way, as it was before the compact index: the
// normalised terms in a map, and for a fuzzy match every term with the part's first byte and a
// length one apart at most, tried one by one.
type refList struct {
	terms map[string]bool
	byLen map[[2]int][]string // by first byte and length
}

func newRefList(terms []string) refList {
	r := refList{terms: map[string]bool{}, byLen: map[[2]int][]string{}}
	for _, t := range terms {
		n := NormalisePassword(strings.TrimSpace(t))
		if len([]rune(n)) < 4 || r.terms[n] {
			continue
		}
		r.terms[n] = true
		k := [2]int{int(n[0]), len(n)}
		r.byLen[k] = append(r.byLen[k], n)
	}
	return r
}

func (r refList) match(s string, i int) int {
	for l := len(s) - i; l >= 4; l-- {
		if r.terms[s[i:i+l]] {
			return l
		}
	}
	for l := len(s) - i; l >= 3; l-- {
		cand := s[i : i+l]
		if !alnum(cand[0]) || !alnum(cand[l-1]) {
			continue
		}
		for _, n := range []int{l, l + 1, l - 1} {
			for _, t := range r.byLen[[2]int{int(cand[0]), n}] {
				if within1(cand, t) {
					return l
				}
			}
		}
	}
	return 0
}

// mangled is a password made of one to three terms, each with up to two random edits (a
// changed, added or dropped character) and random characters between them.
func mangled(r *rand.Rand, terms []string) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789-!@$ ÄéA"
	edit := func(s string) string {
		if s == "" {
			return s
		}
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
	s := ""
	for range 1 + r.IntN(3) {
		s += edit(edit(terms[r.IntN(len(terms))]))
		if r.IntN(2) == 0 {
			s += string(letters[r.IntN(len(letters))])
		}
	}
	return s
}

// The compact index finds, at every position of every password, exactly what the plain map of
// terms and trying every term find: for the built-in list with real common passwords mangled,
// for custom lists (short, long, with symbols and accented letters, duplicates and spaces), for
// random strings, and for every built-in term itself.
func TestBannedListMatchesThePlainWay(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 42))
	common := frequency.FrequencyLists["passwords"]
	custom := []string{"contoso", "Fabrikam", " northwind ", "CONTOSO", "Zürich-Büro", "abc", "ab-cd", "p@ss", "x",
		"a-very-long-banned-term-of-the-organisation", "1234",
		"an-even-longer-banned-term-of-the-organisation-longer-than-sixty-six-bytes-at-least", "averylongbannedtermofsixtysixbytesormorewithnoseparatorsinsideofit0", "wxyz", "étoile"}
	for range 200 {
		var w []byte
		for range 3 + r.IntN(10) {
			w = append(w, "abcdefghijklmnopqrstuvwxyz0123456789-._"[r.IntN(39)])
		}
		custom = append(custom, string(w))
	}
	for _, c := range []struct {
		name  string
		terms []string
	}{{"built-in", common}, {"custom", custom}, {"empty", nil}, {"one", []string{"granite"}}} {
		b, ref := NewBannedList(c.terms), newRefList(c.terms)
		if b.Len() != len(ref.terms) {
			t.Fatalf("%s: Len %d, want %d", c.name, b.Len(), len(ref.terms))
		}
		var pws []string
		for range 1000 {
			pws = append(pws, mangled(r, common), mangled(r, custom))
		}
		for range 500 {
			var w []byte
			for range r.IntN(30) {
				w = append(w, byte(32+r.IntN(95)))
			}
			pws = append(pws, string(w))
		}
		pws = append(pws, common...)
		pws = append(pws, custom...)
		for _, pw := range pws {
			s := NormalisePassword(pw)
			for i := 0; i < len(s); i++ {
				if got, want := b.match(s, i), ref.match(s, i); got != want {
					t.Fatalf("%s: match(%q, %d) = %d, the plain way: %d", c.name, s, i, got, want)
				}
			}
		}
	}
}

// The built-in list holds nothing the garbage collector scans (no map, no pointer to follow
// but the arrays of bytes and integers) and takes about a megabyte.
func TestBannedListIsCompact(t *testing.T) {
	b := CommonPasswords()
	var pointerFree func(reflect.Type) bool
	pointerFree = func(ty reflect.Type) bool {
		switch ty.Kind() {
		case reflect.String:
			return true // string bytes hold no pointers
		case reflect.Slice:
			return ty.Elem().Kind() != reflect.Slice && ty.Elem().Kind() != reflect.String && pointerFree(ty.Elem())
		case reflect.Struct:
			for i := range ty.NumField() {
				if !pointerFree(ty.Field(i).Type) {
					return false
				}
			}
			return true
		case reflect.Map, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
			return false
		}
		return true
	}
	if ty := reflect.TypeOf(*b); !pointerFree(ty) {
		t.Fatalf("%v holds pointers the collector follows", ty)
	}
	size := len(b.blob) + 4*(len(b.ends)+len(b.exact)+len(b.fslot)+len(b.fstart)+len(b.fterms)) + 8*len(b.fkeys) + 4*len(b.fmasks) + len(b.lens)*8
	if size > 1<<20+1<<18 {
		t.Fatalf("the built-in list takes %d bytes", size)
	}
	t.Logf("the built-in list: %d terms in %d bytes", b.Len(), size)
}

// The embedded list is zxcvbn's, term for term and in order.
func TestCommonPasswordsAreZxcvbns(t *testing.T) {
	got := strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n")
	want := frequency.FrequencyLists["passwords"]
	if len(got) != len(want) {
		t.Fatalf("%d terms, zxcvbn has %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("term %d: %q, zxcvbn has %q", i, got[i], want[i])
		}
	}
}

func BenchmarkScore(b *testing.B) {
	lists := []*BannedList{CommonPasswords(), NewBannedList([]string{"contoso", "fabrikam"})}
	pws := []string{"Granite-Orchid-Lantern-8", "P@ssw0rd2024", "Correct horse battery staple", "Contoso-Blizzard-19"}
	for i := 0; b.Loop(); i++ {
		Score(pws[i%len(pws)], lists, []string{"Alice", "Cloud"})
	}
}
