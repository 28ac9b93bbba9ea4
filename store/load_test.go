package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/allocs"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
)

// A step's read (one pipeline) brings back everything a chat identity has in the store, and
// LoadDelivered claims the platform's delivery in it: once, for an hour, with the key FirstSeen
// uses, while Load claims nothing. An absent session, code, menu, pin or new password reads as
// none.
func TestLoadReadsTheSnapshotAndClaimsTheDeliveryOnce(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			rdb := open(t)
			s := store.New(rdb, newCrypto(t))
			ctx := context.Background()
			const chat = "p:t:c1"
			empty, err := s.LoadDelivered(ctx, "u1", chat, "evt:0")
			if err != nil || empty.Repeated || empty.Session != nil || empty.Code.MAC != "" || len(empty.Menu) != 0 ||
				empty.Pinned != "" || empty.NewPassword != "" || len(empty.Enrollment.Methods) != 0 {
				t.Fatalf("nothing stored: %+v %v", empty, err)
			}
			if err := s.Register(ctx, "u1", flows.Registered{Kind: flows.MethodEmail, Address: "a@example.com", RegisteredAt: t0}, 0); err != nil {
				t.Fatal(err)
			}
			sess := session("s1", t0)
			sess.Version = 1
			code := flows.StoredCode{MAC: "mac1", ExpiresAt: t0.Add(10 * time.Minute).Truncate(time.Millisecond)}
			if out, err := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, Now: t0, Session: sess, PutCode: &code}); err != nil || out.Status != flows.Committed {
				t.Fatalf("commit: %+v %v", out, err)
			}
			if err := s.KeepMenu(ctx, "u1", chat, []flows.Choice{{Label: "a"}, {Label: "b"}}, time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := s.Pin(ctx, chat, "u1"); err != nil {
				t.Fatal(err)
			}
			if err := s.KeepNewPassword(ctx, "u1", "rec1", time.Minute); err != nil {
				t.Fatal(err)
			}
			check := func(snap flows.Snapshot, err error) {
				t.Helper()
				if err != nil || snap.Repeated {
					t.Fatalf("load: %+v %v", snap, err)
				}
				if snap.Session == nil || snap.Session.ID != "s1" || snap.Session.Version != 1 {
					t.Fatalf("session %+v", snap.Session)
				}
				if snap.Code.MAC != code.MAC || !snap.Code.ExpiresAt.Equal(code.ExpiresAt) {
					t.Fatalf("code %+v, want %+v", snap.Code, code)
				}
				if len(snap.Menu) != 2 || snap.Menu[1].Label != "b" || snap.Pinned != "u1" || snap.NewPassword != "rec1" {
					t.Fatalf("menu %+v pinned %q new password %q", snap.Menu, snap.Pinned, snap.NewPassword)
				}
				if m := snap.Enrollment.Methods[flows.MethodEmail]; m.Address != "a@example.com" {
					t.Fatalf("enrollment %+v", snap.Enrollment)
				}
			}
			check(s.LoadDelivered(ctx, "u1", chat, "evt:1"))
			if snap, err := s.LoadDelivered(ctx, "u1", chat, "evt:1"); err != nil || !snap.Repeated || snap.Session != nil {
				t.Fatalf("the same delivery again: %+v %v", snap, err)
			}
			if first, err := s.FirstSeen(ctx, "evt:1", flows.DeliveryTTL); err != nil || first {
				t.Fatalf("FirstSeen after the claim: %v %v", first, err)
			}
			if ttl := rdb.TTL(ctx, "seen:evt:1").Val(); ttl <= flows.DeliveryTTL-time.Minute || ttl > flows.DeliveryTTL {
				t.Fatalf("the claim lasts %v", ttl)
			}
			check(s.Load(ctx, "u1", chat))
			check(s.Load(ctx, "u1", chat)) // Load claims nothing, whatever it is called
			if first, err := s.FirstSeen(ctx, "evt:2", flows.DeliveryTTL); err != nil || !first {
				t.Fatalf("an unclaimed delivery: %v %v", first, err)
			}
		})
	}
}

// maxLoadAllocs bounds the allocations of one LoadDelivered of a person with a session, two
// methods and a pending code (the bot's hottest read, about five per recovery): the pipeline's
// keys, arguments and commands, what the answers are read into and their decoding. It was 77
// with go-redis's command helpers and a pipeline object each time, 30 after.
const maxLoadAllocs = 30

