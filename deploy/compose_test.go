package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

var composeFiles = []string{"compose/compose.yaml", "compose/compose.sentinel.yaml"}

func composeSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("schemas/compose-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("compose-spec.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("compose-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func composeDoc(t *testing.T, b []byte) any {
	t.Helper()
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// The Compose files follow the Compose Specification's schema; where Docker Compose is
// installed, `docker compose config` accepts them as well (it needs no Docker engine).
func TestComposeFilesAreValid(t *testing.T) {
	s := composeSchema(t)
	for _, f := range composeFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(composeDoc(t, b)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// not vacuous: a misspelt service key and a wrong type are refused
	for _, bad := range []string{
		"services:\n  resetbot:\n    image: x\n    read_onyl: true\n",
		"services:\n  resetbot:\n    image: x\n    cap_drop: ALL\n",
	} {
		if s.Validate(composeDoc(t, []byte(bad))) == nil {
			t.Errorf("accepted:\n%s", bad)
		}
	}
	if exec.Command("docker", "compose", "version").Run() != nil {
		t.Log("docker compose is not installed: checked against the Compose Specification's schema only")
		return
	}
	dir := t.TempDir()
	for _, name := range []string{"compose.yaml", "compose.sentinel.yaml", "Caddyfile"} {
		copyFile(t, filepath.Join("compose", name), filepath.Join(dir, name))
	}
	copyFile(t, "compose/resetbot.env.example", filepath.Join(dir, "resetbot.env"))
	os.MkdirAll(filepath.Join(dir, "secrets"), 0o700)
	for _, s := range []string{"SEAL_KEYS", "MAC_KEY", "REDIS_PASSWORD"} {
		os.WriteFile(filepath.Join(dir, "secrets", s), []byte("x"), 0o600)
	}
	for _, f := range []string{"compose.yaml", "compose.sentinel.yaml"} {
		cmd := exec.Command("docker", "compose", "-f", filepath.Join(dir, f), "config", "-q")
		cmd.Env = append(os.Environ(), "RESETBOT_HOST=resetbot.example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("docker compose config %s: %v\n%s", f, err, out)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The bot runs in Compose as it does in the chart: the image's user, read-only, no capabilities,
// secrets as files; Redis keeps every write (AOF, fsync always) and takes its password from the
// secret file, never from its command line's arguments.
func TestComposeRunsTheBotLockedDown(t *testing.T) {
	df, _ := os.ReadFile("../Dockerfile")
	for _, f := range composeFiles {
		var c map[string]any
		readYAML(t, f, &c)
		bot := dig(c, "services", "resetbot")
		if u := fmt.Sprint(dig(bot, "user")); !strings.Contains(string(df), "USER "+u+"\n") {
			t.Errorf("%s: user %s is not the image's (Dockerfile)", f, u)
		}
		if dig(bot, "read_only") != true || fmt.Sprint(dig(bot, "cap_drop")) != "[ALL]" ||
			fmt.Sprint(dig(bot, "security_opt")) != "[no-new-privileges:true]" {
			t.Errorf("%s: the bot is not locked down: %v", f, bot)
		}
		env := dig(bot, "environment").(map[string]any)
		for _, s := range []string{"SEAL_KEYS", "MAC_KEY", "REDIS_PASSWORD"} {
			if _, set := env[s]; set || env[s+"_FILE"] != "/run/secrets/"+s {
				t.Errorf("%s: %s is not read from its file: %v", f, s, env)
			}
		}
		b, _ := json.Marshal(dig(c, "services"))
		if !strings.Contains(string(b), "--appendonly yes --appendfsync always") {
			t.Errorf("%s: Redis without the append-only file", f)
		}
	}
	var c map[string]any
	readYAML(t, "compose/compose.sentinel.yaml", &c)
	env := dig(c, "services", "resetbot", "environment")
	if dig(env, "REDIS_MASTER_NAME") != "resetbot" || strings.Count(fmt.Sprint(dig(env, "REDIS_ADDRS")), ":26379") != 3 {
		t.Errorf("the Sentinel variant does not point the bot at the sentinels: %v", env)
	}
}

// make-secrets.sh writes keys the bot accepts (read through NAME_FILE as Compose passes them),
// and never overwrites a key that exists.
func TestMakeSecretsWritesKeysTheBotAccepts(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "secrets"), 0o700)
	copyFile(t, "compose/make-secrets.sh", filepath.Join(dir, "make-secrets.sh"))
	run(t, "sh", filepath.Join(dir, "make-secrets.sh"))
	s := func(n string) string { return filepath.Join(dir, "secrets", n) }
	first, _ := os.ReadFile(s("SEAL_KEYS"))
	cfg, errs := bot.FromEnv(func(k string) string {
		return map[string]string{"SEAL_KEYS_FILE": s("SEAL_KEYS"), "MAC_KEY_FILE": s("MAC_KEY"), "REDIS_PASSWORD_FILE": s("REDIS_PASSWORD")}[k]
	})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if err := cfg.Validate(); err != nil && (strings.Contains(err.Error(), "SEAL_KEYS") || strings.Contains(err.Error(), "MAC_KEY")) {
		t.Fatalf("the keys are refused: %v", err)
	}
	if len(cfg.SealKeys[cfg.SealKeyID]) != 32 || len(cfg.MACKey) != 32 || len(cfg.RedisPassword) != 64 {
		t.Fatalf("keys: seal %d bytes, mac %d bytes, redis password %d characters", len(cfg.SealKeys[cfg.SealKeyID]), len(cfg.MACKey), len(cfg.RedisPassword))
	}
	run(t, "sh", filepath.Join(dir, "make-secrets.sh"))
	if again, _ := os.ReadFile(s("SEAL_KEYS")); !bytes.Equal(again, first) {
		t.Error("a second run replaced SEAL_KEYS")
	}
}
