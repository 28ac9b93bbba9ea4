package store

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/redistest"
)

// Each kind of step a recovery commits runs no more commands inside step.lua than it needs: the
// dedupe's check and mark are one SET NX, an attempt reads the enrollment's block and counters
// in one HMGET, a send reads its counter once, an attempt writes its counters in one HSET and
// an accepted one clears no tries it did not find. (Before: 6, 5, 11, 9, 14 and 8; then 5, 4, 8,
// 7, 12 and 5.)
func TestStepScriptCommandsPerStep(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	s := newTestStore(t, rdb)
	if err := s.Preload(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	budget := map[string]int64{"start": 5, "pick": 4, "totp": 6, "send": 7, "code": 10, "rejected": 4}
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

// A step with every part at once: each value reaches the place the script reads it from (the
// plan's values are positional, so one out of place would land in another part's).
func TestStepWithEveryPartWritesEachWhereItBelongs(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	s := newTestStore(t, rdb)
	now := time.Now().Truncate(time.Millisecond)    // the keys' lifetimes are the server's clock's
	subject, chat := "c:slack:T1:U9", "slack:T1:U9" // no directory user: its counters are forgotten
	menu := []flows.Choice{{Label: "Reset my password"}}
	if err := s.KeepMenu(ctx, subject, chat, menu, time.Hour); err != nil {
		t.Fatal(err)
	}
	old := flows.Registered{Kind: flows.MethodTOTP, Secret: "OLD"}
	_, sealedOld, err := s.sealMethod(subject, old)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, enrolKey(subject), "m:totp", sealedOld).Err(); err != nil {
		t.Fatal(err)
	}
	sess := &flows.Session{ID: "S1", Version: 1, State: "reset_link", UserID: subject, CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
	lim := flows.Limits{FailMax: 5, FailWindow: 24 * time.Hour, TriesMax: 5, TriesWindow: time.Hour, BlockFor: 24 * time.Hour, SendMax: 3, SendWindow: 10 * time.Minute}
	update := flows.Registered{Kind: flows.MethodTOTP, Secret: "NEW", Stored: sealedOld}
	out, err := s.Commit(ctx, flows.Commit{Subject: subject, ChatKey: chat, IdemKey: "m1", Now: now, Session: sess,
		Attempt:   &flows.Attempt{Method: flows.MethodTOTP, Correct: true, TOTPStep: 123456, Limits: lim, Update: &update},
		CountSend: &lim, PutCode: &flows.StoredCode{MAC: "codemac", ExpiresAt: now.Add(5 * time.Minute)},
		Link:       &flows.LinkGrant{Purpose: flows.PurposeReset, MAC: "linkmac", ExpiresAt: now.Add(7 * time.Minute), IfFree: true},
		ForgetMenu: true, MenuWas: menu, Locale: &flows.PersonLocale{Lang: "de", TimeZone: "Europe/Berlin"}})
	if err != nil || out.Status != flows.Committed || out.Version != 1 {
		t.Fatalf("commit: %+v %v", out, err)
	}
	near := func(what string, got, want time.Duration) {
		t.Helper()
		if got < want-5*time.Second || got > want {
			t.Errorf("%s lives %v, want %v", what, got, want)
		}
	}
	if l, err := s.PersonLocale(ctx, subject); err != nil || l != (flows.PersonLocale{Lang: "de", TimeZone: "Europe/Berlin"}) {
		t.Errorf("locale %+v %v", l, err)
	}
	if n, _ := rdb.Exists(ctx, menuKey(subject, chat)).Result(); n != 0 {
		t.Error("the menu the step read was kept")
	}
	en, err := s.Get(ctx, subject)
	if err != nil || en.LastTOTPStep != 123456 || en.Sent.Count != 1 || en.Tries[flows.MethodTOTP].Count != 0 || en.Methods[flows.MethodTOTP].Secret != "NEW" {
		t.Errorf("enrollment: step %d, sent %+v, tries %+v, secret %q (%v)", en.LastTOTPStep, en.Sent, en.Tries, en.Methods[flows.MethodTOTP].Secret, err)
	}
	ttl, _ := rdb.PTTL(ctx, enrolKey(subject)).Result()
	near("the counters of nobody", ttl, forgetAfter)
	if v, _ := rdb.Get(ctx, codeKey(subject, chat)).Result(); v != "codemac|"+strconv.FormatInt(now.Add(5*time.Minute).UnixMilli(), 10) {
		t.Errorf("code %q", v)
	}
	ttl, _ = rdb.PTTL(ctx, codeKey(subject, chat)).Result()
	near("the code", ttl, 5*time.Minute+cleanupGrace)
	if v, _ := rdb.HGet(ctx, linksKey(subject), "reset").Result(); !strings.HasPrefix(v, "linkmac|"+chat+"|S1|1|") {
		t.Errorf("link %q", v)
	}
	ttl, _ = rdb.PTTL(ctx, linksKey(subject)).Result()
	near("the link", ttl, 7*time.Minute+cleanupGrace)
	snap, err := s.Load(ctx, subject, chat)
	if err != nil || snap.Session == nil || snap.Session.Version != 1 || snap.Session.ID != "S1" {
		t.Errorf("session %+v %v", snap.Session, err)
	}
	ttl, _ = rdb.PTTL(ctx, sessKey(subject, chat)).Result()
	near("the session", ttl, 15*time.Minute+cleanupGrace)
	if n, _ := rdb.Exists(ctx, idemKey(subject, "m1")).Result(); n != 1 {
		t.Error("the message was not marked handled")
	}

	// wrong answers with every part again, and limits that differ from each other, so that a
	// swapped pair of the attempt's arguments shows: two failures of at most 2 in 23 h block
	// for 25 h; tries are at most 3 in 1 h
	lim = flows.Limits{FailMax: 2, FailWindow: 23 * time.Hour, TriesMax: 3, TriesWindow: time.Hour, BlockFor: 25 * time.Hour, SendMax: 4, SendWindow: 10 * time.Minute}
	wrong := func(id string, at time.Time, version int64, ifFree bool) flows.Outcome {
		t.Helper()
		out, err := s.Commit(ctx, flows.Commit{Subject: subject, ChatKey: chat, IdemKey: id, Now: at, Session: sess, ExpectVersion: version,
			Attempt:   &flows.Attempt{Method: flows.MethodTOTP, Correct: false, TOTPStep: 123457, Limits: lim, Update: &update},
			CountSend: &lim, PutCode: &flows.StoredCode{MAC: "codemac2", ExpiresAt: at.Add(5 * time.Minute)},
			Link:       &flows.LinkGrant{Purpose: flows.PurposeReset, MAC: "linkmac2", ExpiresAt: at.Add(7 * time.Minute), IfFree: ifFree},
			ForgetMenu: true, MenuWas: menu, Locale: &flows.PersonLocale{Lang: "fr", TimeZone: "Europe/Paris"}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// a link given back only where none of its purpose is held: the reset link is held, so the
	// step is stale and nothing of it is written or counted
	if out := wrong("m1b", now, 1, true); out.Status != flows.Stale || out.Fails != 0 || out.Tries != 0 {
		t.Fatalf("a step giving back a link of a purpose held: %+v, want stale", out)
	}
	if n, _ := rdb.Exists(ctx, idemKey(subject, "m1b")).Result(); n != 0 {
		t.Error("a stale step left its message marked handled")
	}
	if out := wrong("m2", now, 1, false); out.Status != flows.Rejected || out.Fails != 1 || out.Tries != 1 || !out.BlockedUntil.IsZero() {
		t.Fatalf("first wrong answer: %+v, want rejected, 1 failure, 1 try, no block", out)
	}
	// past the tries' hour, within the failures' 23 hours: the tries start again, the failures
	// do not, and the second failure blocks for 25 hours
	later := now.Add(time.Hour + time.Minute)
	out = wrong("m3", later, 1, false)
	if out.Status != flows.Rejected || out.Fails != 2 || out.Tries != 1 || !out.BlockedUntil.Equal(later.Add(25*time.Hour)) {
		t.Fatalf("second wrong answer: %+v, want rejected, 2 failures, 1 try, blocked until %v", out, later.Add(25*time.Hour))
	}
	if l, err := s.PersonLocale(ctx, subject); err != nil || l.Lang != "fr" {
		t.Errorf("the locale of a rejected step: %+v %v", l, err)
	}
	en, err = s.Get(ctx, subject)
	if err != nil || en.Methods[flows.MethodTOTP].Secret != "NEW" || en.LastTOTPStep != 123456 || en.Sent.Count != 1 {
		t.Errorf("a rejected attempt wrote its parts: secret %q, step %d, sent %+v (%v)", en.Methods[flows.MethodTOTP].Secret, en.LastTOTPStep, en.Sent, err)
	}
}

// A step whose script fails after marking its message handled (here a key of the wrong type)
// leaves the message unmarked, so the platform's retry is handled once the key is right.
func TestFailedStepLeavesItsMessageUnhandled(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	s := newTestStore(t, rdb)
	now := time.Now().Truncate(time.Millisecond)
	subject, chat := "u1", "slack:T1:U1"
	if err := rdb.Set(ctx, enrolKey(subject), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	lim := flows.Limits{FailMax: 5, FailWindow: time.Hour, TriesMax: 5, TriesWindow: time.Hour, BlockFor: time.Hour}
	commit := flows.Commit{Subject: subject, ChatKey: chat, IdemKey: "m1", Now: now,
		Attempt: &flows.Attempt{Method: flows.MethodTOTP, Correct: false, Limits: lim}}
	if _, err := s.Commit(ctx, commit); err == nil {
		t.Fatal("a step over a damaged key committed")
	}
	if n, _ := rdb.Exists(ctx, idemKey(subject, "m1")).Result(); n != 0 {
		t.Fatal("the failed step left its message marked handled")
	}
	rdb.Del(ctx, enrolKey(subject))
	if out, err := s.Commit(ctx, commit); err != nil || out.Status != flows.Rejected {
		t.Fatalf("the retry: %+v %v, want it counted", out, err)
	}
}

// step.lua's answer is one string; a malformed one is an error, never a made-up outcome.
func TestParseStepReply(t *testing.T) {
	for _, c := range []struct {
		in     string
		status string
		out    flows.Outcome
		ok     bool
	}{
		{"ok 7", "ok", flows.Outcome{Version: 7}, true},
		{"dup 0", "dup", flows.Outcome{}, true},
		{"blocked 3 1764644400000", "blocked", flows.Outcome{Version: 3, BlockedUntil: time.UnixMilli(1764644400000)}, true},
		{"rejected 3 0 2 1", "rejected", flows.Outcome{Version: 3, Fails: 2, Tries: 1}, true},
		{"ok", "", flows.Outcome{}, false},
		{"ok x", "", flows.Outcome{}, false},
		{"rejected 3 0 2", "", flows.Outcome{}, false},
		{"rejected 3 0 2 1 9", "", flows.Outcome{}, false},
		{"ok 7 ", "", flows.Outcome{}, false},
		{"", "", flows.Outcome{}, false},
	} {
		status, out, ok := parseStepReply(c.in)
		if ok != c.ok || (ok && (status != c.status || out != c.out)) {
			t.Errorf("%q: %q %+v %v, want %q %+v %v", c.in, status, out, ok, c.status, c.out, c.ok)
		}
	}
}

// An attempt is counted whatever it meets after it was counted: a pending code's key of the
// wrong type or a stored TOTP step that is no number refuse the attempt (the tries and the
// failures counted), never fail the script between counting it and writing the count.
func TestAttemptCountedOverDamagedValues(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	s := newTestStore(t, rdb)
	now := time.Now().Truncate(time.Millisecond)
	lim := flows.Limits{FailMax: 5, FailWindow: time.Hour, TriesMax: 5, TriesWindow: time.Hour, BlockFor: time.Hour}
	for i, c := range []struct {
		name   string
		damage func(subject, chat string) error
		a      flows.Attempt
	}{
		{"a code key of the wrong type", func(subject, chat string) error {
			return rdb.HSet(ctx, codeKey(subject, chat), "x", "1").Err()
		}, flows.Attempt{Method: flows.MethodEmail, Correct: true, CodeMAC: "mac", Limits: lim}},
		{"a TOTP step that is no number", func(subject, _ string) error {
			return rdb.HSet(ctx, enrolKey(subject), "totp_step", "garbage").Err()
		}, flows.Attempt{Method: flows.MethodTOTP, Correct: true, TOTPStep: 12345, Limits: lim}},
	} {
		subject, chat := "u"+strconv.Itoa(i), "slack:T1:U1"
		if err := c.damage(subject, chat); err != nil {
			t.Fatal(err)
		}
		out, err := s.Commit(ctx, flows.Commit{Subject: subject, ChatKey: chat, IdemKey: "m" + strconv.Itoa(i), Now: now,
			Attempt: &c.a, KeepSession: true})
		if err != nil || out.Status != flows.Rejected {
			t.Fatalf("%s: %+v %v, want the attempt refused", c.name, out, err)
		}
		got, err := rdb.HMGet(ctx, enrolKey(subject), "c:try:"+string(c.a.Method), "c:fail").Result()
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range got {
			if s, _ := v.(string); !strings.HasPrefix(s, "1:") {
				t.Fatalf("%s: counter %d is %v, want the attempt counted", c.name, j, v)
			}
		}
	}
}
