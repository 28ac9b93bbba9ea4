package app

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/console"
	"github.com/resetbot/resetbot/bot/metrics"
	"github.com/resetbot/resetbot/bot/notify"
	slackbot "github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/teams"
	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/emailcode"
	"github.com/resetbot/resetbot/flows/method/passkey"
	"github.com/resetbot/resetbot/flows/method/questions"
	"github.com/resetbot/resetbot/flows/method/smscode"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/flows/method/voicecall"
	"github.com/resetbot/resetbot/internal/pemcerts"
	"github.com/resetbot/resetbot/store"
)

// Directory is the deployment's directory as the caller built it: one directory, or Entra and
// Active Directory behind the hybrid router.
type Directory struct {
	// Directory is what the engine talks to; its Capabilities say what else it can do (the
	// roster for reminders and the report, expiries, AD's lockouts for the alerts).
	Directory flows.Directory
	// AD says Active Directory is configured (synced users are served).
	AD bool
}

// Slack is the Slack adapter's configuration in an App.
type Slack struct {
	slackbot.Config
	// Options are passed to the adapter (the load test turns Slack's own pacing off).
	Options []slackbot.Option
	// Observe, when set, wraps the engine the adapter drives (the load test counts each chat
	// step's Redis round trips).
	Observe func(slackbot.Engine) slackbot.Engine
}

// Console is the terminal chat in an App.
type Console struct {
	In     io.Reader
	Out    io.Writer
	People []console.Person
	// Ends says the App ends when the console does (the demo); otherwise the end of its input
	// ends only the console.
	Ends bool
	// Admin offers the bot-admin commands as "/sspr ..." lines (the demo, whose console can act
	// as its bot admins; a serve console never does).
	Admin bool
	// Lang is the chat language of the console's people (the demo's DEMO_LANG=de); "/lang de"
	// changes it while chatting.
	Lang string
}

// Options are what an App is built from. Redis, Crypto, Directory, Mailer and Log are required.
type Options struct {
	Redis redis.UniversalClient // the bot's client; the caller closes it after Run
	// AuditRedis is the audit writer's client (default Redis).
	AuditRedis  redis.UniversalClient
	AuditMaxAge time.Duration
	// AuditMaxEvents caps the audit stream (default store.AuditMaxLen); AuditSink, when set,
	// receives the audit trail as it grows (the shipper's cursor lives in Redis).
	AuditMaxEvents int
	AuditSink      flows.AuditSink
	Crypto         *store.Crypto
	// RedisWait is how many replicas every security-relevant write waits for (0: none).
	RedisWait int

	Directory Directory
	Mailer    flows.Mailer
	// Phone sends SMS and calls (nil: no phone methods), at most PhoneBudget an hour.
	Phone       flows.PhoneSender
	PhoneBudget int
	// PasskeyAAGUIDs is the allow-list of authenticator models for passkeys (PASSKEY_AAGUIDS;
	// empty: any passkey or security key that verifies its user)
	PasskeyAAGUIDs []string
	// PasskeyRoots is the PEM file of the allowed models' attestation roots
	// (PASSKEY_ATTESTATION_ROOTS), required with PasskeyAAGUIDs.
	PasskeyRoots string
	Clock        flows.Clock // default the wall clock
	Log          *slog.Logger

	BaseURL         string
	AllowPrivileged bool
	AdminGroups     []string
	HelpdeskGroups  []string
	// ExpiryReminders turns password expiry reminders on, ExpiryDays days before (default
	// flows.DefaultExpiryDays); the directory must be a flows.ExpirySource.
	ExpiryReminders bool
	ExpiryDays      []int
	// AdminAuthContext is the Conditional Access authentication context bot admins confirm
	// with (ADMIN_AUTH_CONTEXT); empty: the actions that need it are refused.
	AdminAuthContext string
	OIDC             *web.OIDC // nil: no Entra sign-in on the pages
	// Recover are the recovery page's limits (the store keeps the counts); zero values take
	// the web package's defaults.
	Recover web.RecoverOptions

	Metrics *metrics.Registry // nil: no metrics

	Slack   *Slack
	Teams   *teams.Config
	Console *Console

	// Listener serves the pages and the chat webhooks (nil: the caller serves Handler).
	Listener net.Listener
	// MetricsAddr serves /metrics on a listener of its own (needs Metrics).
	MetricsAddr string
	// RemindEvery is how often the reminder scheduler looks for due users (default a minute).
	RemindEvery time.Duration
	// LockoutPoll and AlertsPerDay turn on AD lockout alerts (0: off).
	LockoutPoll  time.Duration
	AlertsPerDay int
	// Version is logged when the bot starts serving.
	Version string
	// ShutdownTimeout bounds how long in-flight requests may take at shutdown (default 25 s).
	ShutdownTimeout time.Duration
}

