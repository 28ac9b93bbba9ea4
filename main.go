// Command resetbot is the self-service password reset and account unlock bot.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/app"
	"github.com/resetbot/resetbot/bot/auditship"
	"github.com/resetbot/resetbot/bot/teams"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph"
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
	if len(args) == 0 {
		// no arguments never starts a server by surprise: say what there is
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd := args[0]
	switch cmd {
	case "serve":
		return serve(ctx, getenv, stdin, stdout, stderr)
	case "demo":
		if err := app.Demo(ctx, getenv, stdin, stdout, stderr, demoDirectory); err != nil {
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
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "resetbot: unknown command %q\n%s", cmd, usage)
	return 2
}

// commands are every command run takes, with what each does; usage lists them all.
var commands = []struct{ name, what string }{
	{"serve", "run the bot (configured by environment variables; see README)"},
	{"check", "run the configuration and start-up checks (Graph permissions, Slack scopes, AD rights) and print a report; exit 0 or 2"},
	{"demo", "run offline in this terminal with a demo tenant and an embedded Redis"},
	{"audit export", "write the audit log as JSON lines (needs the REDIS_* variables)"},
	{"teams-package", "write the Teams app package (needs TEAMS_APP_ID and PUBLIC_BASE_URL)"},
	{"version", "print the version"},
	{"help", "print this list"},
}

var usage = func() string {
	var b strings.Builder
	b.WriteString("usage: resetbot COMMAND\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-14s %s\n", c.name, c.what)
	}
	return b.String()
}()

// cloud builds what needs the Graph SDK when Entra ID is configured: the directory, its
// start-up check and, when mail goes through Graph, the mailer.
func cloud(cfg bot.Config) (app.Cloud, error) {
	if !cfg.Entra() {
		return app.Cloud{}, nil
	}
	g, err := graph.New(graph.Config{BaseURL: cfg.GraphBaseURL,
		Credential: graph.NewClientCredential(cfg.TokenURL, cfg.ClientID, cfg.ClientSecret, nil)})
	if err != nil {
		return app.Cloud{}, err
	}
	// the token, then every application permission the features need (each missing one is a
	// problem of its own, named with its feature)
	c := app.Cloud{Directory: g, Checks: []app.Check{{Name: "graph", Run: func(ctx context.Context) error {
		if err := g.Check(ctx); err != nil {
			return err
		}
		return errors.Join(g.CheckPermissions(ctx, graph.Features{MailViaGraph: cfg.MailVia == "graph", ExpiryReminders: cfg.ExpiryReminders})...)
	}}}}
	if cfg.MailVia == "graph" {
		c.Mailer = graph.NewMailer(g, cfg.MailSender)
	}
	return c, nil
}

// demoDirectory is the real Graph client over the demo tenant.
func demoDirectory(t *graphtest.Tenant) (flows.Directory, error) {
	return graph.New(graph.Config{BaseURL: t.GraphURL(),
		Credential: graph.NewClientCredential(t.TokenURL(), t.ClientID, t.ClientSecret, nil)})
}

// checkCmd is `resetbot check`: the configuration and start-up checks serve runs, as a report
// an operator reads before going live. Exit status 0 when everything passed, 2 otherwise.
func checkCmd(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, errs := bot.FromEnv(getenv)
	errs = append(errs, cfg.Validate())
	if cfg.AD() {
		for _, b := range app.ADConfig(cfg, nil).Validate() {
			errs = append(errs, errors.New(b))
		}
	}
	var conf []error
	for _, e := range errs {
		if e != nil {
			for _, line := range strings.Split(e.Error(), "\n") {
				conf = append(conf, errors.New(line))
			}
		}
	}
	var c app.Cloud
	if len(conf) == 0 {
		var err error
		if c, err = cloud(cfg); err != nil {
			conf = append(conf, err)
		}
	}
	fmt.Fprintln(stdout, "resetbot check:")
	if !app.CheckOnly(ctx, cfg, conf, c, bot.NewLogger(stderr, cfg.LogLevel), stdout) {
		return 2
	}
	return 0
}

func serve(ctx context.Context, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, errs := bot.FromEnv(getenv)
	errs = append(errs, cfg.Validate())
	if os.Geteuid() == 0 && !cfg.AllowRoot {
		errs = append(errs, errors.New("resetbot does not serve as root: run it as an unprivileged user (the container image does), or set RESETBOT_ALLOW_ROOT=true"))
	}
	if cfg.AD() {
		for _, b := range app.ADConfig(cfg, nil).Validate() {
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
	c, err := cloud(cfg)
	if err == nil {
		err = app.Serve(ctx, cfg, c, app.Stdio{In: stdin, Out: stdout}, log, version)
	}
	var se *app.StartupError
	if errors.As(err, &se) {
		fmt.Fprintln(stderr, "resetbot: the start-up checks failed:")
		for _, p := range se.Problems {
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

// auditCmd is "resetbot audit export": the audit stream as JSON lines on stdout, for a SIEM.
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sinceFlag := fs.String("since", "", "only events from this time on: 2006-01-02, an RFC 3339 time, or an age such as 72h")
	if len(args) < 1 || args[0] != "export" || fs.Parse(args[1:]) != nil || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: resetbot audit export [--since 2006-01-02 | RFC 3339 time | 72h]")
		return 2
	}
	since, err := auditship.ParseSince(*sinceFlag, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "resetbot audit export:", err)
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
	n, err := store.Export(ctx, rdb, stdout, since)
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