func TestLoadAllocations(t *testing.T) {
	s := store.New(redistest.Start(t).Client(), newCrypto(t))
	ctx := context.Background()
	const chat = "p:t:c1"
	for _, m := range []flows.Registered{{Kind: flows.MethodEmail, Address: "a@example.com", RegisteredAt: t0},
		{Kind: flows.MethodTOTP, Secret: "JBSWY3DPEHPK3PXP", RegisteredAt: t0}} {
		if err := s.Register(ctx, "u1", m, 0); err != nil {
			t.Fatal(err)
		}
	}
	sess := session("s1", t0)
	sess.Version = 1
	code := flows.StoredCode{MAC: "mac1", ExpiresAt: t0.Add(10 * time.Minute)}
	if out, err := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, Now: t0, Session: sess, PutCode: &code}); err != nil || out.Status != flows.Committed {
		t.Fatalf("commit: %+v %v", out, err)
	}
	ids := make([]string, 300) // a delivery of its own for each read (allocs.Min makes up to 256)
	for i := range ids {
		ids[i] = "evt:" + strconv.Itoa(i)
	}
	load := func() {
		id := ids[0]
		ids = ids[1:]
		snap, err := s.LoadDelivered(ctx, "u1", chat, id)
		if err != nil || snap.Session == nil || len(snap.Enrollment.Methods) != 2 {
			t.Fatalf("load: %+v %v", snap, err)
		}
	}
	load() // the pipeline object and the connection made
	boundAllocs(t, "LoadDelivered", maxLoadAllocs, load)
}

// boundAllocs fails t when f, called once already, allocates more than max (and what the race
// detector adds) per call, and logs what it allocates.
func boundAllocs(t *testing.T, what string, max int, f func()) {
	t.Helper()
	if n := allocs.Min(50, f); n > float64(max+raceAllocs) {
		t.Fatalf("%.0f allocations per %s, want at most %d", n, what, max+raceAllocs)
	} else {
		t.Logf("%.0f allocations per %s", n, what)
	}
}

// maxCommitAllocs bounds the allocations of one Commit that saves a session and marks its
// message handled (every step commits once): the plan with step.lua's keys and arguments, the
// session's JSON, the command and its answer. It was 20 with a slice of keys, a slice of
// arguments, an answer read as values and json.Marshal for the session (13 once step.lua
// answered one string); 7 with the keys, the arguments and the command in the plan, the answer
// read as a string and the session written by marshalSession.
const maxCommitAllocs = 7

func TestCommitAllocations(t *testing.T) {
	s := store.New(redistest.Start(t).Client(), newCrypto(t))
	ctx := context.Background()
	const chat = "p:t:c1"
	idems := make([]string, 300) // a message of its own for each commit (allocs.Min makes up to 256)
	for i := range idems {
		idems[i] = "m" + strconv.Itoa(i)
	}
	sess := session("s1", t0)
	var version int64
	commit := func() {
		idem := idems[0]
		idems = idems[1:]
		sess.Version = version + 1
		out, err := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, IdemKey: idem, Now: t0, ExpectVersion: version, Session: sess})
		if err != nil || out.Status != flows.Committed {
			t.Fatalf("commit: %+v %v", out, err)
		}
		version = out.Version
	}
	commit() // the connection made
	boundAllocs(t, "Commit", maxCommitAllocs, commit)
}

// maxPeekAllocs bounds the allocations of one Peek of a live link (every page request reads
// its link so): peek.lua's keys and arguments, the command, its answer and the link's and
// session's decoding. It was 22 with slices of keys and arguments each boxed and an answer
// read as values, 11 after (the link record read without strings.Split).
const maxPeekAllocs = 11

func TestPeekAllocations(t *testing.T) {
	s := store.New(redistest.Start(t).Client(), newCrypto(t))
	ctx := context.Background()
	const chat = "p:t:c1"
	sess := session("s1", t0)
	sess.Version = 1
	if out, err := s.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: chat, Now: t0, Session: sess,
		Link: &flows.LinkGrant{Purpose: flows.PurposeReset, MAC: "mac1", ExpiresAt: t0.Add(10 * time.Minute)}}); err != nil || out.Status != flows.Committed {
		t.Fatalf("commit: %+v %v", out, err)
	}
	peek := func() {
		rec, got, err := s.Peek(ctx, "u1", flows.PurposeReset, "mac1")
		if err != nil || got == nil || got.ID != "s1" || rec.ChatKey != chat {
			t.Fatalf("peek: %+v %+v %v", rec, got, err)
		}
	}
	peek() // the connection made
	boundAllocs(t, "Peek", maxPeekAllocs, peek)
}

// A MAC costs its message's buffer (with room for the sum and its hex) and the hex string: the
// sum was encoded by hex.EncodeToString before, into a buffer of its own (three in all).
func TestMACAllocations(t *testing.T) {
	c := newCrypto(t)
	parts := []string{"code", "email", "a11ce-0001", "sess-1", "123456"}
	_ = c.MAC(parts...)
	if n := allocs.Min(100, func() { _ = c.MAC(parts...) }); n > 2+raceAllocs {
		t.Fatalf("%v allocations per MAC", n)
	}
}
