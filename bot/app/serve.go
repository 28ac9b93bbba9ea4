package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/auditship"
	"github.com/resetbot/resetbot/bot/metrics"
	"github.com/resetbot/resetbot/bot/notify"
	slackbot "github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/teams"
	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph/ad"
	"github.com/resetbot/resetbot/store"
)

// Cloud is what the caller builds with the Graph SDK when Entra ID is configured: the
// directory, its start-up checks and, when mail goes through Graph, the mailer. Zero without
// Entra ID.
type Cloud struct {
	Directory flows.Directory
	Checks    []Check
	Mailer    flows.Mailer
}

// Stdio is the terminal serve may chat on (CONSOLE_CHAT).
type Stdio struct {
	In  io.Reader
	Out io.Writer
}

// ADConfig is the Active Directory client's configuration from the deployment's.
func ADConfig(cfg bot.Config, log *slog.Logger) ad.Config {
	return ad.Config{URL: cfg.ADURL, CAFile: cfg.ADCAFile, ServerName: cfg.ADServerName, BindDN: cfg.ADBindDN,
		BindPassword: cfg.ADBindPassword, BaseDN: cfg.ADBaseDN, AllowPrivileged: cfg.AllowPrivileged, Log: log}
}

// deployment is what serve connects to before it assembles the bot.
type deployment struct {
	rdb     redis.UniversalClient
	dir     Directory
	cloud   Cloud
	onprem  *ad.Directory
	smtp    *notify.SMTP // nil when mail goes through Graph
	mailer  flows.Mailer
	signIn  *web.OIDC // set by the oidc check
	cfg     bot.Config
	version string
}

// checks are the start-up checks of a deployment: Redis (with its append-only log unless
// allowed off), each directory (for AD also the service account's rights), the OIDC discovery
// document, the SMTP relay, the Slack app's scopes and admin channel. Add a check here
// (or to Cloud.Checks for what needs the Graph SDK) and serve runs it with the others.
func (d *deployment) checks() []Check {
	cs := []Check{{"redis", func(ctx context.Context) error { return store.CheckDurable(ctx, d.rdb, d.cfg.RedisNoAOF) }}}
	cs = append(cs, d.cloud.Checks...)
	if d.onprem != nil {
		// the bind, then what the service account may write (each attribute it cannot, with the fix)
		cs = append(cs, Check{"active directory", func(ctx context.Context) error {
			if err := d.onprem.Check(ctx); err != nil {
				return err
			}
			return problems(d.onprem.CheckRights(ctx))
		}})
	}
	if d.cfg.SlackBotToken != "" {
		// the app's scopes (each missing one with the feature that needs it) and the admin channel
		cs = append(cs, Check{"slack", func(ctx context.Context) error { return problems(slackbot.Check(ctx, SlackConfig(d.cfg))) }})
	}
	if d.cfg.OIDCIssuer != "" {
		cs = append(cs, Check{"oidc", func(ctx context.Context) (err error) {
			d.signIn, err = web.NewOIDC(ctx, d.cfg.OIDCIssuer, d.cfg.OIDCClientID, d.cfg.OIDCClientSecret, d.cfg.PublicBaseURL, time.Now)
			return err
		}})
	}
	if d.smtp != nil {
		cs = append(cs, Check{"smtp", d.smtp.Check})
	}
	return cs
}

// connect builds what the configuration names (Redis, the directories, the mailer) for the
// start-up checks; done releases it.
func connect(cfg bot.Config, cloud Cloud, log *slog.Logger, version string) (d *deployment, done func(), err error) {
	rdb, err := store.Connect(store.Options{URL: cfg.RedisURL, Addrs: cfg.RedisAddrs, MasterName: cfg.RedisMasterName,
		Cluster: cfg.RedisCluster, Password: cfg.RedisPassword})
	if err != nil {
		return nil, nil, err
	}
	d = &deployment{rdb: rdb, cloud: cloud, cfg: cfg, version: version}
	done = func() { rdb.Close() }
	if cfg.AD() {
		if d.onprem, err = ad.New(ADConfig(cfg, log)); err != nil {
			rdb.Close()
			return nil, nil, err
		}
		done = func() { d.onprem.Close(); rdb.Close() }
	}
	d.dir = directory(cloud.Directory, d.onprem)
	d.mailer = cloud.Mailer
	if d.mailer == nil {
		d.smtp = &notify.SMTP{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, User: cfg.SMTPUser, Password: cfg.SMTPPassword, MaxConns: cfg.SMTPSessions}
		d.mailer = d.smtp
		closeRest := done
		done = func() { d.smtp.Close(); closeRest() } // the relay sessions kept between messages
	}
	return d, done, nil
}

// CheckOnly runs the start-up checks without serving (`resetbot check`) and writes a report
// with one line per check; it returns whether every check passed. confProblems are the
// configuration's own problems: when there are any, nothing is connected.
func CheckOnly(ctx context.Context, cfg bot.Config, confProblems []error, cloud Cloud, log *slog.Logger, w io.Writer) bool {
	results := []Result{{Name: "configuration", Problems: confProblems}}
	if len(confProblems) == 0 {
		d, done, err := connect(cfg, cloud, log, "")
		if err != nil {
			results = append(results, Result{Name: "connect", Problems: []error{err}})
		} else {
			defer done()
			results = append(results, CheckResults(ctx, d.checks())...)
		}
	}
	return Report(w, results)
}

