package bot

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/pemcerts"
)

// Config is the deployment configuration, read from the environment. It is never changeable
// from chat. Each variable is documented in the README.
type Config struct {
	Listen        string // LISTEN_ADDR: the web pages' listener
	PublicBaseURL string // PUBLIC_BASE_URL: where users reach the pages (https)

	RedisURL        string   // REDIS_URL: one node
	RedisAddrs      []string // REDIS_ADDRS: Sentinel or Cluster seeds
	RedisMasterName string   // REDIS_MASTER_NAME: Sentinel
	RedisCluster    bool     // REDIS_CLUSTER
	RedisPassword   string   // REDIS_PASSWORD
	RedisNoAOF      bool     // REDIS_ALLOW_NO_AOF: start although Redis does not log writes (AOF off)
	RedisWait       int      // REDIS_WAIT_REPLICAS: replicas that must acknowledge security writes (default 1 with Sentinel)
	AllowRoot       bool     // RESETBOT_ALLOW_ROOT: serve although running as root

	SealKeys  map[string][]byte // SEAL_KEYS: id:base64 of 32 bytes, comma separated; first seals
	SealKeyID string
	MACKey    []byte // MAC_KEY: base64 of at least 32 bytes
	// MACKeysOld (MAC_KEYS_OLD: base64 keys, comma-separated) are former MAC keys still accepted
	// for codes, links and page sessions made before a rotation; new MACs use MACKey.
	MACKeysOld [][]byte

	TenantID     string // GRAPH_TENANT_ID
	ClientID     string // GRAPH_CLIENT_ID
	ClientSecret string // GRAPH_CLIENT_SECRET
	GraphBaseURL string // GRAPH_BASE_URL (optional)
	TokenURL     string // GRAPH_TOKEN_URL (optional)

	ADURL          string        // AD_URL: ldaps://dc:636 or ldap://dc:389 (StartTLS); enables Active Directory
	ADCAFile       string        // AD_CA_FILE: PEM of the CA that signed the DCs' certificates
	ADServerName   string        // AD_SERVER_NAME: the name in the DCs' certificate, when not AD_URL's host
	ADBindDN       string        // AD_BIND_DN: the delegated service account
	ADBindPassword string        // AD_BIND_PASSWORD
	ADBaseDN       string        // AD_BASE_DN: where users are searched
	ADLockoutPoll  time.Duration // AD_LOCKOUT_POLL: how often new lockouts are looked for (default 30s; 0 = off)
	ADAlertsPerDay int           // AD_LOCKOUT_ALERTS_PER_DAY: lockout DMs per person and day (default 3)

	OIDCIssuer       string // OIDC_ISSUER: the directory sign-in for the web pages
	OIDCClientID     string // OIDC_CLIENT_ID (default GRAPH_CLIENT_ID)
	OIDCClientSecret string // OIDC_CLIENT_SECRET (default GRAPH_CLIENT_SECRET)
	// AdminAuthContext (ADMIN_AUTH_CONTEXT, e.g. c1) is the Conditional Access authentication
	// context whose policy requires MFA: bot admins confirm weakening changes and unblocks with
	// a sign-in that satisfies it. Unset: those actions are refused.
	AdminAuthContext string

	MailVia      string // MAIL_VIA: smtp (default) or graph
	MailSender   string // MAIL_SENDER: the mailbox Graph sendMail sends from
	SMTPAddr     string // SMTP_ADDR host:port
	SMTPFrom     string // SMTP_FROM
	SMTPUser     string // SMTP_USER
	SMTPPassword string // SMTP_PASSWORD
	SMTPSessions int    // SMTP_SESSIONS: relay sessions kept open at most (0: notify.DefaultMaxConns)

	AllowPrivileged bool     // ALLOW_PRIVILEGED_USERS
	AdminGroups     []string // BOT_ADMIN_GROUPS
	HelpdeskGroups  []string // HELPDESK_GROUPS: members verify callers with "verify <user>"
	// PASSWORD_EXPIRY_REMINDERS: DM people before their password expires, PASSWORD_EXPIRY_DAYS
	// before (default 14, 7, 3, 1; largest first)
	ExpiryReminders bool
	ExpiryDays      []int
	HelpdeskURL     string   // HELPDESK_URL
	EnabledFor      string   // POLICY_ENABLED_FOR: seeds the policy on first start
	EnabledGroups   []string // POLICY_GROUPS
	ConsoleChat     bool     // CONSOLE_CHAT: also chat on stdin (operators trying a tenant)
	// LocalesDir (LOCALES_DIR) holds extra message catalogs (<tag>.json) that add or replace
	// languages of the built-in ones.
	LocalesDir string

	SlackBotToken      string   // SLACK_BOT_TOKEN xoxb-…: enables Slack
	SlackAppToken      string   // SLACK_APP_TOKEN xapp-…: Socket Mode
	SlackSigningSecret string   // SLACK_SIGNING_SECRET: HTTP Events API
	SlackMode          string   // SLACK_MODE: socket (default with an app token) or http
	SlackTeamIDs       []string // SLACK_TEAM_IDS
	SlackEnterpriseIDs []string // SLACK_ENTERPRISE_IDS
	SlackAdminChannel  string   // SLACK_ADMIN_CHANNEL
	SlackAPIURL        string   // SLACK_API_URL: the Web API's base (GovSlack's, or a fake in tests); default Slack's

	PhoneURL        string // PHONE_PROVIDER_URL: Twilio-compatible REST API base
	PhoneAccountSID string // PHONE_ACCOUNT_SID
	PhoneAuthToken  string // PHONE_AUTH_TOKEN
	PhoneFrom       string // PHONE_FROM: the sending number, E.164
	PhoneBudget     int    // PHONE_BUDGET_PER_HOUR: SMS and calls for the whole deployment
	// PasskeyAAGUIDs (PASSKEY_AAGUIDS): the authenticator models (AAGUIDs) a passkey or
	// security key may be; empty: any that verifies its user
	PasskeyAAGUIDs []string
	// PasskeyRoots (PASSKEY_ATTESTATION_ROOTS): a PEM file of the allowed keys' vendors'
	// attestation root certificates, required with PASSKEY_AAGUIDS
	PasskeyRoots string

	// The recovery page (PUBLIC_BASE_URL/recover) for people who cannot reach chat: its abuse
	// limits, per client address and per network (/24, /64) every 10 minutes, per address for
	// browsers without JavaScript (no proof-of-work), codes sent per hour for everyone, and the
	// proof-of-work's difficulty in leading zero bits.
	RecoverPerAddress   int // RECOVER_PER_ADDRESS (default 30)
	RecoverPerNetwork   int // RECOVER_PER_NETWORK (default 120)
	RecoverNoScript     int // RECOVER_NO_SCRIPT_PER_ADDRESS (default 10)
	RecoverSendsPerHour int // RECOVER_SENDS_PER_HOUR (default 300)
	RecoverBits         int // RECOVER_CHALLENGE_BITS (default 15)
	// TrustedProxyHops (TRUSTED_PROXY_HOPS) is how many proxies in front of the bot add an
	// X-Forwarded-For entry that can be trusted (0, the default: the peer's address is the client's).
	TrustedProxyHops int
	LogLevel         string // LOG_LEVEL
	AuditMaxAgeDays  int    // AUDIT_MAX_AGE_DAYS: drop older audit events (default 400)
	AuditMaxEvents   int    // AUDIT_MAX_EVENTS: the audit stream's cap in Redis (default 100000)
	AuditLog         string // AUDIT_LOG: ship the audit trail as JSON lines to stdout (default), a file path, or off
	AuditHECURL      string // AUDIT_HEC_URL: also ship it to a SIEM's HTTP event collector (https)
	AuditHECToken    string // AUDIT_HEC_TOKEN: that collector's token
	MetricsAddr      string // METRICS_ADDR: Prometheus /metrics listener, e.g. :9090 (off when empty)

	TeamsAppID          string   // TEAMS_APP_ID: the bot's app registration; enables Teams
	TeamsAppPassword    string   // TEAMS_APP_PASSWORD: its client secret
	TeamsTenantID       string   // TEAMS_TENANT_ID: the bot's own tenant (single tenant)
	TeamsAllowedTenants []string // TEAMS_ALLOWED_TENANTS
	TeamsServiceHosts   []string // TEAMS_SERVICE_HOSTS: reply hosts (default Teams' own)
}

