package store_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/resetbot/resetbot/store"
)

// New MACs use the current key; MACs lists the current key's first, then each old key's, and
// a MAC under a key that is no longer listed is not among them.
func TestMACKeyRotationCandidates(t *testing.T) {
	a, b, seal := key(), key(), key()
	ca, _ := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k": seal}, CurrentID: "k", MACKey: a})
	cb, err := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k": seal}, CurrentID: "k", MACKey: b, OldMACKeys: [][]byte{a}})
	if err != nil {
		t.Fatal(err)
	}
	underA, underB := ca.MAC("code", "x"), cb.MAC("code", "x")
	if underA == underB {
		t.Fatal("two keys give the same MAC")
	}
	if got := cb.MACs("code", "x"); len(got) != 2 || got[0] != underB || got[1] != underA {
		t.Fatalf("candidates %v, want [B's, A's]", got)
	}
	only, _ := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k": seal}, CurrentID: "k", MACKey: b})
	if got := only.MACs("code", "x"); len(got) != 1 || got[0] != underB {
		t.Fatalf("without old keys: %v", got)
	}
}

func TestOldMACKeysValidated(t *testing.T) {
	cur := key()
	err := store.Keys{SealKeys: map[string][]byte{"k": key()}, CurrentID: "k", MACKey: cur,
		OldMACKeys: [][]byte{[]byte("short"), append([]byte(nil), cur...)}}.Validate()
	if err == nil {
		t.Fatal("bad old MAC keys accepted")
	}
	for _, want := range []string{"old MAC key 1 must be at least 32 bytes", "old MAC key 2 is the current MAC key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

// The candidates of a check without old keys cost one MAC, as before rotation existed.
func BenchmarkMACs(b *testing.B) {
	parts := []string{"code", "email", "a11ce-0001", "sess-1", "123456"}
	none, _ := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k": key()}, CurrentID: "k", MACKey: key()})
	one, _ := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k": key()}, CurrentID: "k", MACKey: key(), OldMACKeys: [][]byte{key()}})
	b.Run("MAC", func(b *testing.B) {
		for range b.N {
			_ = none.MAC(parts...)
		}
	})
	b.Run("MACs/no-old-keys", func(b *testing.B) {
		for range b.N {
			_ = none.MACs(parts...)
		}
	})
	b.Run("MACs/one-old-key", func(b *testing.B) {
		for range b.N {
			_ = one.MACs(parts...)
		}
	})
}

// A MAC is HMAC-SHA256 over each part's length in decimal, a colon and the part, in hex: the
// same as writing them with fmt one by one (what MAC did before it reused HMAC states), for
// parts of every length, empty ones and none, also when many are made at once.
func TestMACIsLengthPrefixedHMAC(t *testing.T) {
	k, seal := key(), key()
	c, err := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k": seal}, CurrentID: "k", MACKey: k, OldMACKeys: [][]byte{seal}})
	if err != nil {
		t.Fatal(err)
	}
	ref := func(key []byte, parts []string) string {
		h := hmac.New(sha256.New, key)
		for _, p := range parts {
			fmt.Fprintf(h, "%d:", len(p))
			h.Write([]byte(p))
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	cases := [][]string{nil, {""}, {"", ""}, {"code", "x"}, {"12:ab", "c"}, {"12", ":abc"}, {strings.Repeat("é", 700), "1", "22", strings.Repeat("z", 12345)}}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 50; r++ {
				for _, parts := range cases {
					if got, want := c.MAC(parts...), ref(k, parts); got != want {
						t.Errorf("MAC(%.40q) = %s, want %s", parts, got, want)
						return
					}
					if got := c.MACs(parts...); len(got) != 2 || got[0] != ref(k, parts) || got[1] != ref(seal, parts) {
						t.Errorf("MACs(%.40q) = %v", parts, got)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if c.MAC("12:ab", "c") == c.MAC("12", ":abc") {
		t.Fatal("parts ran into each other")
	}
}
