package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/bot/app"
	"github.com/resetbot/resetbot/bot/notify"
	"github.com/resetbot/resetbot/bot/notify/smtptest"
	slackbot "github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/graph"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/internal/childproc"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
)

// BenchmarkRecoveries is the load test: simulated employees run the whole recovery at once
// through the Slack HTTP adapter (signed requests), the real engine and store against a real
// redis-server (append-only log on, fsync every second), the real Graph SDK against graphtest,
// and the one-time page over HTTPS: "I'm locked out", authenticator app, its code, email, its
// code, then the page and the directory write. The bot runs in a process of its own (this test
// binary again, the wiring serve uses), so its CPU time, memory and allocations are read apart
// from the driver's and the fakes'. It runs LOAD_USERS people (default 2,000) at 1, 10, 50 and
// 200 at a time, reports the figures, and writes BENCHMARKS.md. LOAD_RUNS=n runs each
// concurrency n times in a row with new people each time, and a concurrency's figures are then
// those of its run with the median CPU (the bot's users.info cache then holds more people when
// the later runs start, which raises their peak RSS).
//
//	CGO_ENABLED=0 go test -trimpath -run XXX -bench Recoveries -benchtime 1x .
//
// LOAD_PROFILE=dir writes the bot process's CPU profile of the run at 50 at a time (or at
// LOAD_PROFILE_AT at a time) to
// dir/bot-cpu.pprof and its heap profiles before and after that run to dir/bot-heap0.pprof and
// dir/bot-heap1.pprof (the run's allocations: go tool pprof -sample_index=alloc_objects
// -diff_base dir/bot-heap0.pprof dir/bot-heap1.pprof). LOAD_MEMPROFILERATE=n sets the bot
// process's runtime.MemProfileRate (1 records every allocation: exact counts in the heap
// profiles, but a slower run whose CPU figures do not count). LOAD_EXECTRACE=1 with
// LOAD_PROFILE also writes the bot's execution trace of that run to dir/bot-trace.out (which
// goroutine woke which, with stacks: a recovery's handoffs; that run's CPU figures do not
// count). LOAD_AT=50 (or 10,50) runs only those concurrencies and leaves BENCHMARKS.md alone; LOAD_REDIS_STATS=1 writes, after each run,
// redis-server's commands per recovery (INFO commandstats), the scripts' and commands' times
// from its slow log (every command logged: the log itself costs Redis CPU, so that run's Redis
// figure does not count) and the Slack API calls per recovery. LOAD_BOT_GOMAXPROCS=n sets
// GOMAXPROCS in the bot's process alone (the driver keeps the machine's) and leaves
// BENCHMARKS.md alone: one processor for Go code trades throughput at high concurrency for
// fewer wake-ups of idle threads when little is going on.
func BenchmarkRecoveries(b *testing.B) {
	users := 2000
	if v, err := strconv.Atoi(os.Getenv("LOAD_USERS")); err == nil && v > 0 {
		users = v
	}
	concurrencies := []int{1, 10, 50, 200}
	only := loadOnly(os.Getenv("LOAD_AT"))
	if only != nil {
		concurrencies = only
	}
	runs := 1
	if v, err := strconv.Atoi(os.Getenv("LOAD_RUNS")); err == nil && v > 0 {
		runs = v
	}
	l := newLoad(b, len(concurrencies)*users*runs+1000)
	bot := l.startChild(b)
	var rows []loadResult
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows = rows[:0]
		// lowest concurrency first: the bot's peak RSS (VmHWM) after a run is then that run's
		next := 0
		for _, c := range concurrencies {
			var rs []loadResult
			for range runs {
				rs = append(rs, l.run(b, bot, next, users, c))
				next += users
			}
			rows = append(rows, medianRun(rs))
		}
	}
	b.StopTimer()
	perSession := l.sessionBytes(b, len(concurrencies)*users*runs, 1000)
	for _, r := range rows {
		b.ReportMetric(r.perSec, fmt.Sprintf("recoveries/s@%d", r.concurrency))
		b.ReportMetric(r.ack[2], fmt.Sprintf("ack-p99-ms@%d", r.concurrency))
		b.ReportMetric(r.botCPU+r.redisCPU, fmt.Sprintf("server-CPU-ms/recovery@%d", r.concurrency))
		b.ReportMetric(r.allocsPerRecovery, fmt.Sprintf("bot-allocs/recovery@%d", r.concurrency))
		b.ReportMetric(r.botRSS, fmt.Sprintf("bot-peak-RSS-MB@%d", r.concurrency))
	}
	b.ReportMetric(perSession, "redis-B/session")
	if only != nil || botProcs() != "" {
		b.Logf("LOAD_AT or LOAD_BOT_GOMAXPROCS is set: BENCHMARKS.md is left as it is")
		return
	}
	writeBenchmarks(b, rows, perSession)
}

// botProcs is LOAD_BOT_GOMAXPROCS when it is a number of processors, else "".
func botProcs() string {
	v := os.Getenv("LOAD_BOT_GOMAXPROCS")
	if n, err := strconv.Atoi(v); err != nil || n < 1 {
		return ""
	}
	return v
}

// medianRun is the run whose bot + Redis CPU per recovery is the median of rs (the lower of
// the two middle ones for an even count), with every run's figure kept in its cpuRuns: the
// host's speed varies between runs of the same code, and one run can fall on a slow or a fast
// moment.
func medianRun(rs []loadResult) loadResult {
	byCPU := slices.Clone(rs)
	slices.SortStableFunc(byCPU, func(a, b loadResult) int { return cmp.Compare(a.botCPU+a.redisCPU, b.botCPU+b.redisCPU) })
	m := byCPU[(len(byCPU)-1)/2]
	m.cpuRuns = nil
	for _, r := range rs {
		m.cpuRuns = append(m.cpuRuns, r.botCPU+r.redisCPU)
	}
	return m
}