// FromEnv reads the configuration; problems are reported by Validate, all at once.
func FromEnv(getenv func(string) string) (Config, []error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var errs []error
	getenv, errs = withSecretFiles(getenv)
	g := func(k string) string { return strings.TrimSpace(getenv(k)) }
	list := func(k string) []string {
		var out []string
		for _, p := range strings.Split(g(k), ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	boolean := func(k string) bool {
		v := g(k)
		if v == "" {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: want true or false, got %q", k, v))
		}
		return b
	}
	c := Config{
		Listen: g("LISTEN_ADDR"), PublicBaseURL: strings.TrimSuffix(g("PUBLIC_BASE_URL"), "/"),
		RedisURL: g("REDIS_URL"), RedisAddrs: list("REDIS_ADDRS"), RedisMasterName: g("REDIS_MASTER_NAME"),
		RedisCluster: boolean("REDIS_CLUSTER"), RedisPassword: getenv("REDIS_PASSWORD"), RedisNoAOF: boolean("REDIS_ALLOW_NO_AOF"),
		AllowRoot: boolean("RESETBOT_ALLOW_ROOT"),
		TenantID:  g("GRAPH_TENANT_ID"), ClientID: g("GRAPH_CLIENT_ID"), ClientSecret: getenv("GRAPH_CLIENT_SECRET"),
		GraphBaseURL: g("GRAPH_BASE_URL"), TokenURL: g("GRAPH_TOKEN_URL"),
		OIDCIssuer: g("OIDC_ISSUER"), OIDCClientID: g("OIDC_CLIENT_ID"), OIDCClientSecret: getenv("OIDC_CLIENT_SECRET"),
		AdminAuthContext: g("ADMIN_AUTH_CONTEXT"),
		MailVia:          g("MAIL_VIA"), MailSender: g("MAIL_SENDER"),
		ADURL: g("AD_URL"), ADCAFile: g("AD_CA_FILE"), ADServerName: g("AD_SERVER_NAME"), ADBindDN: g("AD_BIND_DN"),
		ADBindPassword: getenv("AD_BIND_PASSWORD"), ADBaseDN: g("AD_BASE_DN"), ADLockoutPoll: 30 * time.Second, ADAlertsPerDay: 3,
		SMTPAddr: g("SMTP_ADDR"), SMTPFrom: g("SMTP_FROM"), SMTPUser: g("SMTP_USER"), SMTPPassword: getenv("SMTP_PASSWORD"),
		AllowPrivileged: boolean("ALLOW_PRIVILEGED_USERS"), AdminGroups: list("BOT_ADMIN_GROUPS"),
		HelpdeskGroups: list("HELPDESK_GROUPS"), ExpiryReminders: boolean("PASSWORD_EXPIRY_REMINDERS"),
		HelpdeskURL: g("HELPDESK_URL"), EnabledFor: g("POLICY_ENABLED_FOR"), EnabledGroups: list("POLICY_GROUPS"),
		ConsoleChat: boolean("CONSOLE_CHAT"), LogLevel: g("LOG_LEVEL"), LocalesDir: g("LOCALES_DIR"),
		SlackBotToken: getenv("SLACK_BOT_TOKEN"), SlackAppToken: getenv("SLACK_APP_TOKEN"),
		SlackSigningSecret: getenv("SLACK_SIGNING_SECRET"), SlackMode: g("SLACK_MODE"),
		SlackTeamIDs: list("SLACK_TEAM_IDS"), SlackEnterpriseIDs: list("SLACK_ENTERPRISE_IDS"), SlackAdminChannel: g("SLACK_ADMIN_CHANNEL"),
		SlackAPIURL: g("SLACK_API_URL"),
		PhoneURL:    g("PHONE_PROVIDER_URL"), PhoneAccountSID: g("PHONE_ACCOUNT_SID"), PhoneAuthToken: getenv("PHONE_AUTH_TOKEN"),
		PhoneFrom: g("PHONE_FROM"), PhoneBudget: 100, AuditMaxAgeDays: 400, MetricsAddr: g("METRICS_ADDR"),
		AuditMaxEvents: 100_000, AuditLog: orDefault(g("AUDIT_LOG"), "stdout"), AuditHECURL: g("AUDIT_HEC_URL"), AuditHECToken: getenv("AUDIT_HEC_TOKEN"),
		TeamsAppID: g("TEAMS_APP_ID"), TeamsAppPassword: getenv("TEAMS_APP_PASSWORD"), TeamsTenantID: g("TEAMS_TENANT_ID"),
		TeamsAllowedTenants: list("TEAMS_ALLOWED_TENANTS"), TeamsServiceHosts: list("TEAMS_SERVICE_HOSTS"),
		PasskeyAAGUIDs: list("PASSKEY_AAGUIDS"), PasskeyRoots: g("PASSKEY_ATTESTATION_ROOTS"),
	}
	// whole reads a whole number in [lo, hi]; a bad value is reported and the start refused
	whole := func(k string, lo, hi int, dst *int) {
		v := g(k)
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("%s must be a whole number from %d to %d, got %q", k, lo, hi, v))
		}
		*dst = n
	}
	whole("AUDIT_MAX_AGE_DAYS", 1, 3650, &c.AuditMaxAgeDays)
	whole("AUDIT_MAX_EVENTS", 1000, 100_000_000, &c.AuditMaxEvents)
	whole("SMTP_SESSIONS", 1, 50, &c.SMTPSessions)
	if c.ConsoleChat && g("AUDIT_LOG") == "" {
		c.AuditLog = "off" // standard output is the chat
	}
	if c.RedisMasterName != "" {
		c.RedisWait = 1
	}
	whole("REDIS_WAIT_REPLICAS", 0, 5, &c.RedisWait)
	if v := g("AD_LOCKOUT_POLL"); v != "" {
		d, err := time.ParseDuration(v)
		if v == "0" {
			d, err = 0, nil
		}
		if err != nil || (d != 0 && (d < 5*time.Second || d > time.Hour)) {
			errs = append(errs, fmt.Errorf("AD_LOCKOUT_POLL must be a duration from 5s to 1h, or 0 to turn lockout alerts off, got %q", v))
		}
		c.ADLockoutPoll = d
	}
	whole("AD_LOCKOUT_ALERTS_PER_DAY", 1, 24, &c.ADAlertsPerDay)
	days, err := ExpiryDays(g("PASSWORD_EXPIRY_DAYS"))
	if err != nil {
		errs = append(errs, fmt.Errorf("PASSWORD_EXPIRY_DAYS: %w", err))
	}
	c.ExpiryDays = days
	whole("PHONE_BUDGET_PER_HOUR", 1, 100000, &c.PhoneBudget)
	c.RecoverPerAddress, c.RecoverPerNetwork, c.RecoverNoScript, c.RecoverSendsPerHour, c.RecoverBits = 30, 120, 10, 300, 15
	whole("RECOVER_PER_ADDRESS", 1, 100000, &c.RecoverPerAddress)
	whole("RECOVER_PER_NETWORK", 1, 1000000, &c.RecoverPerNetwork)
	whole("RECOVER_NO_SCRIPT_PER_ADDRESS", 1, 100000, &c.RecoverNoScript)
	whole("RECOVER_SENDS_PER_HOUR", 1, 1000000, &c.RecoverSendsPerHour)
	whole("RECOVER_CHALLENGE_BITS", 8, 24, &c.RecoverBits)
	whole("TRUSTED_PROXY_HOPS", 0, 5, &c.TrustedProxyHops)
	if c.SlackMode == "" && c.SlackAppToken != "" {
		c.SlackMode = "socket"
	}
	if c.SlackMode == "" && c.SlackBotToken != "" {
		c.SlackMode = "http"
	}
	if c.Listen == "" {
		c.Listen = ":8080"
	}
	if c.OIDCClientID == "" {
		c.OIDCClientID = c.ClientID
	}
	if c.OIDCClientSecret == "" {
		c.OIDCClientSecret = c.ClientSecret
	}
	if c.TokenURL == "" && c.TenantID != "" {
		c.TokenURL = "https://login.microsoftonline.com/" + url.PathEscape(c.TenantID) + "/oauth2/v2.0/token"
	}
	if v := g("SEAL_KEYS"); v != "" {
		keys, cur, err := parseSealKeys(v)
		if err != nil {
			errs = append(errs, err)
		}
		c.SealKeys, c.SealKeyID = keys, cur
	}
	if v := g("MAC_KEY"); v != "" {
		k, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			errs = append(errs, errors.New("MAC_KEY: not base64"))
		}
		c.MACKey = k
	}
	for i, v := range list("MAC_KEYS_OLD") {
		k, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("MAC_KEYS_OLD: key %d is not base64", i+1))
			k = nil // keeps the numbering of the keys after it; reported here, not again below
		}
		c.MACKeysOld = append(c.MACKeysOld, k)
	}
	return c, errs
}

