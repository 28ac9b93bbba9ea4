package main

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	slackbot "github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
	"github.com/resetbot/resetbot/store/storetest"
)

// remindWorld is a tenant of n users in the SSPR group, all in a fake Slack workspace, every
// registeredEvery-th one registered, on a real redis-server.
type remindWorld struct {
	tenant *graphtest.Tenant
	slack  *fakeslack.Server
	redis  *redistest.Server
	st     *store.Store
	dir    *graph.Directory
	reg    map[string]bool // registered user ids
}

func newRemindWorld(tb testing.TB, n, registeredEvery int) *remindWorld {
	w := &remindWorld{tenant: graphtest.New(), slack: fakeslack.Start(tb), redis: redistest.Start(tb), reg: map[string]bool{}}
	w.tenant.PageSize = 999
	w.tenant.AddGroup(graphtest.Group{ID: graphtest.SSPRGroup, Name: "SSPR users"})
	if err := w.tenant.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(w.tenant.Close)
	rdb, err := store.Connect(store.Options{URL: w.redis.URL()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rdb.Close() })
	crypto, _ := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k": randomBytes(32)}, CurrentID: "k", MACKey: randomBytes(32)})
	w.st = store.New(rdb, crypto)
	if err := w.st.Preload(context.Background()); err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		mail := fmt.Sprintf("user%05d@contoso.test", i)
		w.tenant.AddUser(graphtest.User{ID: id, UPN: mail, Mail: mail, DisplayName: "User", Enabled: true, Groups: []string{graphtest.SSPRGroup}})
		w.slack.AddUser(fakeslack.User{ID: fmt.Sprintf("U%07d", i), TeamID: slackTeam, Email: mail, EmailConfirmed: true, TZ: "UTC"})
		if registeredEvery > 0 && i%registeredEvery == 0 {
			w.reg[id] = true
			for _, m := range []flows.Registered{{Kind: flows.MethodTOTP, Secret: "JBSWY3DPEHPK3PXP"}, {Kind: flows.MethodEmail, Address: "p@mail.test"}} {
				m.RegisteredAt = time.Now()
				if err := w.st.Register(ctx, id, m, 0); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	pol := flows.DefaultPolicy()
	pol.EnabledFor, pol.Groups = flows.EnabledSelected, []string{graphtest.SSPRGroup}
	if _, err := w.st.PutPolicy(ctx, pol, 0); err != nil {
		tb.Fatal(err)
	}
	w.dir, err = graph.New(graph.Config{BaseURL: w.tenant.GraphURL(),
		Credential: graph.NewClientCredential(w.tenant.TokenURL(), w.tenant.ClientID, w.tenant.ClientSecret, nil)})
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// reminders builds one replica's scheduler: engine, Slack adapter as notifier and roster.
func (w *remindWorld) reminders(tb testing.TB, clock flows.Clock) (*flows.Reminders, *slackbot.Adapter) {
	log := bot.NewLogger(&bytes.Buffer{}, "error")
	fwd := &router{}
	e := engine(parts{dir: w.dir, store: w.st, crypto: nil, audit: nil, log: log, clock: clock, notifier: fwd,
		mailer: noMail{}})
	sa, err := slackbot.New(slackbot.Config{BotToken: "xoxb-1", SigningSecret: slackSecret, TeamIDs: []string{slackTeam},
		APIURL: w.slack.GetAPIURL()}, e, w.st, clock, log, slackbot.WithSleep(func(context.Context, time.Duration) error { return nil }))
	if err != nil {
		tb.Fatal(err)
	}
	fwd.set(slackbot.Platform, sa)
	return flows.NewReminders(e, w.st, w.dir, sa), sa
}

type noMail struct{}

func (noMail) Send(context.Context, flows.Mail) error { return nil }

// BenchmarkPlan50kCampaign plans a campaign over 50,000 users in graphtest (paged through the real
// Graph SDK), 50,000 Slack users (users.list) and their enrollments in redis-server. It reports
// the time and the process's peak heap, which includes the in-process fakes.
//
//	go test -run XXX -bench Plan50k -benchtime 1x .
func BenchmarkPlan50kCampaign(b *testing.B) {
	const n = 50_000
	w := newRemindWorld(b, n, 10)
	clock := storetest.NewClock()
	r, _ := w.reminders(b, clock)
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var max uint64
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				peak <- max
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > max {
					max = m.HeapInuse
				}
			}
		}
	}()
	b.ResetTimer()
	start := time.Now()
	queued := 0
	for i := 0; i < b.N; i++ {
		q, err := r.Plan(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		queued = q
	}
	elapsed := time.Since(start) / time.Duration(b.N)
	b.StopTimer()
	close(stop)
	p := <-peak
	if queued != n-n/10 {
		b.Fatalf("queued %d, want %d", queued, n-n/10)
	}
	b.ReportMetric(elapsed.Seconds(), "s/campaign")
	b.ReportMetric(float64(p)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(p-base.HeapInuse)/(1<<20), "peak-over-baseline-MB")
}
