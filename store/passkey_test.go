package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store"
)

// An accepted attempt's Update (a passkey's new signature count) replaces the record it was
// made from, and nothing newer: a key registered between the read and the step is kept.
func TestAttemptUpdateKeepsANewerRecord(t *testing.T) {
	for name, client := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := store.New(client(t), newCrypto(t))
			if err := st.Preload(ctx); err != nil {
				t.Fatal(err)
			}
			one := flows.Registered{Kind: flows.MethodPasskey, Handle: []byte("h"), Passkeys: []flows.Passkey{{ID: []byte("k1"), Name: "YubiKey", SignCount: 1}}}
			if err := st.Register(ctx, "u1", one, 0); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			commit := func(read flows.Registered, count uint32) {
				t.Helper()
				up := read
				up.Passkeys = []flows.Passkey{read.Passkeys[0]}
				up.Passkeys[0].SignCount = count
				_, err := st.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: "c", Now: now, KeepSession: true,
					Attempt: &flows.Attempt{Method: flows.MethodPasskey, Correct: true, Limits: flows.DefaultLimits(), Update: &up}})
				if err != nil {
					t.Fatal(err)
				}
			}
			en, _ := st.Get(ctx, "u1")
			read := en.Methods[flows.MethodPasskey]
			commit(read, 2) // unchanged since read: written
			en, _ = st.Get(ctx, "u1")
			if c := en.Methods[flows.MethodPasskey].Passkeys[0].SignCount; c != 2 {
				t.Fatalf("count %d", c)
			}
			read = en.Methods[flows.MethodPasskey]
			two := read
			two.Passkeys = append(two.Passkeys, flows.Passkey{ID: []byte("k2"), Name: "iPhone"})
			if err := st.Register(ctx, "u1", two, 0); err != nil {
				t.Fatal(err)
			}
			commit(read, 3) // made from the record before the second key: not written
			en, _ = st.Get(ctx, "u1")
			if ks := en.Methods[flows.MethodPasskey].Passkeys; len(ks) != 2 {
				t.Fatalf("the key added meanwhile was lost: %+v", ks)
			}
		})
	}
}