// runsNote says how the rows were chosen when each concurrency ran more than once (LOAD_RUNS).
func runsNote(rows []loadResult) string {
	if many(rows, "x") == "" {
		return ""
	}
	return fmt.Sprintf(" Each concurrency ran %d times in a row with new people each time (LOAD_RUNS), and a row is the run whose bot + Redis CPU per recovery is the median, every run's figure in the last column: the host's speed varies between runs of the same code.", len(rows[0].cpuRuns))
}

// many is s when each concurrency ran more than once (LOAD_RUNS), else "".
func many(rows []loadResult, s string) string {
	if len(rows) == 0 || len(rows[0].cpuRuns) < 2 {
		return ""
	}
	return s
}

// joinMS writes figures in ms, two decimals, comma-separated.
func joinMS(v []float64) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = strconv.FormatFloat(f, 'f', 2, 64)
	}
	return strings.Join(parts, ", ")
}

// loadOnly reads LOAD_AT, a comma-separated list of concurrencies to run instead of all four
// (for exploring; BENCHMARKS.md is then not written). Nil when it is unset or unreadable.
func loadOnly(v string) []int {
	var cs []int
	for _, f := range strings.Split(v, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c <= 0 {
			return nil
		}
		cs = append(cs, c)
	}
	return cs
}

const loadTeam = "TLOAD"
const loadSecret = "load-signing-secret-0123456789"

type load struct {
	slackURL string
	fake     *fakeslack.Server
	profiled bool // the run at LOAD_PROFILE_AT was profiled (the first of its runs)
	smtp     *smtptest.Server
	web      *http.Client
	slack    *http.Client
	enrol    map[string]string // user → TOTP secret
	mu       sync.Mutex
	inbox    map[string]chan fakeslack.Post // DM channel → replies
	mail     map[string]chan string         // address → codes
	env      botEnv
	rdb      *redis.Client
	redisPid int
	evt      atomic.Int64
}

type loadResult struct {
	concurrency, users, failed int
	perSec                     float64
	ack, page                  [4]float64            // p50, p95, p99, max in ms
	steps                      map[string][4]float64 // per step
	tripsPerStep               float64               // every round trip of the bot's client over every step (chat and page)
	tripsPerHandle             float64               // round trips inside Engine.Handle per chat step
	tripsPerRecovery           float64               // every round trip of the bot's client per recovery
	auditTripsPerRecovery      float64               // the audit writer's round trips (its own client) per recovery
	allocsPerRecovery          float64               // in the bot's process
	botCPU, redisCPU           float64               // CPU time per recovery (ms) of the bot's process and of redis-server
	elapsed                    time.Duration
	botRSS                     float64   // the bot process's peak RSS so far (MB)
	botAnon, botFile           float64   // its resident anonymous and file-backed memory after the run (MB)
	cpuRuns                    []float64 // bot + Redis CPU per recovery of every run at this concurrency, in order
}

// tripHook counts Redis round trips of the bot's client: all of them, and those made inside
// Engine.Handle (a chat step).
type tripHook struct{ all, inStep *atomic.Int64 }

type stepKey struct{}

func (h tripHook) count(ctx context.Context) {
	h.all.Add(1)
	if ctx.Value(stepKey{}) != nil {
		h.inStep.Add(1)
	}
}

func (tripHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h tripHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, c redis.Cmder) error { h.count(ctx); return next(ctx, c) }
}
func (h tripHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cs []redis.Cmder) error { h.count(ctx); return next(ctx, cs) }
}

// stepCounter marks and counts the engine's chat steps.
type stepCounter struct {
	slackbot.Engine
	n *atomic.Int64
}

// botEnv is where the bot finds its dependencies (the load test's fakes and Redis).
type botEnv struct {
	Redis, GraphURL, TokenURL, ClientID, Secret, Issuer, SlackAPI, SMTP string
	Seal, MAC                                                           []byte
}

type runningBot struct {
	slackURL string
	cert     []byte // the pages' TLS certificate (DER)
	stop     func()
}

