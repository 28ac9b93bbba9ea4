package store

import (
	"context"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/redistest"
)

// Each kind of step a recovery commits runs no more commands inside step.lua than it needs: the
// dedupe's check and mark are one SET NX, an attempt reads the enrollment's block and counters
// in one HMGET, a send reads its counter once. (Before: 6, 5, 11, 9, 14 and 8.)
func TestStepScriptCommandsPerStep(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	c, err := NewCrypto(Keys{SealKeys: map[string][]byte{"k1": make([]byte, 32)}, CurrentID: "k1", MACKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	s := New(rdb, c)
	if err := s.Preload(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	budget := map[string]int64{"start": 5, "pick": 4, "totp": 8, "send": 7, "code": 12, "rejected": 5}
	for i, kind := range []string{"start", "pick", "totp", "send", "code", "rejected"} {
		commit := stepCommits(benchSubject(i), now)[kind]
		if a := commit.Attempt; a != nil && a.CodeMAC != "" {
			if err := rdb.Set(ctx, codeKey(commit.Subject, commit.ChatKey), a.CodeMAC+"|1795597800000", time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		}
		before := commandStats(t, rdb)
		out, err := s.Commit(ctx, commit)
		if err != nil || (out.Status != flows.Committed && kind != "rejected") || (kind == "rejected" && out.Status != flows.Rejected) {
			t.Fatalf("%s: %+v %v", kind, out, err)
		}
		var inside int64
		for name, st := range commandStats(t, rdb) {
			if name != "evalsha" && name != "info" {
				inside += st[0] - before[name][0]
			}
		}
		if inside != budget[kind] {
			t.Errorf("%s ran %d commands in step.lua, want %d", kind, inside, budget[kind])
		}
	}
}
