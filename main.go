// Command resetbot is the self-service password reset and account unlock bot.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/check"
	"github.com/resetbot/resetbot/bot/console"
	"github.com/resetbot/resetbot/bot/metrics"
	"github.com/resetbot/resetbot/bot/notify"
	"github.com/resetbot/resetbot/bot/notify/phonetest"
	slackbot "github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/teams"
	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/emailcode"
	"github.com/resetbot/resetbot/flows/method/questions"
	"github.com/resetbot/resetbot/flows/method/smscode"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/flows/method/voicecall"
	"github.com/resetbot/resetbot/graph"
	"github.com/resetbot/resetbot/graph/ad"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "serve":
		return serve(ctx, getenv, stdin, stdout, stderr)
	case "demo":
		if err := demo(ctx, getenv, stdin, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "resetbot demo:", err)
			return 1
		}
		return 0
	case "check":
		return checkCmd(ctx, getenv, stdout, stderr)
	case "audit":
		return auditCmd(ctx, args[1:], getenv, stdout, stderr)
	case "teams-package":
		return teamsPackage(args[1:], getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "resetbot", version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprintln(stdout, "usage: resetbot [serve | check | demo | audit export | teams-package | version]\n  serve         run the bot (configured by environment variables; see README)\n  check         run the configuration and start-up checks (Graph permissions too) and print a report; exit 0 or 2\n  demo          run offline in this terminal with a demo tenant and an embedded Redis\n  audit export  write the audit log as JSON lines (needs the REDIS_* variables)\n  teams-package write the Teams app package (needs TEAMS_APP_ID and PUBLIC_BASE_URL)")
		return 0
	}
	fmt.Fprintf(stderr, "resetbot: unknown command %q (want serve, demo or version)\n", cmd)
	return 2
}

// parts are what both serve and demo assemble.
type parts struct {
	dir         flows.Directory
	mailer      flows.Mailer
	notifier    flows.Notifier
	store       *store.Store
	crypto      *store.Crypto
	audit       flows.Auditor
	log         *slog.Logger
	clock       flows.Clock
	baseURL     string
	allowPriv   bool
	admins      []string
	authContext string // ADMIN_AUTH_CONTEXT
	phone       flows.PhoneSender
	phoneBudget int
	campaign    *campaign
	alerts      flows.Alerter
	ad          bool // Active Directory is configured
}

// dirset is the deployment's directories: Entra ID, Active Directory, or both behind the
// hybrid router.
type dirset struct {
	dir    flows.Directory
	cloud  *graph.Directory
	onprem *ad.Directory
}

func adConfig(cfg bot.Config, log *slog.Logger) ad.Config {
	return ad.Config{URL: cfg.ADURL, CAFile: cfg.ADCAFile, ServerName: cfg.ADServerName, BindDN: cfg.ADBindDN,
		BindPassword: cfg.ADBindPassword, BaseDN: cfg.ADBaseDN, AllowPrivileged: cfg.AllowPrivileged, Log: log}
}

// directories builds what the configuration names; startupChecks then proves they answer.
func directories(cfg bot.Config, log *slog.Logger) (dirset, error) {
	var d dirset
	if cfg.Entra() {
		g, err := graph.New(graph.Config{BaseURL: cfg.GraphBaseURL,
			Credential: graph.NewClientCredential(cfg.TokenURL, cfg.ClientID, cfg.ClientSecret, nil)})
		if err != nil {
			return d, err
		}
		d.cloud, d.dir = g, g
	}
	if cfg.AD() {
		a, err := ad.New(adConfig(cfg, log))
		if err != nil {
			return d, err
		}
		d.onprem, d.dir = a, a
	}
	if d.cloud != nil && d.onprem != nil {
		d.dir = flows.Router{Cloud: d.cloud, OnPrem: d.onprem}
	}
	return d, nil
}

// lockouts is where new AD lockouts are read: through the router when people chat as their
// Entra accounts, else straight from AD; nil without AD.
func (d dirset) lockouts() flows.LockoutSource {
	if d.onprem == nil {
		return nil
	}
	if r, ok := d.dir.(flows.Router); ok {
		return r
	}
	return d.onprem
}