// SecretSettings are the settings that hold secrets. Each can also be given as a file: NAME_FILE
// names a file whose content is the value (the convention of Docker and Kubernetes secrets), so
// the secret never sits in the process environment or the unit or manifest that starts it.
var SecretSettings = []string{
	"REDIS_PASSWORD", "SEAL_KEYS", "MAC_KEY", "MAC_KEYS_OLD", "GRAPH_CLIENT_SECRET", "OIDC_CLIENT_SECRET", "AD_BIND_PASSWORD",
	"SMTP_PASSWORD", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "PHONE_AUTH_TOKEN", "TEAMS_APP_PASSWORD",
	"AUDIT_HEC_TOKEN",
}

// withSecretFiles returns getenv with every secret setting that is given as NAME_FILE read from
// its file (one trailing line break dropped, as editors and "echo" leave one). A setting given
// both ways, or a file that cannot be read, is a configuration error.
func withSecretFiles(getenv func(string) string) (func(string) string, []error) {
	var errs []error
	files := map[string]string{}
	for _, k := range SecretSettings {
		path := strings.TrimSpace(getenv(k + "_FILE"))
		if path == "" {
			continue
		}
		if getenv(k) != "" {
			errs = append(errs, fmt.Errorf("set %s or %s_FILE, not both", k, k))
			continue
		}
		b, err := readSecretFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s_FILE: cannot read the file: %w", k, err))
			continue
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if v == "" {
			errs = append(errs, fmt.Errorf("%s_FILE: %s is empty", k, path))
			continue
		}
		files[k] = v
	}
	return func(k string) string {
		if v, ok := files[k]; ok {
			return v
		}
		return getenv(k)
	}, errs
}