// runBot builds the bot with the composition root serve uses (engine, store, Graph, Slack HTTP
// adapter, pages), with Slack's per-method pacing off: that is the platform's limit, not the
// bot's (Tier 4 users.info alone would allow about 100 first contacts a minute).
func runBot(ctx context.Context, be botEnv, mailer flows.Mailer, steps stepCounter, hook, auditHook redis.Hook) (_ runningBot, err error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	rdb, err := store.Connect(store.Options{URL: be.Redis})
	if err != nil {
		return runningBot{}, err
	}
	stops = append(stops, func() { rdb.Close() })
	if hook != nil {
		rdb.AddHook(hook)
	}
	// its own client: audit writes are not a step's
	auditRDB, err := store.Connect(store.Options{URL: be.Redis})
	if err != nil {
		return runningBot{}, err
	}
	stops = append(stops, func() { auditRDB.Close() })
	if auditHook != nil {
		auditRDB.AddHook(auditHook)
	}
	crypto, err := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k1": be.Seal}, CurrentID: "k1", MACKey: be.MAC})
	if err != nil {
		return runningBot{}, err
	}
	dir, err := graph.New(graph.Config{BaseURL: be.GraphURL, Credential: graph.NewClientCredential(be.TokenURL, be.ClientID, be.Secret, nil)})
	if err != nil {
		return runningBot{}, err
	}
	pages := httptest.NewUnstartedServer(nil)
	pages.StartTLS()
	stops = append(stops, pages.Close)
	o, err := web.NewOIDC(ctx, be.Issuer, be.ClientID, be.Secret, pages.URL, time.Now)
	if err != nil {
		return runningBot{}, err
	}
	if steps.n == nil {
		steps.n = &atomic.Int64{}
	}
	logTo := io.Discard
	if os.Getenv("LOAD_BOT_LOG") != "" {
		logTo = os.Stderr // the bot's warnings and errors, when a run fails
	}
	log := slog.New(slog.NewJSONHandler(logTo, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, app.Options{Redis: rdb, AuditRedis: auditRDB, Crypto: crypto, Directory: app.Directory{Directory: dir},
		Mailer: mailer, PhoneBudget: 100, Log: log, BaseURL: pages.URL, OIDC: o,
		Slack: &app.Slack{Config: slackbot.Config{BotToken: "xoxb-load", SigningSecret: loadSecret, TeamIDs: []string{loadTeam}, APIURL: be.SlackAPI},
			Options: []slackbot.Option{slackbot.WithSleep(func(context.Context, time.Duration) error { return nil })},
			Observe: func(e slackbot.Engine) slackbot.Engine { steps.Engine = e; return steps }}})
	if err != nil {
		return runningBot{}, err
	}
	stops = append(stops, a.Close)
	pages.Config.Handler = a.Handler()
	srv := httptest.NewServer(a.Handler())
	stops = append(stops, srv.Close)
	return runningBot{slackURL: srv.URL, cert: pages.Certificate().Raw, stop: stop}, nil
}

// use points the driver at a bot.
func (l *load) use(slackURL string, cert []byte) {
	l.slackURL = slackURL
	l.slack = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 400}, Timeout: 30 * time.Second}
	pool := x509.NewCertPool()
	if c, err := x509.ParseCertificate(cert); err == nil {
		pool.AddCert(c)
	}
	l.web = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 400, TLSClientConfig: &tls.Config{RootCAs: pool}},
		Timeout: 30 * time.Second}
}

// loadBotMain is the bot in a process of its own (RESETBOT_LOADBOT): it prints where it
// listens, then answers the driver's commands on its standard input, one line each, until the
// input closes: "stats" (its allocations and Redis round trips so far), "profile PREFIX" and
// "endprofile" (a CPU profile and heap profiles around a run).
func loadBotMain() int {
	var be botEnv
	if err := json.Unmarshal([]byte(os.Getenv("RESETBOT_LOADBOT")), &be); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if n, err := strconv.Atoi(os.Getenv("LOAD_MEMPROFILERATE")); err == nil && n > 0 {
		runtime.MemProfileRate = n
	}
	var trips, inStep, steps, auditTrips atomic.Int64
	bot, err := runBot(context.Background(), be, &notify.SMTP{Addr: be.SMTP, From: "resetbot@contoso.test"},
		stepCounter{n: &steps}, tripHook{all: &trips, inStep: &inStep}, tripHook{all: &auditTrips, inStep: new(atomic.Int64)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer bot.stop()
	fmt.Printf("ready %s %s\n", bot.slackURL, base64.StdEncoding.EncodeToString(bot.cert))
	heap := func(path string) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return pprof.Lookup("allocs").WriteTo(f, 0)
	}
	var prefix string
	var cpu, tr *os.File
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		var err error
		switch {
		case len(f) == 1 && f[0] == "stats":
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Printf("stats %d %d %d %d %d\n", ms.Mallocs, trips.Load(), inStep.Load(), steps.Load(), auditTrips.Load())
			continue
		case len(f) == 2 && f[0] == "profile":
			prefix = f[1]
			if err = heap(prefix + "-heap0.pprof"); err == nil {
				if cpu, err = os.Create(prefix + "-cpu.pprof"); err == nil {
					err = pprof.StartCPUProfile(cpu)
				}
			}
			if err == nil && os.Getenv("LOAD_EXECTRACE") != "" {
				if tr, err = os.Create(prefix + "-trace.out"); err == nil {
					err = trace.Start(tr)
				}
			}
		case len(f) == 1 && f[0] == "endprofile" && cpu != nil:
			pprof.StopCPUProfile()
			if tr != nil {
				trace.Stop()
				err = tr.Close()
			}
			if err2 := cpu.Close(); err == nil {
				err = err2
			}
			if err == nil {
				err = heap(prefix + "-heap1.pprof")
			}
		default:
			err = fmt.Errorf("unknown command %q", sc.Text())
		}
		if err != nil {
			fmt.Printf("error %v\n", err)
		} else {
			fmt.Println("ok")
		}
	}
	return 0
}

func (s stepCounter) Handle(ctx context.Context, in flows.Inbound) ([]flows.Reply, error) {
	s.n.Add(1)
	return s.Engine.Handle(context.WithValue(ctx, stepKey{}, true), in)
}

var loadCode = regexp.MustCompile(`\b(\d{6})\b`)

