package flows_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/resetbot/resetbot/store"

	"github.com/resetbot/resetbot/flows"
)

// Two (here eight) POSTs of one reset link at the same moment: the link is consumed by one of
// them, so the directory is asked to set a password exactly once and every other POST is told
// the link is gone.
func TestConcurrentPostsOfOneResetLinkSetThePasswordOnce(t *testing.T) {
	h, secret := newAlice(t)
	link := proveBoth(t, h, "U1", secret)
	h.Dir.TakeCalls()
	ctx := context.Background()
	// every POST has read the link before any consumes it: the widest window there is
	const posts = 8
	links := &peekedTogether{Store: h.Store}
	links.wg.Add(posts)
	deps := h.Deps
	deps.Links = links
	eng := flows.New(deps, h.Opts)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, gone := 0, 0
	for i := 0; i < posts; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := fmt.Sprintf("Granite-Orchid-%d-Lantern", i)
			err := eng.ResetPassword(ctx, token(link), pw, pw)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case err == flows.ErrLinkGone:
				gone++
			default:
				t.Errorf("POST %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	eng.Drain()
	sets := 0
	for _, c := range h.Dir.TakeCalls() {
		if c == "SetPassword" {
			sets++
		}
	}
	if wins != 1 || gone != posts-1 || sets != 1 {
		t.Fatalf("%d POSTs succeeded, %d were told the link is gone, %d passwords set; want 1, 7, 1", wins, gone, sets)
	}
}

// peekedTogether holds every Peek until all the expected ones have read the link.
type peekedTogether struct {
	*store.Store
	wg sync.WaitGroup
}

func (p *peekedTogether) Peek(ctx context.Context, userID string, pu flows.Purpose, mac string) (flows.LinkRecord, *flows.Session, error) {
	rec, sess, err := p.Store.Peek(ctx, userID, pu, mac)
	p.wg.Done()
	p.wg.Wait()
	return rec, sess, err
}