func (d dirset) close() {
	if d.onprem != nil {
		d.onprem.Close()
	}
}

// holderName names this replica in shared leases.
func holderName() string {
	h, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%x", h, os.Getpid(), b)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// alertFan hands security alerts to every adapter that can reach bot admins.
type alertFan struct {
	mu sync.RWMutex
	to []flows.Alerter
}

func (f *alertFan) set(a flows.Alerter) {
	f.mu.Lock()
	f.to = append(f.to, a)
	f.mu.Unlock()
}

func (f *alertFan) Alert(ctx context.Context, e flows.AuditEvent, text string) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, a := range f.to {
		a.Alert(ctx, e, text)
	}
}

// campaign lets the engine start a reminder campaign on the scheduler built after it.
type campaign struct{ r *flows.Reminders }

func (c *campaign) plan(ctx context.Context) (int, error) {
	if c == nil || c.r == nil {
		return 0, errors.New("reminders are not running")
	}
	return c.r.Plan(ctx)
}

// router sends out-of-request messages to the adapter of the chat's platform.
type router struct {
	mu sync.RWMutex
	by map[string]flows.Notifier
}

func (r *router) set(platform string, n flows.Notifier) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by == nil {
		r.by = map[string]flows.Notifier{}
	}
	r.by[platform] = n
}

func (r *router) Notify(ctx context.Context, c flows.ChatRef, rs []flows.Reply) error {
	r.mu.RLock()
	n := r.by[c.Platform]
	r.mu.RUnlock()
	if n == nil {
		return fmt.Errorf("no chat adapter for platform %q", c.Platform)
	}
	return n.Notify(ctx, c, rs)
}

func engine(p parts) *flows.Engine {
	return flows.New(flows.Deps{
		Directory: p.dir, Sessions: p.store, Links: p.store, Enrollments: p.store, WebStates: p.store,
		Banned: flows.CommonPasswords(), Policies: p.store, Pending: p.store, Reminders: p.store, SignIns: p.store, Campaign: p.campaign.plan, Audit: p.audit, Alerts: p.alerts, Notifier: p.notifier, Mailer: p.mailer, MAC: p.crypto,
		Clock: p.clock, Rand: rand.Reader, Log: p.log,
		Methods: methods(p),
	}, flows.Options{BaseURL: p.baseURL, AllowPrivileged: p.allowPriv, AdminGroups: p.admins, ADConfigured: p.ad,
		AdminAuthContext: p.authContext})
}

// methods are the verification methods this deployment can offer; SMS and voice only with a
// provider, always behind the deployment-wide hourly budget.
func methods(p parts) []flows.Method {
	ms := []flows.Method{
		totp.Method{Issuer: "resetbot", Rand: rand.Reader},
		emailcode.New(p.mailer, p.crypto, rand.Reader),
		questions.New(questions.DefaultParams, runtime.GOMAXPROCS(0)),
	}
	if p.phone != nil {
		budget := &notify.Budget{Next: p.phone, Audit: p.audit, Log: p.log, Clock: p.clock,
			Take: func(ctx context.Context) (bool, error) {
				return p.store.TakeBudget(ctx, "phone", p.phoneBudget, time.Hour, p.clock.Now())
			}}
		ms = append(ms, smscode.New(budget, p.crypto, rand.Reader), voicecall.New(budget, p.crypto, rand.Reader))
	}
	return ms
}