func newLoad(b *testing.B, n int) *load {
	l := &load{enrol: map[string]string{}, inbox: map[string]chan fakeslack.Post{}, mail: map[string]chan string{}}
	rs := redistest.Start(b, "--appendonly", "yes", "--appendfsync", "everysec")
	tenant := graphtest.New()
	tenant.AddGroup(graphtest.Group{ID: graphtest.SSPRGroup, Name: "SSPR users"})
	fake := fakeslack.Start(b)
	l.fake = fake
	for i := 0; i < n; i++ {
		mail := fmt.Sprintf("emp%05d@contoso.test", i)
		tenant.AddUser(graphtest.User{ID: fmt.Sprintf("0a000000-0000-4000-8000-%012d", i), UPN: mail, Mail: mail,
			DisplayName: fmt.Sprintf("Employee %d", i), Enabled: true, Groups: []string{graphtest.SSPRGroup}, Password: graphtest.DemoPassword})
		fake.AddUser(fakeslack.User{ID: fmt.Sprintf("U%05d", i), TeamID: loadTeam, Email: mail, EmailConfirmed: true})
		l.inbox[fmt.Sprintf("DU%05d", i)] = make(chan fakeslack.Post, 16)
		l.mail[fmt.Sprintf("home%05d@mail.test", i)] = make(chan string, 4)
	}
	fake.OnPost(func(p fakeslack.Post) {
		if p.Method != "chat.postMessage" {
			return
		}
		if ch := l.inbox[p.Channel]; ch != nil {
			select {
			case ch <- p:
			default:
			}
		}
	})
	if err := tenant.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(tenant.Close)
	ctx := context.Background()
	l.rdb = rs.Client()
	seal, mac := randomBytes(32), randomBytes(32)
	crypto, err := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k1": seal}, CurrentID: "k1", MACKey: mac})
	if err != nil {
		b.Fatal(err)
	}
	st := store.New(l.rdb, crypto)
	if err := st.Preload(ctx); err != nil {
		b.Fatal(err)
	}
	pol := flows.DefaultPolicy()
	pol.EnabledFor = flows.EnabledAll
	if _, err := st.PutPolicy(ctx, pol, 0); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		uid := fmt.Sprintf("0a000000-0000-4000-8000-%012d", i)
		raw := make([]byte, 20)
		_, _ = rand.Read(raw)
		secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
		l.enrol[fmt.Sprintf("U%05d", i)] = secret
		for _, m := range []flows.Registered{{Kind: flows.MethodTOTP, Secret: secret, RegisteredAt: time.Now()},
			{Kind: flows.MethodEmail, Address: fmt.Sprintf("home%05d@mail.test", i), RegisteredAt: time.Now()}} {
			if err := st.Register(ctx, uid, m, 0); err != nil {
				b.Fatal(err)
			}
		}
		// registering from Slack signed the person in on the bot's page, which pinned their Slack
		// account to their directory user (as every registered person's is)
		chat := flows.ChatRef{Platform: slackbot.Platform, Tenant: loadTeam, UserID: fmt.Sprintf("U%05d", i)}
		if err := st.Pin(ctx, chat.Key(), uid); err != nil {
			b.Fatal(err)
		}
	}
	l.redisPid = rs.Pid()
	l.env = botEnv{Redis: rs.URL(), GraphURL: tenant.GraphURL(), TokenURL: tenant.TokenURL(), ClientID: tenant.ClientID,
		Secret: tenant.ClientSecret, Issuer: tenant.Issuer(), SlackAPI: fake.GetAPIURL(), Seal: seal, MAC: mac}
	return l
}

// post sends a signed Slack request and returns the acknowledgement latency.
func (l *load) post(path, ctype string, body []byte) (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodPost, l.slackURL+path, bytes.NewReader(body))
	for k, v := range slackbot.Sign(loadSecret, body, time.Now()) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", ctype)
	start := time.Now()
	resp, err := l.slack.Do(req)
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return d, fmt.Errorf("slack request: %d", resp.StatusCode)
	}
	return d, nil
}

func (l *load) say(user, text string) (time.Duration, error) {
	body, _ := json.Marshal(fakeslack.MessageEvent(loadTeam, fmt.Sprintf("Ev%d", l.evt.Add(1)), user, text))
	return l.post("/slack/events", "application/json", body)
}

// click sends the click on button bt in message msg; the payload carries the message, its
// blocks included, as Slack's does.
func (l *load) click(user string, bt [2]string, msg fakeslack.Post) (time.Duration, error) {
	payload, _ := json.Marshal(fakeslack.BlockAction(loadTeam, fmt.Sprintf("Tr%d", l.evt.Add(1)), user, bt[0], bt[1], msg))
	return l.post("/slack/interactive", "application/x-www-form-urlencoded", []byte("payload="+url.QueryEscape(string(payload))))
}

func (l *load) reply(user string) (fakeslack.Post, error) {
	select {
	case p := <-l.inbox["D"+user]:
		return p, nil
	case <-time.After(30 * time.Second):
		return fakeslack.Post{}, fmt.Errorf("%s: no reply", user)
	}
}

func button(p fakeslack.Post, kind string) ([2]string, error) {
	for _, bt := range fakeslack.Buttons(p) {
		if strings.HasPrefix(bt[1], "m:"+kind+"|") {
			return bt, nil
		}
	}
	return [2]string{}, fmt.Errorf("no %s button in %q", kind, p.Text)
}