// App is the assembled bot.
type App struct {
	Engine    *flows.Engine
	Store     *store.Store
	Auditor   *store.Auditor
	Slack     *slackbot.Adapter
	Teams     *teams.Adapter
	Console   *console.Console
	Reminders *flows.Reminders

	o       Options
	log     *slog.Logger
	notify  *router
	alerts  *alertFan
	mux     *http.ServeMux
	ready   atomic.Bool
	parts   []part
	closers []func()
	rdb     redis.UniversalClient
}

// part is one long-running piece. Parts stop by stage, and in the order they were added
// within a stage.
type part struct {
	name  string
	stage stage
	run   func(ctx context.Context) error
	ends  bool // the App ends when this part returns
}

// stage orders the shutdown: the listener stops first, so no new request starts; then what
// reads chat input; then the background work (which hands back its reminder claims and lockout
// lease); then the adapters' work in flight; the metrics listener last.
type stage int

const (
	stageListen stage = iota
	stageInput
	stageBackground
	stageDrain
	stageLast
)

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// New assembles the bot. Close releases what it started when Run is not called.
func New(ctx context.Context, o Options) (*App, error) {
	if o.Clock == nil {
		o.Clock = wallClock{}
	}
	if o.AuditRedis == nil {
		o.AuditRedis = o.Redis
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 25 * time.Second
	}
	if o.RemindEvery == 0 {
		o.RemindEvery = time.Minute
	}
	a := &App{o: o, log: o.Log, notify: &router{}, alerts: &alertFan{}, mux: http.NewServeMux(), rdb: o.Redis}
	st := store.New(o.Redis, o.Crypto)
	if o.RedisWait > 0 {
		st = st.Durable(o.RedisWait, 300*time.Millisecond)
	}
	if err := st.Preload(ctx); err != nil {
		return nil, err
	}
	a.Store = st
	ao := store.AuditOptions{MaxAge: o.AuditMaxAge, MaxLen: o.AuditMaxEvents}
	if o.Metrics != nil {
		ao.Lost = o.Metrics.AuditLost()
	}
	a.Auditor = store.NewAuditorWith(o.AuditRedis, o.Log, ao)
	a.closers = append(a.closers, a.Auditor.Close) // last: flushes the audit events of the steps that finished
	var audit flows.Auditor = a.Auditor
	if o.Metrics != nil {
		audit = o.Metrics.Audit(audit)
	}
	camp := &campaign{}
	ms, err := methods(o, st, audit)
	if err != nil {
		return nil, err
	}
	a.Engine = flows.New(flows.Deps{
		Directory: o.Directory.Directory, Sessions: st, Links: st, Enrollments: st, WebStates: st, Locales: st,
		Banned: flows.CommonPasswords(), Policies: st, Pending: st, Reminders: st, Helpdesk: st, SignIns: st, Campaign: camp.plan,
		Audit: audit, Alerts: a.alerts, Notifier: a.notify, Mailer: o.Mailer, MAC: o.Crypto,
		Clock: o.Clock, Rand: rand.Reader, Log: o.Log,
		Methods: ms,
	}, flows.Options{BaseURL: o.BaseURL, AllowPrivileged: o.AllowPrivileged, AdminGroups: o.AdminGroups, HelpdeskGroups: o.HelpdeskGroups, ExpiryReminders: o.ExpiryReminders, ADConfigured: o.Directory.AD,
		AdminAuthContext: o.AdminAuthContext})
	// revocations and notices of finished resets run after their answers: wait for them
	// before the audit writer and Redis close
	a.closers = append(a.closers, a.Engine.Drain)

	a.mux.Handle("/", web.New(a.Engine, o.OIDC, o.Crypto, st, o.Log).WithRecovery(recoverOptions(o.Recover, st)).Handler())
	a.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		rctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if !a.ready.Load() || o.Redis.Ping(rctx).Err() != nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	timed := func(platform string, h http.Handler) http.Handler {
		if o.Metrics == nil {
			return h
		}
		return o.Metrics.Timed(platform, h)
	}

	if o.Listener != nil {
		srv := newHTTPServer(a.mux)
		a.add("web", stageListen, func(ctx context.Context) error { return serveHTTP(ctx, srv, o.Listener, o.ShutdownTimeout) }, false)
	}
	var rosters []flows.ChatRoster
	if o.Slack != nil {
		var eng slackbot.Engine = a.Engine
		if o.Slack.Observe != nil {
			eng = o.Slack.Observe(eng)
		}
		sa, err := slackbot.New(o.Slack.Config, eng, st, o.Clock, o.Log, o.Slack.Options...)
		if err != nil {
			a.Close()
			return nil, err
		}
		a.Slack = sa
		a.notify.set(slackbot.Platform, sa)
		a.alerts.add(sa)
		rosters = append(rosters, sa)
		if o.Slack.Socket {
			a.add("slack socket mode", stageInput, sa.RunSocket, false)
		} else {
			a.mux.Handle("/slack/", timed("slack", sa.HTTPHandler()))
		}
		a.add("slack work", stageDrain, drain(sa.Wait), false)
	}
	if o.Teams != nil {
		ta, err := teams.New(*o.Teams, a.Engine, st, o.Clock, o.Log)
		if err != nil {
			a.Close()
			return nil, err
		}
		a.Teams = ta
		a.notify.set(teams.Platform, ta)
		rosters = append(rosters, ta)
		a.mux.Handle("/api/messages", timed("teams", ta.Handler()))
		a.add("teams work", stageDrain, drain(ta.Wait), false)
	}
	if c := o.Console; c != nil {
		a.Console = console.New(a.Engine, c.People, c.Out)
		if c.Lang != "" {
			a.Console.SetLang(c.Lang)
		}
		if c.Admin {
			a.Console.OfferAdmin(a.Engine)
		}
		if len(c.People) > 0 { // the demo's people get their reminders in the console
			rosters = append(rosters, a.Console)
		}
		a.notify.set(console.Platform, a.Console)
		a.add("console", stageInput, func(ctx context.Context) error {
			err := a.Console.Run(ctx, c.In)
			if c.Ends {
				return err
			}
			// the end of the terminal's input (systemd, a container without one) ends only the
			// console: the bot goes on serving
			if err != nil {
				o.Log.Warn("the console stopped reading its input", "err", err)
			}
			return nil
		}, c.Ends)
	}
	caps := o.Directory.Directory.Capabilities()
	if roster := caps.Roster; roster != nil && len(rosters) > 0 {
		rr := flows.NewReminders(a.Engine, st, roster, rosters...)
		a.Reminders, camp.r = rr, rr
		if o.Metrics != nil {
			o.Metrics.Reminders(metrics.ReminderCounts{Sent: &rr.Sent, Skipped: &rr.Skipped, Failed: &rr.Failed, Deferred: &rr.Deferred})
		}
		a.add("reminders", stageBackground, func(ctx context.Context) error {
			tick := time.NewTicker(o.RemindEvery)
			defer tick.Stop()
			return rr.Run(ctx, tick.C)
		}, false)
	}
	if src := caps.Expiries; src != nil && o.ExpiryReminders && len(rosters) > 0 {
		x := flows.NewExpiryReminders(a.Engine, st, st, src, rosters...)
		if len(o.ExpiryDays) > 0 {
			x.Days = o.ExpiryDays
		}
		a.add("expiry reminders", stageBackground, func(ctx context.Context) error {
			tick := time.NewTicker(o.RemindEvery)
			defer tick.Stop()
			return x.Run(ctx, tick.C, time.Hour)
		}, false)
		o.Log.Info("password expiry reminders on", "days", x.Days)
	}
	if len(o.HelpdeskGroups) > 0 {
		// helpdesk requests nobody answered are reported to their agent once, by one replica
		a.add("helpdesk timeouts", stageBackground, func(ctx context.Context) error {
			tick := time.NewTicker(15 * time.Second)
			defer tick.Stop()
			return a.Engine.RunHelpdeskSweep(ctx, tick.C)
		}, false)
	}
	if src := caps.Lockouts; src != nil && o.LockoutPoll > 0 {
		w := flows.NewLockoutWatch(a.Engine, src, st, st, holderName())
		w.Every, w.PerDay = o.LockoutPoll, o.AlertsPerDay
		a.add("lockout alerts", stageBackground, func(ctx context.Context) error { w.Run(ctx, bot.Sleep); return nil }, false)
		o.Log.Info("AD lockout alerts on", "every", o.LockoutPoll, "per_day", o.AlertsPerDay)
	}
	if o.AuditSink != nil {
		// it stops after the adapters' work in flight, flushing the audit writer before its last
		// round, so the events of the steps that finished are shipped too
		sh := store.NewShipper(o.AuditRedis, o.AuditSink, o.Log)
		sh.Flush = a.Auditor.Close
		a.add("audit shipping", stageLast, func(ctx context.Context) error {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			return sh.Run(ctx, tick.C)
		}, false)
	}
	if o.MetricsAddr != "" && o.Metrics != nil {
		// bound here, so an address in use is a start-up error and "serving" means it answers
		ln, err := net.Listen("tcp", o.MetricsAddr)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("metrics listen %s: %w", o.MetricsAddr, err)
		}
		a.closers = append(a.closers, func() { _ = ln.Close() }) // when Run never served it
		ms := newHTTPServer(o.Metrics.Handler())
		a.add("metrics", stageLast, func(ctx context.Context) error { return serveHTTP(ctx, ms, ln, o.ShutdownTimeout) }, false)
	}
	return a, nil
}