// Serve runs the bot as the configuration says until ctx ends: it connects Redis and the
// directories, runs the start-up checks (a *StartupError lists every problem), assembles the
// bot and runs it. version is logged.
func Serve(ctx context.Context, cfg bot.Config, cloud Cloud, term Stdio, log *slog.Logger, version string) error {
	if cfg.LocalesDir != "" {
		if err := flows.LoadLocales(os.DirFS(cfg.LocalesDir)); err != nil {
			return err
		}
	}
	crypto, err := store.NewCrypto(store.Keys{SealKeys: cfg.SealKeys, CurrentID: cfg.SealKeyID, MACKey: cfg.MACKey, OldMACKeys: cfg.MACKeysOld})
	if err != nil {
		return err
	}
	d, done, err := connect(cfg, cloud, log, version)
	if err != nil {
		return err
	}
	defer done()
	rdb := d.rdb
	reg := metrics.New()
	rdb.AddHook(reg.RedisHook())
	if err := RunChecks(ctx, d.checks()); err != nil {
		return err
	}
	sink, closeSink, err := auditship.FromConfig(cfg, term.Out, bot.PooledClient(10*time.Second))
	if err != nil {
		return err
	}
	defer closeSink()
	o := Options{Redis: rdb, AuditMaxAge: time.Duration(cfg.AuditMaxAgeDays) * 24 * time.Hour, AuditMaxEvents: cfg.AuditMaxEvents,
		AuditSink: sink, Crypto: crypto, RedisWait: cfg.RedisWait,
		Directory: d.dir, Mailer: d.mailer, PhoneBudget: cfg.PhoneBudget, PasskeyAAGUIDs: cfg.PasskeyAAGUIDs, PasskeyRoots: cfg.PasskeyRoots, Log: log,
		BaseURL: cfg.PublicBaseURL, AllowPrivileged: cfg.AllowPrivileged, AdminGroups: cfg.AdminGroups, HelpdeskGroups: cfg.HelpdeskGroups, ExpiryReminders: cfg.ExpiryReminders, ExpiryDays: cfg.ExpiryDays, AdminAuthContext: cfg.AdminAuthContext, OIDC: d.signIn,
		Metrics: reg, MetricsAddr: cfg.MetricsAddr, LockoutPoll: cfg.ADLockoutPoll, AlertsPerDay: cfg.ADAlertsPerDay,
		Recover: web.RecoverOptions{PerAddress: cfg.RecoverPerAddress, PerNetwork: cfg.RecoverPerNetwork, NoScriptPerAddress: cfg.RecoverNoScript,
			SendsPerHour: cfg.RecoverSendsPerHour, ChallengeBits: cfg.RecoverBits, TrustedHops: cfg.TrustedProxyHops}}
	if cfg.PhoneAccountSID != "" {
		o.Phone = &notify.Twilio{BaseURL: orDefault(cfg.PhoneURL, "https://api.twilio.com"), AccountSID: cfg.PhoneAccountSID,
			AuthToken: cfg.PhoneAuthToken, From: cfg.PhoneFrom}
	}
	chats := 0
	if cfg.SlackBotToken != "" {
		o.Slack = &Slack{Config: SlackConfig(cfg)}
		chats++
		log.Info("slack enabled", "mode", cfg.SlackMode, "teams", strings.Join(cfg.SlackTeamIDs, ","))
	}
	if cfg.TeamsAppID != "" {
		o.Teams = &teams.Config{AppID: cfg.TeamsAppID, AppSecret: cfg.TeamsAppPassword, TenantID: cfg.TeamsTenantID,
			AllowedTenants: cfg.TeamsAllowedTenants, ServiceHosts: cfg.TeamsServiceHosts}
		chats++
		log.Info("teams enabled", "tenants", strings.Join(cfg.TeamsAllowedTenants, ","))
	}
	if cfg.ConsoleChat {
		o.Console = &Console{In: term.In, Out: term.Out}
		chats++
	}
	if chats == 0 {
		log.Warn("no chat platform is configured: set SLACK_BOT_TOKEN (or CONSOLE_CHAT=true to chat on this terminal)")
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	o.Listener = ln
	o.Version = version
	a, err := New(ctx, o)
	if err != nil {
		ln.Close()
		return err
	}
	if err := SeedPolicy(ctx, a.Store, cfg); err != nil {
		ln.Close()
		a.Close()
		return err
	}
	return a.Run(ctx)
}

// directory is one directory, or Entra and Active Directory behind the hybrid router. Lockouts
// are read through the router when people chat as their Entra accounts, else straight from AD.
func directory(cloud flows.Directory, onprem *ad.Directory) Directory {
	switch {
	case cloud != nil && onprem != nil:
		r := flows.Router{Cloud: cloud, OnPrem: onprem}
		return Directory{Directory: r, AD: true}
	case onprem != nil:
		return Directory{Directory: onprem, AD: true}
	default:
		return Directory{Directory: cloud}
	}
}

// SeedPolicy writes the first policy from the environment when none is stored yet.
func SeedPolicy(ctx context.Context, st *store.Store, cfg bot.Config) error {
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

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// SlackConfig is the Slack adapter's part of the deployment's configuration.
func SlackConfig(cfg bot.Config) slackbot.Config {
	return slackbot.Config{BotToken: cfg.SlackBotToken, AppToken: cfg.SlackAppToken, APIURL: cfg.SlackAPIURL,
		SigningSecret: cfg.SlackSigningSecret, Socket: cfg.SlackMode == "socket", TeamIDs: cfg.SlackTeamIDs,
		EnterpriseIDs: cfg.SlackEnterpriseIDs, AdminChannel: cfg.SlackAdminChannel}
}

// problems joins a check's findings into one error, each listed on its own by RunChecks.
func problems(ps []string) error {
	var errs []error
	for _, p := range ps {
		errs = append(errs, errors.New(p))
	}
	return errors.Join(errs...)
}