var (
	loadLink = regexp.MustCompile(`https://[^"\s]+/l/[A-Za-z0-9_-]+`)
	loadCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// recover runs one person's whole recovery and records each step's latency.
func (l *load) recover(i int, rec func(step string, d time.Duration), ack func(time.Duration)) error {
	user := fmt.Sprintf("U%05d", i)
	addr := fmt.Sprintf("home%05d@mail.test", i)
	step := func(name string, send func() (time.Duration, error)) (fakeslack.Post, error) {
		start := time.Now()
		a, err := send()
		if err != nil {
			return fakeslack.Post{}, err
		}
		ack(a)
		p, err := l.reply(user)
		rec(name, time.Since(start))
		return p, err
	}
	p, err := step("1 locked out", func() (time.Duration, error) { return l.say(user, "I'm locked out") })
	if err != nil {
		return err
	}
	v, err := button(p, "totp")
	if err != nil {
		return err
	}
	if _, err = step("2 pick app", func() (time.Duration, error) { return l.click(user, v, p) }); err != nil {
		return err
	}
	code, _ := totp.Code(l.enrol[user], time.Now())
	if p, err = step("3 app code", func() (time.Duration, error) { return l.say(user, code) }); err != nil {
		return err
	}
	if v, err = button(p, "email"); err != nil {
		return err
	}
	if _, err = step("4 pick email", func() (time.Duration, error) { return l.click(user, v, p) }); err != nil {
		return err
	}
	var ecode string
	select {
	case ecode = <-l.mail[addr]:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s: no email code", user)
	}
	if p, err = step("5 email code", func() (time.Duration, error) { return l.say(user, ecode) }); err != nil {
		return err
	}
	link := loadLink.FindString(p.Blocks)
	if link == "" {
		return fmt.Errorf("%s: no link in %q", user, p.Text)
	}
	// the one-time page: GET (shows the form), POST (sets the password in the directory)
	jar, _ := cookiejar.New(nil)
	c := *l.web
	c.Jar = jar
	start := time.Now()
	resp, err := c.Get(link)
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rec("6 open page", time.Since(start))
	m := loadCSRF.FindSubmatch(page)
	if m == nil {
		return fmt.Errorf("%s: no form: %s", user, page)
	}
	pw := "Load-Test-" + strings.ToLower(user) + "-Pass9"
	start = time.Now()
	resp, err = c.PostForm(link, url.Values{"csrf": {html.UnescapeString(string(m[1]))}, "password": {pw}, "confirm": {pw}})
	if err != nil {
		return err
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	rec("7 set password", time.Since(start))
	if !bytes.Contains(page, []byte("Your password was changed")) {
		return fmt.Errorf("%s: reset page %d: %.200s", user, resp.StatusCode, page)
	}
	return nil
}

func percentiles(ds []time.Duration) [4]float64 {
	if len(ds) == 0 {
		return [4]float64{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	at := func(p float64) float64 { return ms(ds[int(p*float64(len(ds)-1))]) }
	return [4]float64{at(0.50), at(0.95), at(0.99), ms(ds[len(ds)-1])}
}

// run recovers users first..first+n, concurrency at a time, and reads what the bot's process
// and redis-server spent on them.
func (l *load) run(b *testing.B, bot *childBot, first, n, concurrency int) loadResult {
	var mu sync.Mutex
	steps := map[string][]time.Duration{}
	var acks []time.Duration
	rec := func(s string, d time.Duration) { mu.Lock(); steps[s] = append(steps[s], d); mu.Unlock() }
	ack := func(d time.Duration) { mu.Lock(); acks = append(acks, d); mu.Unlock() }
	at := 50
	if v, err := strconv.Atoi(os.Getenv("LOAD_PROFILE_AT")); err == nil {
		at = v
	}
	profile := os.Getenv("LOAD_PROFILE") != "" && concurrency == at && !l.profiled
	l.profiled = l.profiled || profile
	if profile {
		bot.ask(b, "profile "+filepath.Join(os.Getenv("LOAD_PROFILE"), "bot"))
	}
	redisStats := os.Getenv("LOAD_REDIS_STATS") != ""
	var slack0 map[string]int
	var smtp0 int
	if redisStats {
		ctx := context.Background()
		if err := l.rdb.ConfigResetStat(ctx).Err(); err != nil {
			b.Fatal(err)
		}
		l.rdb.ConfigSet(ctx, "slowlog-log-slower-than", "0")
		l.rdb.ConfigSet(ctx, "slowlog-max-len", "200000")
		l.rdb.SlowLogReset(ctx)
		slack0 = l.fake.CallCounts()
		smtp0 = l.smtp.Connections()
	}
	before := bot.stats(b)
	botCPU0, redisCPU0 := processCPU(bot.pid), processCPU(l.redisPid)
	next := make(chan int)
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := l.recover(i, rec, ack); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	for i := first; i < first+n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	botCPU, redisCPU := processCPU(bot.pid)-botCPU0, processCPU(l.redisPid)-redisCPU0
	after := bot.stats(b)
	if profile {
		bot.ask(b, "endprofile")
	}
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d recoveries failed; first: %v", f, n, firstErr.Load())
	}
	if redisStats {
		l.logRedisStats(b, n)
		for m, c := range l.fake.CallCounts() {
			fmt.Fprintf(os.Stderr, "  slack %-24s %6.2f calls per recovery\n", m, float64(c-slack0[m])/float64(n))
		}
		fmt.Fprintf(os.Stderr, "  SMTP connections: %d\n", l.smtp.Connections()-smtp0)
	}
	perMS := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	r := loadResult{concurrency: concurrency, users: n, elapsed: elapsed, perSec: float64(n) / elapsed.Seconds(),
		ack: percentiles(acks), steps: map[string][4]float64{}, botRSS: processRSS(bot.pid),
		botAnon: processStatus(bot.pid, "RssAnon"), botFile: processStatus(bot.pid, "RssFile"),
		allocsPerRecovery: float64(after.mallocs-before.mallocs) / float64(n), botCPU: perMS(botCPU), redisCPU: perMS(redisCPU)}
	total := 0
	for s, ds := range steps {
		total += len(ds)
		r.steps[s] = percentiles(ds)
	}
	r.tripsPerStep = float64(after.trips-before.trips) / float64(total)
	r.tripsPerRecovery = float64(after.trips-before.trips) / float64(n)
	r.auditTripsPerRecovery = float64(after.auditTrips-before.auditTrips) / float64(n)
	if steps := after.steps - before.steps; steps > 0 {
		r.tripsPerHandle = float64(after.inStep-before.inStep) / float64(steps)
	}
	b.Logf("%d users at %d at a time: %.0f recoveries/s in %v; CPU per recovery: bot %.2f ms, redis-server %.2f ms; %.0f allocations per recovery in the bot; bot peak RSS %.0f MB (now %.0f MB anonymous, %.0f MB file); ack p50/p95/p99/max %.1f/%.1f/%.1f/%.1f ms; Redis round trips %.2f per Engine.Handle, %.2f per step in all, %.2f per recovery and %.2f of the audit writer",
		n, concurrency, r.perSec, elapsed.Round(time.Millisecond), r.botCPU, r.redisCPU, r.allocsPerRecovery, r.botRSS,
		r.botAnon, r.botFile,
		r.ack[0], r.ack[1], r.ack[2], r.ack[3], r.tripsPerHandle, r.tripsPerStep, r.tripsPerRecovery, r.auditTripsPerRecovery)
	return r
}

// logRedisStats writes redis-server's INFO commandstats of the run (LOAD_REDIS_STATS set), per
// recovery: calls and microseconds of each command, the driver's own few included.
func (l *load) logRedisStats(b *testing.B, n int) {
	info, err := l.rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var out strings.Builder
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		var calls, usec float64
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			f, _ := strconv.ParseFloat(v, 64)
			switch k {
			case "calls":
				calls = f
			case "usec":
				usec = f
			}
		}
		fmt.Fprintf(&out, "\n  %-24s %6.2f calls %7.1f µs per recovery", strings.TrimPrefix(name, "cmdstat_"), calls/float64(n), usec/float64(n))
	}
	fmt.Fprintf(os.Stderr, "redis-server commands per recovery at %d people:%s\n", n, out.String())
	logs, err := l.rdb.SlowLogGet(context.Background(), -1).Result()
	if err != nil {
		b.Fatal(err)
	}
	type agg struct {
		n      int
		d      time.Duration
		sample string
	}
	by := map[string]*agg{}
	for _, e := range logs {
		k := strings.ToLower(e.Args[0])
		if (k == "evalsha" || k == "eval") && len(e.Args) > 3 {
			k += " " + e.Args[1][:8] + " " + strings.Join(e.Args[3:min(len(e.Args), 5)], " ")
			k = k[:min(len(k), 90)]
			if i := strings.IndexAny(k[20:], "0123456789"); i >= 0 {
				k = k[:20+i]
			}
		}
		a := by[k]
		if a == nil {
			a = &agg{}
			by[k] = a
		}
		a.n++
		a.d += e.Duration
	}
	var keys []string
	for k := range by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return by[keys[i]].d > by[keys[j]].d })
	fmt.Fprintf(os.Stderr, "slowlog: %d entries\n", len(logs))
	for _, k := range keys {
		a := by[k]
		fmt.Fprintf(os.Stderr, "  %6d x %6.1f µs = %7.1f µs/recovery  %s\n", a.n, float64(a.d.Microseconds())/float64(a.n), float64(a.d.Microseconds())/float64(n), k)
	}
}