// methods are the verification methods this deployment can offer; SMS and voice only with a
// provider, always behind the deployment-wide hourly budget.
func methods(o Options, st *store.Store, audit flows.Auditor) ([]flows.Method, error) {
	aaguids, err := passkey.ParseAAGUIDs(strings.Join(o.PasskeyAAGUIDs, ","))
	if err != nil {
		return nil, fmt.Errorf("PASSKEY_AAGUIDS: %w", err)
	}
	var roots *x509.CertPool
	if o.PasskeyRoots != "" {
		b, err := os.ReadFile(o.PasskeyRoots)
		if err == nil {
			roots, err = pemcerts.Parse(b)
		}
		if err != nil {
			return nil, fmt.Errorf("PASSKEY_ATTESTATION_ROOTS: %w", err)
		}
	}
	ms := []flows.Method{
		totp.Method{Issuer: "resetbot", Rand: rand.Reader},
		emailcode.New(o.Mailer, o.Crypto, rand.Reader),
		questions.New(questions.DefaultParams, runtime.GOMAXPROCS(0)),
	}
	if o.Phone != nil {
		budget := &notify.Budget{Next: o.Phone, Audit: audit, Log: o.Log, Clock: o.Clock,
			Take: func(ctx context.Context) (bool, error) {
				return st.TakeBudget(ctx, "phone", o.PhoneBudget, time.Hour, o.Clock.Now())
			}}
		ms = append(ms, smscode.New(budget, o.Crypto, rand.Reader), voicecall.New(budget, o.Crypto, rand.Reader))
	}
	switch pk, err := passkey.New(passkey.Config{BaseURL: o.BaseURL, AAGUIDs: aaguids, Roots: roots}); {
	case o.BaseURL == "": // no pages (a reminder scheduler in tests): nowhere to use a passkey
	case errors.Is(err, passkey.ErrNoDomain):
		o.Log.Warn("passkeys are not offered", "reason", err.Error())
	case err != nil:
		return nil, err
	default:
		ms = append(ms, pk)
	}
	return ms, nil
}

