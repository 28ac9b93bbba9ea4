package totp_test

import (
	"crypto/rand"
	"encoding/base32"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/internal/allocs"
)

// Match accepts exactly the codes pquerna/otp generates (Code) for the current step and one
// step either side, whatever the secret's shape the library accepts (lower case, without its
// padding, spaces around it), and nothing for a secret that is not base32.
func TestMatchIsTheLibrarysCodes(t *testing.T) {
	for i := range 200 {
		raw := make([]byte, 10+i%15)
		_, _ = rand.Read(raw)
		secret := base32.StdEncoding.EncodeToString(raw)
		switch i % 4 {
		case 1:
			secret = strings.ToLower(secret)
		case 2:
			secret = strings.TrimRight(secret, "=")
		case 3:
			secret = "  " + strings.ToLower(strings.TrimRight(secret, "=")) + " "
		}
		n, _ := rand.Int(rand.Reader, big.NewInt(4_000_000_000))
		now := time.Unix(n.Int64(), 0)
		for d := int64(-2); d <= 2; d++ {
			at := now.Add(time.Duration(d) * 30 * time.Second)
			code, err := totp.Code(secret, at)
			if err != nil {
				t.Fatalf("%q: %v", secret, err)
			}
			step, ok := totp.Match(secret, code, now)
			// another step of the five may share the code (one in a million): then it matches
			same := false
			for e := int64(-1); e <= 1; e++ {
				other, _ := totp.Code(secret, now.Add(time.Duration(e)*30*time.Second))
				same = same || other == code
			}
			if ok != same || (ok && d >= -1 && d <= 1 && step != at.Unix()/30) {
				t.Fatalf("%q at %d, offset %d: step %d %v", secret, now.Unix(), d, step, ok)
			}
		}
	}
	for _, bad := range []string{"not base32!", "GEZDGNBV1"} {
		if _, ok := totp.Match(bad, "000000", time.Unix(1_800_000_000, 0)); ok {
			t.Errorf("secret %q matched", bad)
		}
	}
}

// Match costs a handful of allocations (the secret decoded, the HMAC keyed once, one buffer):
// 9, 11 with the race detector; the library's code for each of the three steps cost 33.
func TestMatchAllocations(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	code, _ := totp.Code(rfcSecret, now)
	if n := allocs.Min(100, func() { totp.Match(rfcSecret, code, now) }); n > 11 {
		t.Fatalf("%v allocations per Match", n)
	} else {
		t.Logf("%v allocations per Match", n)
	}
}