// readSecretFile reads a secret from a regular file of at most 64 KiB (a device or a pipe named
// by mistake must not hang or exhaust the start-up).
func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	const max = 64 << 10
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && len(b) > max {
		err = fmt.Errorf("%s is larger than 64 KiB", path)
	}
	return b, err
}

func parseSealKeys(s string) (map[string][]byte, string, error) {
	out := map[string][]byte{}
	cur := ""
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, b64, ok := strings.Cut(part, ":")
		if !ok {
			return nil, "", errors.New("SEAL_KEYS: want id:base64[,id:base64…]")
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, "", fmt.Errorf("SEAL_KEYS: key %q is not base64", id)
		}
		if cur == "" {
			cur = id
		}
		out[id] = key
	}
	return out, cur, nil
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.PublicBaseURL == "" {
		bad("PUBLIC_BASE_URL is required (the https address where users open the bot's pages)")
	} else if u, err := url.Parse(c.PublicBaseURL); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
		bad("PUBLIC_BASE_URL must be an https URL (http only on loopback), got %q", c.PublicBaseURL)
	}
	for _, id := range c.PasskeyAAGUIDs {
		if !isAAGUID(id) {
			bad("PASSKEY_AAGUIDS must list authenticator AAGUIDs like cb69481e-8ff7-4039-93ec-0a2729a154a8, got %q", id)
		}
	}
	switch {
	case len(c.PasskeyAAGUIDs) > 0 && c.PasskeyRoots == "":
		bad("PASSKEY_AAGUIDS needs PASSKEY_ATTESTATION_ROOTS: the attestation root certificates of the allowed keys' vendors")
	case c.PasskeyRoots != "":
		if b, err := os.ReadFile(c.PasskeyRoots); err != nil {
			bad("PASSKEY_ATTESTATION_ROOTS cannot be read: %v", err)
		} else if _, err := pemcerts.Parse(b); err != nil {
			bad("PASSKEY_ATTESTATION_ROOTS (%s): %v", c.PasskeyRoots, err)
		}
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("LISTEN_ADDR must be host:port, got %q", c.Listen)
	}
	if c.LocalesDir != "" {
		if err := flows.CheckLocales(os.DirFS(c.LocalesDir)); err != nil {
			bad("LOCALES_DIR %s: %v", c.LocalesDir, err)
		}
	}
	if c.RedisURL == "" && len(c.RedisAddrs) == 0 {
		bad("REDIS_URL or REDIS_ADDRS is required")
	}
	if c.RedisURL != "" && len(c.RedisAddrs) > 0 {
		bad("set REDIS_URL or REDIS_ADDRS, not both")
	}
	if c.RedisMasterName != "" && c.RedisCluster {
		bad("REDIS_MASTER_NAME (Sentinel) and REDIS_CLUSTER cannot both be set")
	}
	if len(c.SealKeys) == 0 {
		bad("SEAL_KEYS is required: id:base64 of 32 random bytes (openssl rand -base64 32)")
	}
	for id, k := range c.SealKeys {
		if len(k) != 32 {
			bad("SEAL_KEYS: key %q must be 32 bytes, is %d", id, len(k))
		}
	}
	if len(c.MACKey) < 32 {
		bad("MAC_KEY is required: base64 of at least 32 random bytes")
	}
	for i, k := range c.MACKeysOld {
		if k == nil {
			continue // not base64: reported already
		}
		if len(k) < 32 {
			bad("MAC_KEYS_OLD: key %d must be at least 32 bytes, is %d", i+1, len(k))
		}
		if len(c.MACKey) > 0 && bytes.Equal(k, c.MACKey) {
			bad("MAC_KEYS_OLD: key %d is MAC_KEY itself; list only the former keys", i+1)
		}
	}
	if !c.Entra() && !c.AD() {
		bad("configure a directory: GRAPH_TENANT_ID, GRAPH_CLIENT_ID and GRAPH_CLIENT_SECRET for Microsoft Entra ID, AD_URL, AD_BIND_DN, AD_BIND_PASSWORD and AD_BASE_DN for Active Directory, or both")
	}
	if c.Entra() {
		if c.TenantID == "" {
			bad("GRAPH_TENANT_ID is required (the Entra tenant)")
		}
		if c.ClientID == "" {
			bad("GRAPH_CLIENT_ID is required (the bot's app registration)")
		}
		if c.ClientSecret == "" {
			bad("GRAPH_CLIENT_SECRET is required")
		}
	}
	if c.AuditHECURL != "" {
		if u, err := url.Parse(c.AuditHECURL); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
			bad("AUDIT_HEC_URL must be an https URL, got %q", c.AuditHECURL)
		}
		if c.AuditHECToken == "" {
			bad("AUDIT_HEC_TOKEN is required with AUDIT_HEC_URL")
		}
	}
	for k, v := range map[string]string{"GRAPH_BASE_URL": c.GraphBaseURL, "GRAPH_TOKEN_URL": c.TokenURL, "OIDC_ISSUER": c.OIDCIssuer} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
			bad("%s must be an https URL, got %q", k, v)
		}
	}
	if c.OIDCIssuer == "" && c.Entra() {
		bad("OIDC_ISSUER is required for the directory sign-in (e.g. https://login.microsoftonline.com/<tenant>/v2.0)")
	}
	// authentication context ids are c1 … c99 (entra-docs concept-conditional-access-cloud-apps)
	if c.AdminAuthContext != "" && !authContextRE.MatchString(c.AdminAuthContext) {
		bad("ADMIN_AUTH_CONTEXT must be an authentication context id c1 … c99, got %q", c.AdminAuthContext)
	}
	if c.AdminAuthContext != "" && !c.Entra() {
		bad("ADMIN_AUTH_CONTEXT needs Microsoft Entra ID (GRAPH_*, OIDC_ISSUER): the step-up is an Entra sign-in")
	}
	if c.MailVia == "graph" && !c.Entra() {
		bad("MAIL_VIA=graph needs Microsoft Graph (GRAPH_TENANT_ID, GRAPH_CLIENT_ID, GRAPH_CLIENT_SECRET)")
	}
	if c.TeamsAppID != "" && !c.Entra() {
		bad("Teams needs Microsoft Entra ID (GRAPH_*): Teams names people by their Entra object id")
	}
	switch c.MailVia {
	case "", "smtp":
		if c.SMTPAddr == "" {
			bad("SMTP_ADDR is required (host:port of the mail relay for codes and notices), or MAIL_VIA=graph")
		} else if _, _, err := net.SplitHostPort(c.SMTPAddr); err != nil {
			bad("SMTP_ADDR must be host:port, got %q", c.SMTPAddr)
		}
		if c.SMTPFrom == "" || !strings.Contains(c.SMTPFrom, "@") {
			bad("SMTP_FROM is required: the sender address")
		}
	case "graph":
		if !strings.Contains(c.MailSender, "@") {
			bad("MAIL_VIA=graph needs MAIL_SENDER, the mailbox to send from (e.g. resetbot@contoso.com)")
		}
	default:
		bad("MAIL_VIA must be smtp or graph, got %q", c.MailVia)
	}
	if c.HelpdeskURL != "" {
		if u, err := url.Parse(c.HelpdeskURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			bad("HELPDESK_URL must be an http(s) URL, got %q", c.HelpdeskURL)
		}
	}
	switch c.EnabledFor {
	case "", "none", "all":
	case "selected":
		if len(c.EnabledGroups) == 0 {
			bad("POLICY_ENABLED_FOR=selected needs POLICY_GROUPS (group object ids)")
		}
	default:
		bad("POLICY_ENABLED_FOR must be none, selected or all, got %q", c.EnabledFor)
	}
	if c.SlackBotToken != "" || c.SlackAppToken != "" || c.SlackSigningSecret != "" {
		if !strings.HasPrefix(c.SlackBotToken, "xoxb-") {
			bad("SLACK_BOT_TOKEN must be a bot token (xoxb-…)")
		}
		switch c.SlackMode {
		case "socket":
			if !strings.HasPrefix(c.SlackAppToken, "xapp-") {
				bad("SLACK_MODE=socket needs SLACK_APP_TOKEN, an app-level token (xapp-…)")
			}
		case "http":
			if len(c.SlackSigningSecret) < 16 {
				bad("SLACK_MODE=http needs SLACK_SIGNING_SECRET")
			}
		default:
			bad("SLACK_MODE must be socket or http, got %q", c.SlackMode)
		}
		if len(c.SlackTeamIDs) == 0 {
			bad("SLACK_TEAM_IDS must list the workspace ids the bot serves (T…, in the workspace's URL app.slack.com/client/T…/ or auth.test's team_id)")
		}
		if u, err := url.Parse(c.SlackAPIURL); c.SlackAPIURL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !strings.HasSuffix(c.SlackAPIURL, "/")) {
			bad("SLACK_API_URL must be the Web API's base URL ending in /, like https://slack-gov.com/api/, got %q", c.SlackAPIURL)
		}
	}
	if c.PhoneAccountSID != "" || c.PhoneAuthToken != "" || c.PhoneFrom != "" || c.PhoneURL != "" {
		if c.PhoneAccountSID == "" || c.PhoneAuthToken == "" {
			bad("the phone provider needs PHONE_ACCOUNT_SID and PHONE_AUTH_TOKEN")
		}
		if len(c.PhoneFrom) < 8 || c.PhoneFrom[0] != '+' {
			bad("PHONE_FROM must be the sending number in E.164 form, like +14255550100")
		}
		if u, err := url.Parse(c.PhoneURL); c.PhoneURL != "" && (err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())))) {
			bad("PHONE_PROVIDER_URL must be an https URL, got %q", c.PhoneURL)
		}
	}
	if c.TeamsAppID != "" || c.TeamsAppPassword != "" {
		if c.TeamsAppID == "" || c.TeamsAppPassword == "" {
			bad("Teams needs TEAMS_APP_ID and TEAMS_APP_PASSWORD")
		}
		if c.TeamsTenantID == "" {
			bad("Teams needs TEAMS_TENANT_ID, the bot's own tenant (single-tenant registration)")
		}
		if len(c.TeamsAllowedTenants) == 0 {
			bad("Teams needs TEAMS_ALLOWED_TENANTS, the tenant ids whose users the bot serves")
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("METRICS_ADDR must be host:port, got %q", c.MetricsAddr)
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "", "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL must be debug, info, warn or error, got %q", c.LogLevel)
	}
	return errors.Join(errs...)
}