func serve(ctx context.Context, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, errs := bot.FromEnv(getenv)
	errs = append(errs, cfg.Validate())
	if os.Geteuid() == 0 && !cfg.AllowRoot {
		errs = append(errs, errors.New("resetbot does not serve as root: run it as an unprivileged user (the container image does), or set RESETBOT_ALLOW_ROOT=true"))
	}
	if cfg.AD() {
		for _, b := range adConfig(cfg, nil).Validate() {
			errs = append(errs, errors.New(b))
		}
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(stderr, "resetbot: the configuration has problems:")
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(stderr, "  -", line)
		}
		return 2
	}
	log := bot.NewLogger(stderr, cfg.LogLevel)
	err := serveWith(ctx, cfg, log, stdin, stdout)
	var se *startupError
	if errors.As(err, &se) {
		fmt.Fprintln(stderr, "resetbot: the start-up checks failed:")
		for _, p := range se.problems {
			fmt.Fprintln(stderr, "  -", p)
		}
		return 2
	}
	if err != nil {
		log.Error("resetbot stopped", "err", err)
		return 1
	}
	return 0
}

func serveWith(ctx context.Context, cfg bot.Config, log *slog.Logger, stdin io.Reader, stdout io.Writer) error {
	rdb, err := store.Connect(store.Options{URL: cfg.RedisURL, Addrs: cfg.RedisAddrs, MasterName: cfg.RedisMasterName,
		Cluster: cfg.RedisCluster, Password: cfg.RedisPassword})
	if err != nil {
		return err
	}
	defer rdb.Close()
	reg := metrics.New()
	rdb.AddHook(reg.RedisHook())
	crypto, err := store.NewCrypto(store.Keys{SealKeys: cfg.SealKeys, CurrentID: cfg.SealKeyID, MACKey: cfg.MACKey})
	if err != nil {
		return err
	}
	dirs, err := directories(cfg, log)
	if err != nil {
		return err
	}
	defer dirs.close()
	var mailer flows.Mailer
	smtpMailer := &notify.SMTP{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, User: cfg.SMTPUser, Password: cfg.SMTPPassword}
	mailer = smtpMailer
	if cfg.MailVia == "graph" {
		mailer, smtpMailer = graph.NewMailer(dirs.cloud, cfg.MailSender), nil
	}
	o, err := startupChecks(ctx, cfg, rdb, dirs, smtpMailer)
	if err != nil {
		return err
	}
	dir := dirs.dir
	st := store.New(rdb, crypto).Durable(cfg.RedisWait, 300*time.Millisecond)
	if err := st.Preload(ctx); err != nil {
		return err
	}
	if err := seedPolicy(ctx, st, cfg); err != nil {
		return err
	}
	storeAudit := store.NewAuditor(rdb, log, time.Duration(cfg.AuditMaxAgeDays)*24*time.Hour)
	defer storeAudit.Close() // last: flushes the audit events of the steps that finished
	late := &router{}
	alerts := &alertFan{}
	p := parts{alerts: alerts, dir: dir, store: st, crypto: crypto, audit: reg.Audit(storeAudit), log: log, clock: realClock{},
		baseURL: cfg.PublicBaseURL, allowPriv: cfg.AllowPrivileged, notifier: late, admins: cfg.AdminGroups, authContext: cfg.AdminAuthContext,
		ad: dirs.onprem != nil, mailer: mailer, phoneBudget: cfg.PhoneBudget}
	if cfg.PhoneAccountSID != "" {
		p.phone = &notify.Twilio{BaseURL: orDefault(cfg.PhoneURL, "https://api.twilio.com"), AccountSID: cfg.PhoneAccountSID,
			AuthToken: cfg.PhoneAuthToken, From: cfg.PhoneFrom}
	}
	p.campaign = &campaign{}
	e := engine(p)

	// background work (Socket Mode, reminders, lockout alerts) ends with its own context, after
	// the listeners stopped, so that in-flight steps finish first
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var bg sync.WaitGroup
	errc := make(chan error, 4)
	var ready atomic.Bool
	mux := http.NewServeMux()
	mux.Handle("/", web.New(e, o, crypto, st, log).Handler())
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		rctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if !ready.Load() || rdb.Ping(rctx).Err() != nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	chats := 0
	var rosters []flows.ChatRoster
	var waits []func() // in-flight chat work to wait for at shutdown
	defer e.Drain()    // revocations and notices of finished resets, before the store closes
	if cfg.SlackBotToken != "" {
		sa, err := slackbot.New(slackbot.Config{BotToken: cfg.SlackBotToken, AppToken: cfg.SlackAppToken,
			SigningSecret: cfg.SlackSigningSecret, Socket: cfg.SlackMode == "socket", TeamIDs: cfg.SlackTeamIDs,
			EnterpriseIDs: cfg.SlackEnterpriseIDs, AdminChannel: cfg.SlackAdminChannel}, e, st, realClock{}, log)
		if err != nil {
			return err
		}
		late.set(slackbot.Platform, sa)
		rosters = append(rosters, sa)
		alerts.set(sa)
		waits = append(waits, sa.Wait)
		if cfg.SlackMode == "socket" {
			bg.Add(1)
			go func() {
				defer bg.Done()
				if err := sa.RunSocket(work); err != nil {
					errc <- fmt.Errorf("slack socket mode: %w", err)
				}
			}()
		} else {
			mux.Handle("/slack/", reg.Timed("slack", sa.HTTPHandler()))
		}
		chats++
		log.Info("slack enabled", "mode", cfg.SlackMode, "teams", strings.Join(cfg.SlackTeamIDs, ","))
	}
	if cfg.TeamsAppID != "" {
		ta, err := teams.New(teams.Config{AppID: cfg.TeamsAppID, AppSecret: cfg.TeamsAppPassword, TenantID: cfg.TeamsTenantID,
			AllowedTenants: cfg.TeamsAllowedTenants, ServiceHosts: cfg.TeamsServiceHosts}, e, st, realClock{}, log)
		if err != nil {
			return err
		}
		late.set(teams.Platform, ta)
		rosters = append(rosters, ta)
		mux.Handle("/api/messages", reg.Timed("teams", ta.Handler()))
		chats++
		log.Info("teams enabled", "tenants", strings.Join(cfg.TeamsAllowedTenants, ","))
	}
	if cfg.ConsoleChat {
		c := console.New(e, nil, stdout)
		late.set(console.Platform, c)
		go func() { errc <- c.Run(ctx, stdin) }()
		chats++
	}
	if chats == 0 {
		log.Warn("no chat platform is configured: set SLACK_BOT_TOKEN (or CONSOLE_CHAT=true to chat on this terminal)")
	}
	if roster, ok := dir.(flows.Roster); ok && len(rosters) > 0 {
		p.campaign.r = flows.NewReminders(e, st, roster, rosters...)
		rr := p.campaign.r
		reg.Reminders(metrics.ReminderCounts{Sent: &rr.Sent, Skipped: &rr.Skipped, Failed: &rr.Failed, Deferred: &rr.Deferred})
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		bg.Add(1)
		go func() { defer bg.Done(); _ = rr.Run(work, tick.C) }()
	}
	if src := dirs.lockouts(); src != nil && cfg.ADLockoutPoll > 0 {
		w := flows.NewLockoutWatch(e, src, st, st, holderName())
		w.Every, w.PerDay = cfg.ADLockoutPoll, cfg.ADAlertsPerDay
		bg.Add(1)
		go func() { defer bg.Done(); w.Run(work, bot.Sleep) }()
		log.Info("AD lockout alerts on", "every", cfg.ADLockoutPoll, "per_day", cfg.ADAlertsPerDay)
	}
	if cfg.MetricsAddr != "" {
		ms := &http.Server{Addr: cfg.MetricsAddr, Handler: reg.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- ms.ListenAndServe() }()
		defer ms.Close()
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { errc <- srv.Serve(ln) }()
	ready.Store(true)
	log.Info("resetbot serving", "listen", ln.Addr().String(), "public", cfg.PublicBaseURL, "version", version)
	var runErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			runErr = err
		}
	}
	// graceful shutdown: not ready, no new requests, in-flight requests and steps finish, the
	// background work stops and hands back its reminder claims and lockout lease
	ready.Store(false)
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && runErr == nil {
		runErr = err
	}
	stopWork()
	bg.Wait()
	for _, w := range waits {
		w()
	}
	log.Info("stopped")
	return runErr
}

