package ad_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph/ad/adtest"
	"github.com/resetbot/resetbot/store/storetest"
)

// counted counts the polls that reached the directory.
type counted struct {
	flows.LockoutSource
	n atomic.Int32
}

func (c *counted) LockedOutSince(ctx context.Context, since time.Time) ([]flows.Account, error) {
	c.n.Add(1)
	return c.LockoutSource.LockedOutSince(ctx, since)
}

func alerts(h *storetest.Harness) []flows.Reply {
	var out []flows.Reply
	for _, r := range h.Notes.Replies {
		if r.MsgID == flows.MsgLockedAlert {
			out = append(out, r)
		}
	}
	return out
}

func TestLockoutNoticedAndAnnouncedOnceByTwoPollers(t *testing.T) {
	dc := adtest.Get(t)
	h, d, _ := adBot(t, dc, nil)
	// the injected clock follows the DC's: the poller asks AD for lockouts of the last minutes.
	// It moves before the person registers: registered at the fixed start and verified at the
	// wall clock's time, their methods would be due for reconfirmation once that start is 180
	// days past.
	h.Clock.Advance(time.Since(h.Clock.Now()))
	h.Rebuild()
	ctx := context.Background()
	u, id, secret := registered(t, h, dc, d)
	chat := storetest.Chat("U7")
	if err := h.Store.Pin(ctx, chat.Key(), id); err != nil {
		t.Fatal(err)
	}
	src := &counted{LockoutSource: d}
	a := flows.NewLockoutWatch(h.Engine, src, h.Store, h.Store, "replica-a")
	b := flows.NewLockoutWatch(h.Engine, src, h.Store, h.Store, "replica-b")

	pollBoth := func() int {
		var wg sync.WaitGroup
		var sent atomic.Int32
		for _, w := range []*flows.LockoutWatch{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := w.Poll(ctx)
				if err != nil {
					t.Error(err)
				}
				sent.Add(int32(n))
			}()
		}
		wg.Wait()
		return int(sent.Load())
	}
	if n := pollBoth(); n != 0 || len(alerts(h)) != 0 {
		t.Fatalf("alerts before any lockout: %d", n)
	}
	dc.Lock(t, u)
	before := src.n.Load()
	if n := pollBoth(); n != 1 {
		t.Fatalf("alerts: %d, want 1", n)
	}
	if polls := src.n.Load() - before; polls != 1 {
		t.Fatalf("%d pollers asked AD; the lease lets one", polls)
	}
	for i := 0; i < 3; i++ {
		pollBoth()
	}
	got := alerts(h)
	if len(got) != 1 || len(got[0].Choices) != 1 || got[0].Choices[0].Label != "Unlock it now" || h.Notes.To[0].Key() != chat.Key() {
		t.Fatalf("alerts: %+v to %v", got, h.Notes.To)
	}
	// while the lease is live, no third replica polls
	if ok, _ := h.Store.Lease(ctx, "lockout-poller", "replica-c", time.Minute); ok {
		t.Fatal("a third replica took a live lease")
	}

	// "Unlock it now" starts the person's own verification, then unlocks
	rs := h.Click(chat.UserID, u.Mail, got[0].Choices[0].ID)
	if !storetest.Has(rs, flows.MsgChooseMethod) {
		t.Fatalf("button: %s", storetest.Render(rs))
	}
	h.Say(chat.UserID, u.Mail, "cancel")
	rs = prove(t, h, chat.UserID, u.Mail, secret, "I'm locked out")
	if !storetest.Has(rs, flows.MsgUnlocked) {
		t.Fatalf("unlock: %s", storetest.Render(rs))
	}
}
