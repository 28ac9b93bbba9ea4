package jsonscan_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/resetbot/resetbot/internal/jsonscan"
)

// TestAppendStringIsMarshal compares AppendString with json.Marshal on strings with every kind
// of byte it treats apart, and on random bytes.
func TestAppendStringIsMarshal(t *testing.T) {
	cases := []string{"", "plain", `q"uote`, `back\slash`, "<a href='x'>&amp;</a>", "\b\f\n\r\t\x00\x01\x1f\x7f",
		"é ü 日本 🙂", "\u2028\u2029", "\xff\xfe bad \xc3", "end\xe2\x80"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := jsonscan.AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("%q: %s, json.Marshal writes %s", s, got[1:], want)
		}
	}
}