// startupChecks proves, all at once, that what the configuration names is there: Redis (with
// its append-only log unless allowed off), a Graph token with every application permission the
// features need, the OIDC discovery document, the SMTP relay, the AD service account's bind. It
// returns the sign-in client, or every problem.
func startupChecks(ctx context.Context, cfg bot.Config, rdb redis.UniversalClient, dirs dirset, mail *notify.SMTP) (*web.OIDC, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	checks, o := startupCheckList(cfg, rdb, dirs, mail)
	if problems := check.Problems(check.Run(ctx, checks)); len(problems) > 0 {
		sort.Slice(problems, func(i, j int) bool { return problems[i].Error() < problems[j].Error() })
		return nil, &startupError{problems}
	}
	return *o, nil
}

// startupCheckList is the named start-up checks of serve and `resetbot check`; append one here
// to extend both. The OIDC check fills in the sign-in client it discovered.
func startupCheckList(cfg bot.Config, rdb redis.UniversalClient, dirs dirset, mail *notify.SMTP) ([]check.Check, **web.OIDC) {
	o := new(*web.OIDC)
	checks := []check.Check{check.One("redis", func(ctx context.Context) error { return store.CheckDurable(ctx, rdb, cfg.RedisNoAOF) })}
	if dirs.cloud != nil {
		checks = append(checks, check.Check{Name: "graph", Run: func(ctx context.Context) []error {
			if err := dirs.cloud.Check(ctx); err != nil {
				return []error{err}
			}
			return dirs.cloud.CheckPermissions(ctx, graph.Features{MailViaGraph: cfg.MailVia == "graph"})
		}})
	}
	if dirs.onprem != nil {
		checks = append(checks, check.One("active directory", dirs.onprem.Check))
	}
	if cfg.OIDCIssuer != "" {
		checks = append(checks, check.One("oidc", func(ctx context.Context) (err error) {
			*o, err = web.NewOIDC(ctx, cfg.OIDCIssuer, cfg.OIDCClientID, cfg.OIDCClientSecret, cfg.PublicBaseURL, time.Now)
			return err
		}))
	}
	if mail != nil {
		checks = append(checks, check.One("smtp", mail.Check))
	}
	return checks, o
}