// sessionBytes measures Redis memory per live session: k people start a recovery and stop.
func (l *load) sessionBytes(b *testing.B, first, k int) float64 {
	ctx := context.Background()
	used := func() float64 {
		info := l.rdb.Info(ctx, "memory").Val()
		m := regexp.MustCompile(`used_memory:(\d+)`).FindStringSubmatch(info)
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	before := used()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 100)
	for i := first; i < first+k; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			user := fmt.Sprintf("U%05d", i)
			if _, err := l.say(user, "I'm locked out"); err != nil {
				b.Error(err)
				return
			}
			if _, err := l.reply(user); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	return (used() - before) / float64(k)
}

// cpuinfoField is the first value of a field in a /proc/cpuinfo, up to the end of its line ("" if
// it has none).
func cpuinfoField(info, name string) string {
	if m := regexp.MustCompile(`(?m)^` + name + `[ \t]*:[ \t]*(.*)$`).FindStringSubmatch(info); m != nil {
		return strings.TrimSpace(m[1])
	}
	return ""
}

// cpuModelOf names the first processor of a /proc/cpuinfo: its model name, then its family and
// model numbers and its clock when given. A virtual machine's model name can be as short as "AMD
// EPYC", which says nothing of the generation: figures from two machines of the same name may
// differ by half.
func cpuModelOf(info string) string {
	field := func(name string) string { return cpuinfoField(info, name) }
	name := field("model name")
	if name == "" {
		return "unknown CPU"
	}
	var more []string
	if f, m := field("cpu family"), field("model"); f != "" && m != "" {
		more = append(more, "family "+f+" model "+m)
	}
	if mhz, err := strconv.ParseFloat(field("cpu MHz"), 64); err == nil && mhz > 0 {
		more = append(more, fmt.Sprintf("%.0f MHz", mhz))
	}
	if len(more) == 0 {
		return name
	}
	return name + " (" + strings.Join(more, ", ") + ")"
}

// machine is BENCHMARKS.md's processor (cpuModelOf) and what it runs under (hostOf): the
// hypervisor the kernel's log names, and page-table isolation when the kernel turned it on. Both
// change what a system call costs by several times (a getpid took 1.0 to 1.3 µs in a PVM guest with
// isolation on, 0.05 µs in a KVM guest of the same processor), and the load test's figures with
// it; a machine's name does not tell them apart.
func machine() (model, host string) {
	info, _ := os.ReadFile("/proc/cpuinfo")
	klog, _ := exec.Command("dmesg").Output() // root, or kernel.dmesg_restrict=0; else unknown
	return cpuModelOf(string(info)), hostOf(string(info), string(klog))
}