var authContextRE = regexp.MustCompile(`^c([1-9]|[1-9][0-9])$`)

// Entra reports whether Microsoft Entra ID (Graph) is configured.
func (c Config) Entra() bool {
	return c.TenantID != "" || c.ClientID != "" || c.ClientSecret != "" || c.GraphBaseURL != ""
}

// AD reports whether Active Directory is configured; its own settings are checked by graph/ad.
func (c Config) AD() bool {
	return c.ADURL != "" || c.ADBindDN != "" || c.ADBaseDN != ""
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isAAGUID reports whether s is a UUID in its usual 8-4-4-4-12 hex form, other than all zeros
// (what authenticators send when they do not say their model).
func isAAGUID(s string) bool {
	if len(s) != 36 || strings.Trim(s, "0-") == "" {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", r):
			return false
		}
	}
	return true
}

// ExpiryDays reads PASSWORD_EXPIRY_DAYS ("14,7,3,1", the default when empty): whole days from 1
// to 90, each once, largest first.
func ExpiryDays(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return []int{14, 7, 3, 1}, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 90 {
			return nil, fmt.Errorf("%q is not a number of days from 1 to 90", strings.TrimSpace(f))
		}
		if slices.Contains(out, n) {
			return nil, fmt.Errorf("%d is listed twice", n)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}
