package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	_ "time/tzdata" // fixed-offset zones, whatever the machine has

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/app"
	slackbot "github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph"
	"github.com/resetbot/resetbot/graph/ad/adtest"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/internal/childproc"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
	"github.com/resetbot/resetbot/store/storetest"
)

// remindWorld is a tenant of n users in the SSPR group, all in a fake Slack workspace, every
// registeredEvery-th one registered, on a real redis-server.
type remindWorld struct {
	tenant    *graphtest.Tenant
	slack     *fakeslack.Server
	redis     *redistest.Server
	st        *store.Store
	dir       *graph.Directory
	reg       map[string]bool // registered user ids
	keyString string          // the sealing and MAC key, shared with replica processes
	crypto    *store.Crypto
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
	w.keyString = strings.Repeat("k", 32)
	crypto, _ := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k": []byte(w.keyString)}, CurrentID: "k", MACKey: []byte(w.keyString)})
	w.st, w.crypto = store.New(rdb, crypto), crypto
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
	r, sa := w.remindersAt(w.slack.GetAPIURL(), clock)
	if r == nil {
		tb.Fatal("slack adapter")
	}
	return r, sa
}

func (w *remindWorld) remindersAt(slackURL string, clock flows.Clock) (*flows.Reminders, *slackbot.Adapter) {
	a, err := app.New(context.Background(), app.Options{Redis: w.st.Client(), Crypto: w.crypto, Directory: app.Directory{Directory: w.dir},
		Mailer: noMail{}, Clock: clock, Log: bot.NewLogger(&bytes.Buffer{}, "error"),
		Slack: &app.Slack{Config: slackbot.Config{BotToken: "xoxb-1", SigningSecret: slackSecret, TeamIDs: []string{slackTeam}, APIURL: slackURL},
			Options: []slackbot.Option{slackbot.WithSleep(func(context.Context, time.Duration) error { return nil })}}})
	if err != nil {
		return nil, nil
	}
	return a.Reminders, a.Slack
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

// TestMain runs this test binary as a reminder replica when the parent test asks for one.
func TestMain(m *testing.M) {
	if os.Getenv("RESETBOT_REPLICA") != "" {
		os.Exit(replicaMain())
	}
	if os.Getenv("RESETBOT_LOADBOT") != "" {
		os.Exit(loadBotMain())
	}
	code := m.Run()
	adtest.StopShared()
	os.Exit(code)
}

// replicaMain is one scheduler replica in its own process: it claims and sends reminders until
// its standard input closes, printing "claimed N" after each claim, before handling it.
func replicaMain() int {
	g := os.Getenv
	rdb, err := store.Connect(store.Options{URL: g("R_REDIS")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	crypto, _ := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k": []byte(g("R_KEY"))}, CurrentID: "k", MACKey: []byte(g("R_KEY"))})
	st := store.New(rdb, crypto)
	dir, err := graph.New(graph.Config{BaseURL: g("R_GRAPH"), Credential: graph.NewClientCredential(g("R_TOKEN"), g("R_CLIENT"), g("R_SECRET"), nil)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w := &remindWorld{st: st, dir: dir, crypto: crypto}
	r, _ := w.remindersAt(g("R_SLACK"), nil)
	// a short lease lets the survivors take over a killed replica's claims quickly; without a
	// kill a long one keeps a replica starved of CPU from losing its claims mid-batch
	r.Lease = 30 * time.Second
	if g("R_SHORT_LEASE") != "" {
		r.Lease = 5 * time.Second
	}
	r.Batch = 25
	r.OnClaim = func(n int) {
		if n > 0 {
			fmt.Printf("claimed %d\n", n)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	if err := r.Run(ctx, tick.C); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type replica struct {
	proc   *childproc.Process // dies with this test binary, however it ends
	stdin  io.WriteCloser
	claims chan int
}

func startReplica(t *testing.T, w *remindWorld, key string, shortLease bool) *replica {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RESETBOT_REPLICA=1", "R_REDIS="+w.redis.URL(), "R_KEY="+key, "R_GRAPH="+w.tenant.GraphURL(),
		"R_TOKEN="+w.tenant.TokenURL(), "R_CLIENT="+w.tenant.ClientID, "R_SECRET="+w.tenant.ClientSecret, "R_SLACK="+w.slack.GetAPIURL())
	if shortLease {
		cmd.Env = append(cmd.Env, "R_SHORT_LEASE=1")
	}
	// plain pipes: the replica holds its ends alone, and its output is read to the end before
	// anything waits for it
	inR, stdin, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, os.Stderr
	proc, err := childproc.Start(cmd)
	inR.Close()
	outW.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{proc: proc, stdin: stdin, claims: make(chan int, 10000)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var n int
			if _, err := fmt.Sscanf(sc.Text(), "claimed %d", &n); err == nil {
				r.claims <- n
			}
		}
		stdout.Close()
		close(r.claims)
	}()
	t.Cleanup(func() {
		select {
		case <-proc.Done():
		default:
			proc.Signal(syscall.SIGKILL)
		}
		_ = proc.Wait()
		stdin.Close()
	})
	return r
}

// daytimeZone is a fixed-offset zone where it is now about noon, so quiet hours do not apply.
func daytimeZone() string {
	o := (12 - time.Now().UTC().Hour() + 24) % 24
	if o > 14 {
		o -= 24
	}
	if o == 0 {
		return "Etc/GMT"
	}
	return fmt.Sprintf("Etc/GMT%+d", -o)
}

func runReplicas(t *testing.T, kill bool) {
	const users, every = 5000, 5
	w := newRemindWorld(t, users, every)
	zone := daytimeZone()
	for i := 0; i < users; i++ {
		w.slack.AddUser(fakeslack.User{ID: fmt.Sprintf("U%07d", i), TeamID: slackTeam, Email: fmt.Sprintf("user%05d@contoso.test", i), EmailConfirmed: true, TZ: zone})
	}
	planner, _ := w.remindersAt(w.slack.GetAPIURL(), nil)
	want := users - users/every
	if n, err := planner.Plan(context.Background()); err != nil || n != want {
		t.Fatalf("planned %d: %v", n, err)
	}
	reps := []*replica{startReplica(t, w, w.keyString, kill), startReplica(t, w, w.keyString, kill), startReplica(t, w, w.keyString, kill)}
	inFlight := 0
	if kill {
		// kill the first replica midway, right after its fifth claim: whatever that claim took is
		// in flight (its earlier batches are done)
		seen := 0
		for n := range reps[0].claims {
			inFlight = n
			if seen++; seen == 5 {
				break
			}
		}
		reps[0].proc.Signal(syscall.SIGKILL)
		_ = reps[0].proc.Wait()
	}
	// every person reminded: distinct channels, since the killed replica's claim in flight can
	// be posted twice and a post count would stop waiting early
	posts := w.slack.WaitChannelsWithin(want, 90*time.Second)
	for _, r := range reps[boolIndex(kill):] {
		r.stdin.Close()
		_ = r.proc.Wait()
	}
	posts = w.slack.Posts()
	per := map[string]int{}
	for _, p := range posts {
		per[p.Channel]++
	}
	dups := 0
	for i := 0; i < users; i++ {
		ch := fmt.Sprintf("DU%07d", i)
		registered := i%every == 0
		switch {
		case registered && per[ch] != 0:
			t.Fatalf("registered user %d was reminded", i)
		case !registered && per[ch] == 0:
			t.Fatalf("user %d was missed", i)
		case per[ch] > 1:
			dups += per[ch] - 1
		}
	}
	t.Logf("%d users reminded by 3 replicas (one killed: %v); duplicates %d, the killed replica's claim in flight %d",
		len(per), kill, dups, inFlight)
	if !kill && dups != 0 {
		t.Fatalf("%d duplicates without a failure", dups)
	}
	if dups > inFlight {
		t.Fatalf("%d duplicates, more than the killed replica's %d in-flight claims", dups, inFlight)
	}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestReminderReplicasAsProcesses(t *testing.T) { runReplicas(t, false) }

func TestReminderReplicaKilledMidway(t *testing.T) { runReplicas(t, true) }