// hostOf is machine's host from a /proc/cpuinfo and a kernel log: "" on bare metal or when
// neither says.
func hostOf(info, klog string) string {
	flags := strings.Fields(cpuinfoField(info, "flags"))
	var parts []string
	if m := regexp.MustCompile(`Hypervisor detected: (\S+)`).FindStringSubmatch(klog); m != nil {
		parts = append(parts, m[1]+" guest")
	} else if slices.Contains(flags, "hypervisor") {
		parts = append(parts, "virtual machine")
	}
	if slices.Contains(flags, "pti") {
		parts = append(parts, "page-table isolation on")
	}
	return strings.Join(parts, ", ")
}

func peakRSS() string {
	if mb := processRSS(os.Getpid()); mb > 0 {
		return fmt.Sprintf("%.0f MB", mb)
	}
	return "unknown"
}

// otherBenchmarks heads the part of BENCHMARKS.md the load test keeps as it is.
const otherBenchmarks = "## Other benchmarks"

func writeBenchmarks(b *testing.B, rows []loadResult, perSession float64) {
	var w strings.Builder
	fmt.Fprintf(&w, "# Benchmarks\n\nWritten by the load test:\n\n    CGO_ENABLED=0 go test -trimpath -run XXX -bench Recoveries -benchtime 1x .\n\n")
	model, host := machine()
	if host != "" {
		host = ", " + host
	}
	fmt.Fprintf(&w, "Machine: %s, %d CPUs%s, %s/%s, %s. The bot runs in a process of its own (the test binary re-executed with the wiring serve uses, mail through a real SMTP server in the driver's process); the driver, the fake Slack, graphtest and redis-server (append-only log, fsync every second) run on the same machine, so latencies include their work, while the CPU, allocation and RSS figures are the bot's process alone (and redis-server's CPU apart).\n\n",
		model, runtime.NumCPU(), host, runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(&w, "A recovery, by a person who registered the authenticator app and an email address from Slack (so their Slack account is pinned to their directory user, as registering does): \"I'm locked out\", pick the authenticator app, its code, pick email, the emailed code, open the one-time page, set the password (Graph PATCH), each through the Slack HTTP adapter with signed requests and the page over HTTPS. Step latency runs from sending the request to the bot's reply arriving at the fake Slack (or the page's response); the people's first messages reach the bot's process cold (it never saw them). CPU time is utime+stime from /proc/<pid>/stat over the run, divided by the recoveries; allocations are the bot process's runtime.MemStats.Mallocs over the run; peak RSS is its VmHWM after the run (the runs go from the lowest concurrency up); the file-backed part is the pages of the test binary (190 MB, most of it the Graph SDK) the process touched.%s\n\n", runsNote(rows))
	fmt.Fprintf(&w, "| concurrent | people | recoveries/s | CPU per recovery (ms): bot / redis-server / both | allocations per recovery (bot) | bot peak RSS (MB) | bot RSS after the run: anonymous / file-backed (MB) | ack p50 / p95 / p99 / max (ms) | Redis round trips per Engine.Handle / per step in all |%s\n|---|---|---|---|---|---|---|---|---|%s\n", many(rows, " bot + Redis CPU of each run (ms) |"), many(rows, "---|"))
	for _, r := range rows {
		fmt.Fprintf(&w, "| %d | %d | %.0f | %.2f / %.2f / **%.2f** | **%.0f** | %.0f | %.0f / %.0f | %.1f / %.1f / %.1f / %.1f | %.2f / %.2f |%s\n", r.concurrency, r.users, r.perSec,
			r.botCPU, r.redisCPU, r.botCPU+r.redisCPU, r.allocsPerRecovery, r.botRSS, r.botAnon, r.botFile,
			r.ack[0], r.ack[1], r.ack[2], r.ack[3], r.tripsPerHandle, r.tripsPerStep, many(rows, " "+joinMS(r.cpuRuns)+" |"))
	}
	fmt.Fprintf(&w, "\nLoad average when the figures were written: %s.\n", loadAverage())
	for _, r := range rows {
		if r.concurrency < 50 {
			continue
		}
		fmt.Fprintf(&w, "\nPer step at %d concurrent (ms):\n\n| step | p50 | p95 | p99 | max |\n|---|---|---|---|---|\n", r.concurrency)
		names := make([]string, 0, len(r.steps))
		for s := range r.steps {
			names = append(names, s)
		}
		sort.Strings(names)
		for _, s := range names {
			p := r.steps[s]
			fmt.Fprintf(&w, "| %s | %.1f | %.1f | %.1f | %.1f |\n", s, p[0], p[1], p[2], p[3])
		}
	}
	fmt.Fprintf(&w, "\nRedis memory per live session (1,000 people who said \"I'm locked out\" and stopped): %.0f bytes.\n", perSession)
	fmt.Fprintf(&w, "Peak RSS of the driver's process (driver, fake Slack, graphtest, SMTP server): %s.\n", peakRSS())
	// the figures of other benchmarks, written by hand below this heading, are kept
	if old, err := os.ReadFile("BENCHMARKS.md"); err == nil {
		if i := strings.Index(string(old), otherBenchmarks); i >= 0 {
			w.WriteString("\n" + string(old[i:]))
		}
	}
	if err := os.WriteFile("BENCHMARKS.md", []byte(w.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}

// loadAverage is the machine's 1-, 5- and 15-minute load averages.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) >= 3 {
		return strings.Join(f[:3], ", ")
	}
	return "unknown"
}

// childBot is the bot in a process of its own and the driver's end of its command pipe.
type childBot struct {
	pid int
	in  io.Writer
	out *bufio.Scanner
}

// botStats are the bot process's running totals.
type botStats struct{ mallocs, trips, inStep, steps, auditTrips int64 }

// ask sends the bot process one command and returns its one-line answer.
func (c *childBot) ask(b *testing.B, cmd string) []string {
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		b.Fatal(err)
	}
	if !c.out.Scan() {
		b.Fatalf("the bot process did not answer %q", cmd)
	}
	f := strings.Fields(c.out.Text())
	if len(f) == 0 || f[0] == "error" {
		b.Fatalf("%s: %s", cmd, c.out.Text())
	}
	return f
}

