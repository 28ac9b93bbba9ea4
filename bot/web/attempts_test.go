package web_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/storetest"
)

// 50 wrong codes at once on each page path (a new authenticator app, a new email address, and
// reconfirming each registered one): every judgement is counted in the user's own atomic
// counters, as in chat, so at most the limit is judged before the block, the right code is
// refused afterwards, and every judgement is audited.
func TestConcurrentWrongCodesOnThePagesStopAtTheLimit(t *testing.T) {
	for _, c := range []struct {
		name      string
		reconfirm bool
		begin     url.Values
	}{
		{"register totp", false, url.Values{"method": {"totp"}}},
		{"register email", false, url.Values{"method": {"email"}, "address": {"alice.private@mail.test"}}},
		{"reconfirm totp", true, url.Values{"method": {"totp"}}},
		{"reconfirm email", true, url.Values{"method": {"email"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t)
			ctx := context.Background()
			var secret string
			path := "/enrol/begin"
			if c.reconfirm {
				secret = e.h.Enrol(e.alice.ID)
				path = "/enrol/reconfirm"
			}
			e.h.Clock.Advance(time.Minute)
			b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
			b.Submit(path, c.begin)
			kind := flows.MethodKind(c.begin.Get("method"))
			form := b.Hidden()
			target := b.Abs("/enrol/confirm")
			const n = 50
			statuses := make(chan int, n)
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					f := url.Values{"csrf": form["csrf"], "code": {"000000"}}
					resp, err := b.Client.PostForm(target, f)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					statuses <- resp.StatusCode
				}()
			}
			wg.Wait()
			close(statuses)
			count := map[int]int{}
			for s := range statuses {
				count[s]++
			}
			lim := e.h.Policy.Limits
			// a request that finds nothing pending any more (an earlier one ended it) is refused
			// without a judgement
			if count[http.StatusUnprocessableEntity] >= lim.FailMax || count[http.StatusTooManyRequests] < 1 ||
				count[http.StatusUnprocessableEntity]+count[http.StatusTooManyRequests]+count[http.StatusBadRequest] != n {
				t.Fatalf("statuses %v: at most %d wrong codes may be judged before the block", count, lim.FailMax-1)
			}
			en, err := e.h.Store.Get(ctx, e.alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !flows.IsBlocked(en, e.h.Clock.Now()) || en.Tries[kind].Count > lim.TriesMax || en.Fails.Count > lim.FailMax {
				t.Fatalf("counters after %d wrong codes: blocked until %v, tries %d, fails %d", n, en.BlockedUntil, en.Tries[kind].Count, en.Fails.Count)
			}
			// the right code now is refused, after starting over: the block holds on the pages
			b.Submit(path, c.begin)
			var code string
			switch {
			case kind == flows.MethodTOTP && c.reconfirm:
				code, _ = totp.Code(secret, e.h.Clock.Now())
			case kind == flows.MethodTOTP:
				code, _ = totp.Code(b.TOTPSecret(), e.h.Clock.Now())
			default:
				code = storetest.CodeFrom(t, e.h.Mail.Last())
			}
			b.Submit("/enrol/confirm", url.Values{"code": {code}})
			if b.Status != http.StatusTooManyRequests {
				t.Fatalf("the right code after the block: %d\n%s", b.Status, b.Last)
			}
			after, _ := e.h.Store.Get(ctx, e.alice.ID)
			if !c.reconfirm && after.Has(kind) {
				t.Fatal("registered while blocked")
			}
			// every judgement is audited
			e.h.Audit.Close()
			evs, err := store.Events(ctx, e.h.RDB)
			if err != nil {
				t.Fatal(err)
			}
			action := "register"
			if c.reconfirm {
				action = "reconfirm"
			}
			judged, want := 0, count[http.StatusUnprocessableEntity]+count[http.StatusTooManyRequests]+1
			for _, ev := range evs {
				if ev.Action == action && ev.Reason == string(kind) && (ev.Outcome == "failed" || ev.Outcome == "blocked") {
					judged++
				}
			}
			if judged != want {
				t.Fatalf("%d judgements audited, want %d", judged, want)
			}
		})
	}
}