// checkCmd runs the configuration and start-up checks without serving and prints a report:
// what an operator runs before going live. Exit status 0 when everything passed, 2 otherwise.
func checkCmd(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, errs := bot.FromEnv(getenv)
	errs = append(errs, cfg.Validate())
	if cfg.AD() {
		for _, b := range adConfig(cfg, nil).Validate() {
			errs = append(errs, errors.New(b))
		}
	}
	conf := check.Result{Name: "configuration"}
	for _, e := range errs {
		if e != nil {
			for _, line := range strings.Split(e.Error(), "\n") {
				conf.Problems = append(conf.Problems, errors.New(line))
			}
		}
	}
	results := []check.Result{conf}
	if len(conf.Problems) == 0 {
		log := bot.NewLogger(stderr, cfg.LogLevel)
		rdb, err := store.Connect(store.Options{URL: cfg.RedisURL, Addrs: cfg.RedisAddrs, MasterName: cfg.RedisMasterName,
			Cluster: cfg.RedisCluster, Password: cfg.RedisPassword})
		if err != nil {
			fmt.Fprintln(stderr, "resetbot check:", err)
			return 2
		}
		defer rdb.Close()
		dirs, err := directories(cfg, log)
		if err != nil {
			fmt.Fprintln(stderr, "resetbot check:", err)
			return 2
		}
		defer dirs.close()
		var mail *notify.SMTP
		if cfg.MailVia != "graph" {
			mail = &notify.SMTP{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, User: cfg.SMTPUser, Password: cfg.SMTPPassword}
		}
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		checks, _ := startupCheckList(cfg, rdb, dirs, mail)
		results = append(results, check.Run(ctx, checks)...)
	}
	fmt.Fprintln(stdout, "resetbot check:")
	if !check.Report(stdout, results) {
		return 2
	}
	return 0
}