func (c *childBot) stats(b *testing.B) botStats {
	f := c.ask(b, "stats")
	if len(f) != 6 || f[0] != "stats" {
		b.Fatalf("stats: %q", f)
	}
	var v [5]int64
	for i := range v {
		v[i], _ = strconv.ParseInt(f[i+1], 10, 64)
	}
	return botStats{mallocs: v[0], trips: v[1], inStep: v[2], steps: v[3], auditTrips: v[4]}
}

// startChild runs the bot in a child process (the test binary again, see TestMain), with mail
// through a real SMTP server here, and points the driver at it.
func (l *load) startChild(b *testing.B) *childBot {
	mail := smtptest.Start(b)
	l.smtp = mail
	mail.OnMessage(func(m smtptest.Message) {
		c := loadCode.FindStringSubmatch(m.Data[strings.Index(m.Data, "\n\n")+1:])
		if c == nil {
			return
		}
		for _, to := range m.To {
			if ch := l.mail[to]; ch != nil {
				ch <- c[1]
			}
		}
	})
	be := l.env
	be.SMTP = mail.Addr
	j, _ := json.Marshal(be)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RESETBOT_LOADBOT="+string(j))
	if n := botProcs(); n != "" {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+n)
	}
	// started through childproc, the bot dies with this test binary however it ends; plain
	// pipes, so only the bot holds its ends
	inR, stdin, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	out, outW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, os.Stderr
	proc, err := childproc.Start(cmd)
	inR.Close()
	outW.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = proc.Wait(); out.Close() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "ready" {
			cert, _ := base64.StdEncoding.DecodeString(f[2])
			l.use(f[1], cert)
			return &childBot{pid: proc.Pid(), in: stdin, out: sc}
		}
	}
	b.Fatal("the bot process did not start")
	return nil
}

// processCPU is the CPU time a process has used so far, user and system, all its threads
// (utime and stime in /proc/<pid>/stat).
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// the fields after the command name, which is in parentheses and may hold spaces
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every Linux
// architecture Go supports (the kernel's ABI fixes it, whatever the kernel's own HZ).
const clockTicks = 100

// processRSS is a process's peak resident memory in MB (VmHWM).
func processRSS(pid int) float64 { return processStatus(pid, "VmHWM") }

// processStatus is a memory figure of /proc/<pid>/status in MB.
func processStatus(pid int, field string) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if m := regexp.MustCompile(field + `:\s*(\d+) kB`).FindSubmatch(b); m != nil {
		kb, _ := strconv.Atoi(string(m[1]))
		return float64(kb) / 1024
	}
	return 0
}

// TestHostNamesHypervisorAndIsolation: BENCHMARKS.md's machine line tells a PVM guest with
// page-table isolation from a KVM guest of the same processor.
func TestHostNamesHypervisorAndIsolation(t *testing.T) {
	const pvm = "[    0.000000] Hypervisor detected: PVM\n[    0.000001] kvm-clock: Using msrs\n"
	const kvm = "[    0.000000] Linux version 6.18\n[    0.000000] Hypervisor detected: KVM\n"
	const guestPTI = "processor\t: 0\nflags\t\t: fpu vme hypervisor pcid pti\n\nprocessor\t: 1\nflags\t\t: fpu hypervisor pti\n"
	const guest = "processor\t: 0\nflags\t\t: fpu vme hypervisor pcid invpcid\nbugs\t\t: sysret_ss_attrs\n"
	const metal = "processor\t: 0\nflags\t\t: fpu vme pcid\n"
	for _, c := range []struct{ info, klog, want string }{
		{guestPTI, pvm, "PVM guest, page-table isolation on"},
		{guest, kvm, "KVM guest"},
		{guest, "", "virtual machine"},                             // the log unreadable
		{guestPTI, "", "virtual machine, page-table isolation on"}, // the log unreadable
		{metal, "", ""},
		{"flags\t\t: fpu vme pti\n", "", "page-table isolation on"},
		{"flags\t\t: fpu options-pti\n", "", ""}, // a flag that only contains the word
		{"", "", ""},
	} {
		if got := hostOf(c.info, c.klog); got != c.want {
			t.Errorf("hostOf(%q, %q) = %q, want %q", c.info, c.klog, got, c.want)
		}
	}
}

// TestCPUModelNamesFamilyModelAndClock: BENCHMARKS.md's machine line tells two processors of
// the same short name apart.
func TestCPUModelNamesFamilyModelAndClock(t *testing.T) {
	const epyc = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\nstepping\t: 1\ncpu MHz\t\t: 2096.016\n\nprocessor\t: 1\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 1500.000\n"
	for _, c := range []struct{ info, want string }{
		{epyc, "AMD EPYC (family 26 model 2, 2096 MHz)"},
		{"model name\t: Intel(R) Xeon(R) Processor\n", "Intel(R) Xeon(R) Processor"},
		{"cpu family\t: 6\nmodel\t\t: 106\nmodel name\t: Intel(R) Xeon(R) Processor\n", "Intel(R) Xeon(R) Processor (family 6 model 106)"},
		{"processor\t: 0\n", "unknown CPU"},
		{"model name\t: \nstepping\t: 1\n", "unknown CPU"},
	} {
		if got := cpuModelOf(c.info); got != c.want {
			t.Errorf("cpuModelOf(%q) = %q, want %q", c.info, got, c.want)
		}
	}
}
