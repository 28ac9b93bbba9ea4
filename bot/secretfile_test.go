package bot_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot"
)

// secrets gives every secret setting a valid value, so a configuration that uses all of them can
// be read once from the environment and once from files and compared.
func secrets() map[string]string {
	k2 := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	return map[string]string{
		"REDIS_PASSWORD": "redis pass word ", "SEAL_KEYS": "k2:" + k2 + ",k1:" + good()["MAC_KEY"], "MAC_KEY": k2, "MAC_KEYS_OLD": good()["MAC_KEY"],
		"GRAPH_CLIENT_SECRET": "graph-secret", "OIDC_CLIENT_SECRET": "oidc-secret", "AD_BIND_PASSWORD": "ad-pass",
		"SMTP_PASSWORD": "smtp-pass", "SLACK_BOT_TOKEN": "xoxb-1-2", "SLACK_APP_TOKEN": "xapp-1-2",
		"SLACK_SIGNING_SECRET": "0123456789abcdef0123", "PHONE_AUTH_TOKEN": "phone-token", "TEAMS_APP_PASSWORD": "teams-pass",
		"AUDIT_HEC_TOKEN": "hec-token",
	}
}

func withAllSecrets() map[string]string {
	m := good()
	for k, v := range secrets() {
		m[k] = v
	}
	m["AD_URL"], m["AD_BIND_DN"], m["AD_BASE_DN"] = "ldaps://dc.contoso.com:636", "CN=svc,DC=contoso,DC=com", "DC=contoso,DC=com"
	m["SMTP_USER"], m["SLACK_TEAM_IDS"], m["PHONE_ACCOUNT_SID"], m["PHONE_FROM"] = "resetbot", "T1", "AC1", "+14255550100"
	m["TEAMS_APP_ID"], m["TEAMS_TENANT_ID"], m["TEAMS_ALLOWED_TENANTS"] = "app", "t", "t"
	m["AUDIT_HEC_URL"] = "https://siem.contoso.com/services/collector/event"
	return m
}

// Every secret setting read from NAME_FILE gives the configuration the value would have given;
// one trailing line break (as editors and echo leave it) is not part of the secret.
func TestSecretsFromFiles(t *testing.T) {
	fromEnv, errs := bot.FromEnv(env(withAllSecrets()))
	if len(errs) != 0 || fromEnv.Validate() != nil {
		t.Fatalf("the environment configuration is not valid: %v %v", errs, fromEnv.Validate())
	}
	dir := t.TempDir()
	m := withAllSecrets()
	for i, k := range bot.SecretSettings {
		v, ok := m[k]
		if !ok {
			t.Fatalf("the test gives no value for %s", k)
		}
		p := filepath.Join(dir, strings.ToLower(k))
		end := []string{"", "\n", "\r\n"}[i%3]
		if err := os.WriteFile(p, []byte(v+end), 0o600); err != nil {
			t.Fatal(err)
		}
		delete(m, k)
		m[k+"_FILE"] = p
	}
	fromFiles, errs := bot.FromEnv(env(m))
	if len(errs) != 0 || fromFiles.Validate() != nil {
		t.Fatalf("from files: %v %v", errs, fromFiles.Validate())
	}
	if !reflect.DeepEqual(fromEnv, fromFiles) {
		t.Fatalf("from files the configuration differs:\n env:   %+v\n files: %+v", fromEnv, fromFiles)
	}
}

// A value and a file for the same setting, a file that cannot be read and an empty file are
// configuration errors, listed with every other problem at once.
func TestSecretFileProblemsReportedWithTheRest(t *testing.T) {
	dir := t.TempDir()
	mac := filepath.Join(dir, "mac")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(mac, []byte(good()["MAC_KEY"]), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	m := good()
	m["MAC_KEY_FILE"] = mac // MAC_KEY is set as well
	m["GRAPH_CLIENT_SECRET"] = ""
	m["GRAPH_CLIENT_SECRET_FILE"] = filepath.Join(dir, "missing")
	m["SMTP_PASSWORD_FILE"] = empty
	m["SLACK_BOT_TOKEN_FILE"] = "/dev/zero" // a device, not a file: refused rather than read forever
	m["LOG_LEVEL"] = "loud"
	c, errs := bot.FromEnv(env(m))
	var b strings.Builder
	for _, e := range append(errs, c.Validate()) {
		if e != nil {
			b.WriteString(e.Error() + "\n")
		}
	}
	for _, want := range []string{"set MAC_KEY or MAC_KEY_FILE, not both", "GRAPH_CLIENT_SECRET_FILE: cannot read the file",
		"SMTP_PASSWORD_FILE: " + empty + " is empty", "SLACK_BOT_TOKEN_FILE: cannot read the file: /dev/zero is not a regular file",
		"GRAPH_CLIENT_SECRET is required", "LOG_LEVEL"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), good()["MAC_KEY"]) {
		t.Errorf("a secret appears in the errors:\n%s", b.String())
	}
}

// Every setting that config.go reads untrimmed (the secrets) can be given as a file: a secret
// added later without NAME_FILE support fails here.
func TestEverySecretSettingHasAFileForm(t *testing.T) {
	src, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	raw := regexp.MustCompile(`[^.\w]getenv\("([A-Z_]+)"\)`).FindAllStringSubmatch(string(src), -1)
	if len(raw) < 10 {
		t.Fatalf("found only %d secret settings in config.go", len(raw))
	}
	for _, m := range raw {
		if !slices.Contains(bot.SecretSettings, m[1]) {
			t.Errorf("%s is read as a secret but has no %s_FILE form", m[1], m[1])
		}
	}
}
