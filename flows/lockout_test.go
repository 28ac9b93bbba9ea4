package flows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// scripted lists the lockouts a test sets.
type scripted struct{ locked []flows.Account }

func (s *scripted) LockedOutSince(_ context.Context, since time.Time) ([]flows.Account, error) {
	var out []flows.Account
	for _, a := range s.locked {
		if !a.LockedAt.Before(since) {
			out = append(out, a)
		}
	}
	return out, nil
}

func TestLockoutAlertsAtMostPerDayAndOnlyToPinnedChats(t *testing.T) {
	h := storetest.New(t)
	ctx := context.Background()
	alice := storetest.Alice
	for _, chat := range []string{"slack:T1:U1", "teams:t1:29:abc"} {
		if err := h.Store.Pin(ctx, chat, alice.ID); err != nil {
			t.Fatal(err)
		}
	}
	src := &scripted{}
	w := flows.NewLockoutWatch(h.Engine, src, h.Store, h.Store, "r1")
	w.PerDay = 2
	lock := func(a flows.Account) {
		h.Clock.Advance(time.Minute)
		a.Locked, a.LockedAt = true, h.Clock.Now()
		src.locked = append(src.locked, a)
	}
	stranger := flows.Account{ID: "never-pinned"}
	sent := 0
	for i := 0; i < 4; i++ {
		lock(alice)
		lock(stranger)
		n, err := w.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	if sent != 2 {
		t.Fatalf("alerts in a day: %d, want 2", sent)
	}
	if len(h.Notes.Replies) != 4 { // two alerts, each to both pinned chats
		t.Fatalf("notices: %d", len(h.Notes.Replies))
	}
	seen := map[string]bool{}
	for _, c := range h.Notes.To {
		seen[c.Key()] = true
	}
	if !seen["slack:T1:U1"] || !seen["teams:t1:29:abc"] {
		t.Fatalf("chats: %v", h.Notes.To)
	}
	// the next day: one more lockout, one more alert; the same lockout is never announced twice
	h.Clock.Advance(24 * time.Hour)
	lock(alice)
	if n, _ := w.Poll(ctx); n != 1 {
		t.Fatalf("next day: %d", n)
	}
	if n, _ := w.Poll(ctx); n != 0 {
		t.Fatalf("the same lockout again: %d", n)
	}
	if w.Alerted.Load() != 3 {
		t.Fatalf("counter %d", w.Alerted.Load())
	}
}

// cancelling stops a context at the first notice: a shutdown in the middle of a batch.
type cancelling struct {
	flows.Notifier
	cancel context.CancelFunc
}

func (c cancelling) Notify(ctx context.Context, chat flows.ChatRef, r []flows.Reply) error {
	c.cancel()
	return c.Notifier.Notify(ctx, chat, r)
}

// A replica that shuts down in the middle of a batch hands back the users it claimed but did
// not reach, so another replica reminds them at once rather than after the lease.
func TestShutdownReleasesReminderClaimsAndTheLockoutLease(t *testing.T) {
	h := storetest.New(t)
	roster := campaign(t, h, 0, 12, 0, 0)
	ctx, cancel := context.WithCancel(context.Background())
	h.Deps.Notifier = cancelling{Notifier: h.Notes, cancel: cancel}
	h.Rebuild()
	r := flows.NewReminders(h.Engine, h.Store, h.Dir, roster)
	if n, err := r.Plan(context.Background()); err != nil || n != 12 {
		t.Fatalf("plan %d %v", n, err)
	}
	r.Batch = 10
	n, err := r.Step(ctx)
	if err != nil || n != 1 {
		t.Fatalf("step during shutdown handled %d (%v), want 1", n, err)
	}
	// the 9 unreached and the 2 never claimed are due now: another replica claims all 11
	ids, err := h.Store.Claim(context.Background(), flows.ReminderQueueName, h.Clock.Now(), 50, time.Minute)
	if err != nil || len(ids) != 11 {
		t.Fatalf("claimable after the shutdown: %d %v", len(ids), err)
	}

	// the lockout poller hands its lease back when it stops
	wctx, stop := context.WithCancel(context.Background())
	w := flows.NewLockoutWatch(h.Engine, &scripted{}, h.Store, h.Store, "leaving")
	ran := make(chan struct{})
	go func() {
		w.Run(wctx, func(ctx context.Context, _ time.Duration) error { stop(); return context.Canceled })
		close(ran)
	}()
	<-ran
	if ok, err := h.Store.Lease(context.Background(), "lockout-poller", "next", time.Minute); err != nil || !ok {
		t.Fatalf("the next replica could not take the lease at once: %v %v", ok, err)
	}
}

// The alert offers "Unlock it now" only to who may use self-service, as a chat step judges it
// (Engine.Ineligible after a look-up): the others are told of the lockout and where to go,
// without a button the bot would then refuse.
func TestLockoutAlertOffersUnlockOnlyToWhoMaySelfServe(t *testing.T) {
	h := storetest.New(t)
	ctx := context.Background()
	alice := storetest.Alice
	admin := flows.Account{ID: "ad4117", UPN: "root@contoso.test", Mail: "root@contoso.test", Enabled: true, Privileged: true, Groups: []string{storetest.Group}}
	outside := flows.Account{ID: "0u751de", UPN: "out@contoso.test", Mail: "out@contoso.test", Enabled: true}
	gone := flows.Account{ID: "g0ne"} // locked in AD, no longer found
	src := &scripted{}
	for i, a := range []flows.Account{alice, admin, outside, gone} {
		if a.UPN != "" {
			h.Dir.Add(a)
		}
		if err := h.Store.Pin(ctx, "slack:T1:U"+a.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		a.Locked, a.LockedAt = true, h.Clock.Now().Add(time.Duration(i)*time.Second)
		src.locked = append(src.locked, a)
	}
	h.Clock.Advance(time.Minute)
	w := flows.NewLockoutWatch(h.Engine, src, h.Store, h.Store, "r1")
	if n, err := w.Poll(ctx); err != nil || n != 4 {
		t.Fatalf("alerts %d: %v", n, err)
	}
	for i, r := range h.Notes.Replies {
		who := h.Notes.To[i].UserID
		if who == "U"+alice.ID {
			if r.MsgID != flows.MsgLockedAlert || len(r.Choices) != 1 {
				t.Errorf("alice: %+v", r)
			}
			continue
		}
		if r.MsgID != flows.MsgLockedAlertOnly || len(r.Choices) != 0 || !strings.Contains(r.Text, h.Policy.HelpdeskURL) {
			t.Errorf("%s: %+v", who, r)
		}
	}
	if len(h.Notes.Replies) != 4 {
		t.Fatalf("notices: %d", len(h.Notes.Replies))
	}
}
