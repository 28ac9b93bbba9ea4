package bot_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func good() map[string]string {
	k := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	return map[string]string{
		"PUBLIC_BASE_URL": "https://resetbot.contoso.com", "REDIS_URL": "redis://10.0.0.5:6379/0", "SEAL_KEYS": "k1:" + k,
		"MAC_KEY": k, "GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "s",
		"OIDC_ISSUER": "https://login.microsoftonline.com/t/v2.0", "SMTP_ADDR": "smtp.contoso.com:587", "SMTP_FROM": "resetbot@contoso.com",
	}
}

func TestConfigValid(t *testing.T) {
	c, errs := bot.FromEnv(env(good()))
	if len(errs) != 0 || c.Validate() != nil {
		t.Fatalf("%v %v", errs, c.Validate())
	}
	if c.AuditLog != "stdout" || c.AuditMaxEvents != 100_000 {
		t.Fatalf("audit defaults: %q %d", c.AuditLog, c.AuditMaxEvents)
	}
	if c.OIDCClientID != "c" || c.TokenURL != "https://login.microsoftonline.com/t/oauth2/v2.0/token" || c.SealKeyID != "k1" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestConfigReportsEveryProblemAtOnce(t *testing.T) {
	m := good()
	m["PUBLIC_BASE_URL"] = "http://resetbot.contoso.com"
	m["SEAL_KEYS"] = "k1:" + base64.StdEncoding.EncodeToString([]byte("short"))
	m["SMTP_ADDR"] = "nohost"
	m["POLICY_ENABLED_FOR"] = "selected"
	m["LOG_LEVEL"] = "loud"
	m["ALLOW_PRIVILEGED_USERS"] = "maybe"
	m["AUDIT_MAX_EVENTS"] = "10"
	m["SMTP_SESSIONS"] = "0"
	m["AUDIT_HEC_URL"] = "http://siem.contoso.com/services/collector/event"
	m["ADMIN_AUTH_CONTEXT"] = "mfa"
	c, errs := bot.FromEnv(env(m))
	all := append(errs, c.Validate())
	var b strings.Builder
	for _, e := range all {
		if e != nil {
			b.WriteString(e.Error() + "\n")
		}
	}
	for _, want := range []string{"PUBLIC_BASE_URL must be an https", "must be 32 bytes", "SMTP_ADDR must be host:port",
		"POLICY_GROUPS", "LOG_LEVEL", "ALLOW_PRIVILEGED_USERS", "AUDIT_MAX_EVENTS must be a whole number from 1000", "SMTP_SESSIONS must be a whole number from 1 to 50",
		"AUDIT_HEC_URL must be an https URL", "AUDIT_HEC_TOKEN is required", "ADMIN_AUTH_CONTEXT must be an authentication context id"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}

func TestAdminAuthContext(t *testing.T) {
	m := good()
	m["ADMIN_AUTH_CONTEXT"] = "c7"
	c, _ := bot.FromEnv(env(m))
	if err := c.Validate(); err != nil || c.AdminAuthContext != "c7" {
		t.Fatalf("%v %q", err, c.AdminAuthContext)
	}
}

func TestLoopbackHTTPAllowed(t *testing.T) {
	m := good()
	m["PUBLIC_BASE_URL"] = "http://127.0.0.1:8080"
	c, _ := bot.FromEnv(env(m))
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoggerRedactsSecretsByName(t *testing.T) {
	var buf bytes.Buffer
	log := bot.NewLogger(&buf, "debug")
	log.Info("x", "code", "123456", "password", "hunter2", "link_token", "tok", "totp_secret", "JBSW", "Authorization", "Bearer x", "user", "alice")
	out := buf.String()
	for _, s := range []string{"123456", "hunter2", `"tok"`, "JBSW", "Bearer x"} {
		if strings.Contains(out, s) {
			t.Errorf("logged %q: %s", s, out)
		}
	}
	if !strings.Contains(out, "alice") {
		t.Fatal("non-secret attribute lost")
	}
}

// LOCALES_DIR is checked at start-up with every other setting: a catalog missing a key or
// changing a placeholder is named, a complete one passes.
func TestLocalesDirChecked(t *testing.T) {
	dir := t.TempDir()
	en, err := os.ReadFile("../flows/locales/en.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(en, &m); err != nil {
		t.Fatal(err)
	}
	m["language.name"] = "Svenska"
	good, _ := json.Marshal(m)
	delete(m, "help")
	bad, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, "sv.json"), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := bot.Config{LocalesDir: dir}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "LOCALES_DIR") || !strings.Contains(err.Error(), "sv: help is missing") {
		t.Fatalf("a broken catalog passed: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sv.json"), good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil && strings.Contains(err.Error(), "LOCALES_DIR") {
		t.Fatalf("a complete catalog refused: %v", err)
	}
}

// PASSKEY_AAGUIDS takes authenticator AAGUIDs only; a bad one is reported at start-up with the
// other problems.
func TestPasskeyAAGUIDs(t *testing.T) {
	m := good()
	m["PASSKEY_AAGUIDS"] = "cb69481e-8ff7-4039-93ec-0a2729a154a8, EE882879-721C-4913-9775-3DFCCE97072A"
	// an allow-list needs the vendors' attestation roots
	if c, _ := bot.FromEnv(env(m)); c.Validate() == nil || !strings.Contains(c.Validate().Error(), "PASSKEY_ATTESTATION_ROOTS") {
		t.Fatalf("an allow-list without roots: %v", c.Validate())
	}
	dir := t.TempDir()
	roots, notPEM := filepath.Join(dir, "roots.pem"), filepath.Join(dir, "roots.txt")
	if err := os.WriteFile(roots, selfSignedPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{notPEM, filepath.Join(dir, "missing.pem")} {
		m["PASSKEY_ATTESTATION_ROOTS"] = f
		if c, _ := bot.FromEnv(env(m)); c.Validate() == nil || !strings.Contains(c.Validate().Error(), "PASSKEY_ATTESTATION_ROOTS") {
			t.Fatalf("roots %s: %v", f, c.Validate())
		}
	}
	m["PASSKEY_ATTESTATION_ROOTS"] = roots
	c, _ := bot.FromEnv(env(m))
	if err := c.Validate(); err != nil || len(c.PasskeyAAGUIDs) != 2 {
		t.Fatalf("%v %q", err, c.PasskeyAAGUIDs)
	}
	for _, bad := range []string{"yubikey", "00000000-0000-0000-0000-000000000000", "cb69481e8ff7403993ec0a2729a154a8"} {
		m["PASSKEY_AAGUIDS"] = bad
		m["LISTEN_ADDR"] = "nope"
		c, _ := bot.FromEnv(env(m))
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "PASSKEY_AAGUIDS") || !strings.Contains(err.Error(), "LISTEN_ADDR") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// selfSignedPEM is a CA certificate in PEM, standing in for a vendor's attestation root.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Vendor Attestation Root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// The recovery page's limits have defaults, are read when set, and bad values are reported
// with the others.
func TestRecoverySettings(t *testing.T) {
	c, errs := bot.FromEnv(env(good()))
	if len(errs) != 0 || c.RecoverPerAddress != 30 || c.RecoverPerNetwork != 120 || c.RecoverNoScript != 10 ||
		c.RecoverSendsPerHour != 300 || c.RecoverBits != 15 || c.TrustedProxyHops != 0 {
		t.Fatalf("defaults %+v %v", c, errs)
	}
	m := good()
	m["RECOVER_PER_ADDRESS"], m["TRUSTED_PROXY_HOPS"] = "7", "2"
	if c, errs = bot.FromEnv(env(m)); len(errs) != 0 || c.RecoverPerAddress != 7 || c.TrustedProxyHops != 2 {
		t.Fatalf("set %+v %v", c, errs)
	}
	m["RECOVER_CHALLENGE_BITS"], m["RECOVER_PER_NETWORK"], m["TRUSTED_PROXY_HOPS"] = "40", "lots", "-1"
	_, errs = bot.FromEnv(env(m))
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error() + "\n")
	}
	for _, want := range []string{"RECOVER_CHALLENGE_BITS must be a whole number from 8 to 24", "RECOVER_PER_NETWORK", "TRUSTED_PROXY_HOPS"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}

// PASSWORD_EXPIRY_DAYS: the default 14, 7, 3, 1; a list largest first; bad lists are reported
// at start-up with the rest.
func TestExpiryDays(t *testing.T) {
	c, errs := bot.FromEnv(env(good()))
	if len(errs) != 0 || c.ExpiryReminders || len(c.ExpiryDays) != 4 || c.ExpiryDays[0] != 14 || c.ExpiryDays[3] != 1 {
		t.Fatalf("default: %v %v %v", c.ExpiryReminders, c.ExpiryDays, errs)
	}
	m := good()
	m["PASSWORD_EXPIRY_REMINDERS"], m["PASSWORD_EXPIRY_DAYS"] = "true", "1, 30 ,7"
	if c, errs := bot.FromEnv(env(m)); len(errs) != 0 || !c.ExpiryReminders || len(c.ExpiryDays) != 3 || c.ExpiryDays[0] != 30 || c.ExpiryDays[2] != 1 {
		t.Fatalf("list: %v %v", c.ExpiryDays, errs)
	}
	for _, bad := range []string{"0", "91", "7,7", "x", "7,,3"} {
		m["PASSWORD_EXPIRY_DAYS"] = bad
		if _, errs := bot.FromEnv(env(m)); len(errs) == 0 || !strings.Contains(errs[0].Error(), "PASSWORD_EXPIRY_DAYS") {
			t.Errorf("%q: %v", bad, errs)
		}
	}
}

func TestSMTPSessions(t *testing.T) {
	m := good()
	c, errs := bot.FromEnv(env(m))
	if len(errs) != 0 || c.SMTPSessions != 0 {
		t.Fatalf("unset: %v %d (0 lets the notifier take its default)", errs, c.SMTPSessions)
	}
	m["SMTP_SESSIONS"] = "12"
	if c, errs = bot.FromEnv(env(m)); len(errs) != 0 || c.SMTPSessions != 12 {
		t.Fatalf("12: %v %d", errs, c.SMTPSessions)
	}
	m["SMTP_SESSIONS"] = "51"
	if _, errs = bot.FromEnv(env(m)); len(errs) != 1 {
		t.Fatalf("51 must be refused: %v", errs)
	}
}
