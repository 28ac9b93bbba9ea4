package flows

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// hmacs is a MACer over one key, as store.Crypto computes it.
type hmacs struct{ key []byte }

func (h hmacs) MAC(parts ...string) string {
	m := hmac.New(sha256.New, h.key)
	for _, p := range parts {
		fmt.Fprintf(m, "%d:", len(p))
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}
func (h hmacs) MACs(parts ...string) []string { return []string{h.MAC(parts...)} }

// The check of a typed message against the password a page just set costs a bounded number of
// MACs, even for the longest message the bot reads (the pieces tried and their comparison; the
// count of checks kept in Redis is one more round trip).
func BenchmarkTypedPasswordCheck(b *testing.B) {
	e := &Engine{d: Deps{MAC: hmacs{key: []byte("0123456789abcdef0123456789abcdef")}}}
	mac := e.d.MAC.MAC(typedPasswordLabel, "u1", "Quiet meadow River stone")
	for _, c := range []struct{ name, text string }{
		{"short", "I set it to Quiet meadow River stone"},
		{"longest", strings.Repeat("word ", MaxTextLen/5)},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				var cands []string
				passwordCandidates(c.text, func(p string) { cands = append(cands, p) })
				e.anyIsKept("u1", mac, cands)
			}
		})
	}
}