// startupError lists everything a start-up check found.
type startupError struct{ problems []error }

func (e *startupError) Error() string { return errors.Join(e.problems...).Error() }

// seedPolicy writes the first policy from the environment when none is stored yet.
func seedPolicy(ctx context.Context, st *store.Store, cfg bot.Config) error {
	_, v, err := st.GetPolicy(ctx)
	if err != nil || v > 0 {
		return err
	}
	p := flows.DefaultPolicy()
	if cfg.EnabledFor != "" {
		p.EnabledFor = flows.EnabledFor(cfg.EnabledFor)
	}
	p.Groups = cfg.EnabledGroups
	if cfg.HelpdeskURL != "" {
		p.HelpdeskURL = cfg.HelpdeskURL
	}
	if _, err := st.PutPolicy(ctx, p, 0); err != nil && !errors.Is(err, flows.ErrStale) {
		return fmt.Errorf("seed policy: %w", err)
	}
	return nil
}

// demo runs everything offline: an embedded Redis, the fake tenant, the web pages on loopback
// and the console chat on this terminal.
func demo(ctx context.Context, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	log := bot.NewLogger(stderr, orDefault(getenv("LOG_LEVEL"), "warn"))
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return fmt.Errorf("embedded redis: %w", err)
	}
	defer m.Close()
	rdb, err := store.Connect(store.Options{URL: "redis://" + m.Addr()})
	if err != nil {
		return err
	}
	defer rdb.Close()

	tenant := graphtest.New()
	users := graphtest.DemoUsers(tenant)
	tenant.OnChange = func(c graphtest.Change, u graphtest.User) {
		switch c.Kind {
		case "password":
			fmt.Fprintf(stdout, "\n🏢 [demo tenant] password of %s changed (force change at next sign-in: %v)\n", u.UPN, c.ForceChange)
		case "revoke":
			fmt.Fprintf(stdout, "\n🏢 [demo tenant] sign-in sessions of %s revoked\n", u.UPN)
		}
	}
	if err := tenant.Start(); err != nil {
		return err
	}
	defer tenant.Close()

	addr := orDefault(getenv("DEMO_ADDR"), "127.0.0.1:8080")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return errors.New("the demo listens on loopback only; set DEMO_ADDR to 127.0.0.1:PORT")
	}
	base := "http://" + ln.Addr().String()

	keys := store.Keys{SealKeys: map[string][]byte{"demo": randomBytes(32)}, CurrentID: "demo", MACKey: randomBytes(32)}
	crypto, err := store.NewCrypto(keys)
	if err != nil {
		return err
	}
	dir, err := graph.New(graph.Config{BaseURL: tenant.GraphURL(),
		Credential: graph.NewClientCredential(tenant.TokenURL(), tenant.ClientID, tenant.ClientSecret, nil)})
	if err != nil {
		return err
	}
	st := store.New(rdb, crypto)
	if err := st.Preload(ctx); err != nil {
		return err
	}
	pol := flows.DefaultPolicy()
	pol.EnabledFor, pol.Groups, pol.HelpdeskURL = flows.EnabledSelected, []string{graphtest.SSPRGroup}, "https://helpdesk.contoso.test"
	pol.Methods = []flows.MethodKind{flows.MethodTOTP, flows.MethodEmail, flows.MethodSMS, flows.MethodVoice, flows.MethodQuestions}
	pol.PhoneCountries = []string{"1", "44"}
	if _, err := st.PutPolicy(ctx, pol, 0); err != nil {
		return err
	}
	phone := phonetest.Start()
	defer phone.Close()
	phone.OnSend = func(s phonetest.Sent) {
		if s.Kind == "sms" {
			fmt.Fprintf(stdout, "\n📱 [sms to %s] %s\n", s.To, s.Text)
		} else {
			fmt.Fprintf(stdout, "\n📞 [call to %s] %s\n", s.To, s.Text)
		}
	}
	audit := store.NewAuditor(rdb, log)
	defer audit.Close()
	late := &router{}
	e := engine(parts{dir: dir, store: st, crypto: crypto, audit: audit, log: log, clock: realClock{}, baseURL: base,
		notifier: late, mailer: &notify.Outbox{W: stdout}, phoneBudget: 100,
		phone: &notify.Twilio{BaseURL: phone.URL, AccountSID: phone.SID, AuthToken: phone.Token, From: "+14255550100"}})
	o, err := web.NewOIDC(ctx, tenant.Issuer(), tenant.ClientID, tenant.ClientSecret, base, time.Now)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: web.New(e, o, crypto, st, log).Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	people := make([]console.Person, 0, len(users)+1)
	notes := []string{"in the SSPR group: can register and reset", "not in the SSPR group", "Global Administrator (privileged)",
		"synced from on-premises AD", "disabled account"}
	for i, u := range users {
		people = append(people, console.Person{UPN: u.UPN, Note: notes[i]})
	}
	people = append(people, console.Person{UPN: "mallory@elsewhere.test", Note: "not in the directory"})
	c := console.New(e, people, stdout)
	late.set(console.Platform, c)
	fmt.Fprintf(stdout, `
==============================================================================
 resetbot DEMO — offline, loopback only, nothing is kept after you quit.
 Embedded Redis %s · demo tenant %s · web pages %s
 Demo users sign in to the demo tenant with the password: %s
 Emails appear below as [outbox]; directory changes as [demo tenant].
 Type "help" after choosing who you are; /who lists users; /quit ends.
==============================================================================
`, m.Addr(), tenant.URL(), base, graphtest.DemoPassword)
	return c.Run(ctx, stdin)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// auditCmd is "resetbot audit export": the audit stream as JSON lines on stdout, for a SIEM.
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] != "export" {
		fmt.Fprintln(stderr, "usage: resetbot audit export")
		return 2
	}
	cfg, _ := bot.FromEnv(getenv)
	if cfg.RedisURL == "" && len(cfg.RedisAddrs) == 0 {
		fmt.Fprintln(stderr, "resetbot audit export: set REDIS_URL or REDIS_ADDRS")
		return 2
	}
	rdb, err := store.Connect(store.Options{URL: cfg.RedisURL, Addrs: cfg.RedisAddrs, MasterName: cfg.RedisMasterName,
		Cluster: cfg.RedisCluster, Password: cfg.RedisPassword})
	if err != nil {
		fmt.Fprintln(stderr, "resetbot audit export:", err)
		return 1
	}
	defer rdb.Close()
	n, err := store.Export(ctx, rdb, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "resetbot audit export:", err)
		return 1
	}
	fmt.Fprintf(stderr, "exported %d events\n", n)
	return 0
}

// teamsPackage writes the Teams app package (manifest.json and icons, zipped) from TEAMS_APP_ID
// and PUBLIC_BASE_URL: "resetbot teams-package [file]" (default resetbot-teams.zip).
func teamsPackage(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	out := "resetbot-teams.zip"
	if len(args) == 1 {
		out = args[0]
	}
	appID, base := getenv("TEAMS_APP_ID"), getenv("PUBLIC_BASE_URL")
	if appID == "" || base == "" {
		fmt.Fprintln(stderr, "resetbot teams-package: set TEAMS_APP_ID and PUBLIC_BASE_URL")
		return 2
	}
	f, err := os.Create(out)
	if err != nil {
		fmt.Fprintln(stderr, "resetbot teams-package:", err)
		return 1
	}
	v := "1.0.0"
	if err := teams.WritePackage(f, appID, base, v); err != nil {
		f.Close()
		fmt.Fprintln(stderr, "resetbot teams-package:", err)
		return 1
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(stderr, "resetbot teams-package:", err)
		return 1
	}
	fmt.Fprintln(stdout, "wrote", out, "- upload it in the Teams admin center (Teams apps > Manage apps > Upload)")
	return 0
}