func (a *App) add(name string, st stage, run func(ctx context.Context) error, ends bool) {
	a.parts = append(a.parts, part{name: name, stage: st, run: run, ends: ends})
	slices.SortStableFunc(a.parts, func(x, y part) int { return int(x.stage) - int(y.stage) })
}

// Handler serves the pages, /readyz and the chat webhooks (what the listener serves).
func (a *App) Handler() http.Handler { return a.mux }

// Route sends out-of-request messages for platform to n (tests add adapters they built).
func (a *App) Route(platform string, n flows.Notifier) { a.notify.set(platform, n) }

// Parts names the parts in the order they stop.
func (a *App) Parts() []string {
	names := make([]string, len(a.parts))
	for i, p := range a.parts {
		names[i] = p.name
	}
	return names
}

// Run starts every part and serves until ctx ends, a part fails, or a part the App ends with
// returns. Then it stops the parts one at a time in order, each after the one before returned,
// waits for every one, and releases what New started.
func (a *App) Run(ctx context.Context) error {
	defer a.Close()
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(a.parts))
	cancels := make([]context.CancelFunc, len(a.parts))
	for i, p := range a.parts {
		// each part stops on its own signal, not with ctx: in-flight work finishes in order
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cancels[i] = cancel
		go func() { results <- result{i, p.run(pctx)} }()
	}
	a.ready.Store(true)
	attrs := []any{"public", a.o.BaseURL, "version", a.o.Version, "parts", strings.Join(a.Parts(), ",")}
	if a.o.Listener != nil {
		attrs = append(attrs, "listen", a.o.Listener.Addr().String())
	}
	a.log.Info("resetbot serving", attrs...)
	done := make([]bool, len(a.parts))
	var errs []error
	record := func(r result) {
		done[r.i] = true
		if r.err != nil && !errors.Is(r.err, context.Canceled) {
			errs = append(errs, fmt.Errorf("%s: %w", a.parts[r.i].name, r.err))
		}
	}
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case r := <-results:
			record(r)
			if r.err != nil || a.parts[r.i].ends {
				break wait
			}
			a.log.Info("part ended", "part", a.parts[r.i].name)
		}
	}
	// graceful shutdown: not ready, no new requests, in-flight requests and steps finish, the
	// background work stops and hands back its reminder claims and lockout lease
	a.ready.Store(false)
	a.log.Info("shutting down")
	for i := range a.parts {
		cancels[i]()
		for !done[i] {
			record(<-results)
		}
		a.log.Debug("part stopped", "part", a.parts[i].name)
	}
	a.log.Info("stopped")
	return errors.Join(errs...)
}

