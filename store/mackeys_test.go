package store_test

import (
	"strings"
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