// Close releases what New started (the audit writer, flushed). Run calls it.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// idleTimeout is how long a kept-alive connection may wait for its next request before the
// server closes it (net/http's zero would keep it for ever: every idle client, or one that
// opens connections and leaves them, would hold a descriptor and a goroutine until restart).
// It is longer than the idle time of the proxies that stand in front of the bot (Caddy's
// reverse proxy keeps idle connections 2 minutes, ingress-nginx's upstream keep-alive 60
// seconds), so they close first and never send a request on a connection the bot is closing.
const idleTimeout = 3 * time.Minute

// readTimeout is how long a request, headers and body, may take to arrive (the largest body the
// bot takes, a Teams activity of 256 KiB, needs less than 9 KB/s). Without it a client could
// send the headers of a POST and then its body a byte now and then, holding a connection and a
// goroutine for as long as it liked. It bounds the reading only: net/http clears the deadline
// once the body has been read, so a handler may take as long as its work takes (a page waiting
// for Graph to set a password is not cancelled).
const readTimeout = 40 * time.Second

// newHTTPServer is the server of the bot's listeners: the headers within 10 seconds, the whole
// request within readTimeout, an idle connection closed after idleTimeout.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: readTimeout, IdleTimeout: idleTimeout}
}

// serveHTTP serves on ln until ctx ends, then shuts the server down, letting requests in
// flight finish within timeout.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// drain is a part that, when stopped, waits for work still in flight.
func drain(wait func()) func(context.Context) error {
	return func(ctx context.Context) error { <-ctx.Done(); wait(); return nil }
}

// holderName names this replica in shared leases.
func holderName() string {
	h, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%x", h, os.Getpid(), b)
}

// alertFan hands security alerts to every adapter that can reach bot admins.
type alertFan struct {
	mu sync.RWMutex
	to []flows.Alerter
}

func (f *alertFan) add(a flows.Alerter) {
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

// campaign lets the engine ask the scheduler built after it for a reminder campaign; the
// scheduler plans it on its own goroutine.
type campaign struct{ r *flows.Reminders }

func (c *campaign) plan(ctx context.Context) (int, error) {
	if c.r == nil {
		return 0, errors.New("reminders are not running")
	}
	return c.r.Request(ctx)
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

// recoverOptions fills the recovery page's limits with the defaults and the store's counters.
func recoverOptions(r web.RecoverOptions, st *store.Store) web.RecoverOptions {
	r.Limiter = st
	for _, f := range []struct {
		v   *int
		def int
	}{{&r.PerAddress, web.DefaultRecoverPerAddress}, {&r.PerNetwork, web.DefaultRecoverPerNetwork},
		{&r.NoScriptPerAddress, web.DefaultRecoverNoScript}, {&r.SendsPerHour, web.DefaultRecoverSendsPerHour},
		{&r.ChallengeBits, web.DefaultChallengeBits}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	return r
}
