package deploy_test

import (
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot"
)

func secretSettings(t *testing.T) []string { return bot.SecretSettings }

// readmeSettings are the settings named in the first column of the README's tables.
func readmeSettings(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.SplitN(line, "|", 3)[1]
		for _, m := range regexp.MustCompile("`([A-Z][A-Z0-9_]+)`").FindAllStringSubmatch(first, -1) {
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// configSettings are the settings bot/config.go reads.
func configSettings(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../bot/config.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?:getenv|g|list|boolean|whole)\("([A-Z][A-Z0-9_]+)"`).FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Every setting of the README's tables is one the bot reads, and every setting the bot reads
// (the README's tables and its Teams section) can be set in the chart's values and in the
// Compose example, secrets among the chart's secrets and as files in Compose.
func TestEverySettingIsInTheChartAndTheComposeExample(t *testing.T) {
	table, read := readmeSettings(t), configSettings(t)
	if len(table) < 50 || len(read) < 50 {
		t.Fatalf("found %d settings in the README's tables and %d in config.go", len(table), len(read))
	}
	readme, _ := os.ReadFile("../README.md")
	for _, k := range table {
		if !slices.Contains(read, k) {
			t.Errorf("the README's table lists %s, which bot/config.go does not read", k)
		}
	}
	var values struct {
		Settings map[string]any
		Secrets  struct{ Values map[string]any }
	}
	readYAML(t, chartDir+"/values.yaml", &values)
	example, err := os.ReadFile("compose/resetbot.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range read {
		if !strings.Contains(string(readme), "`"+k+"`") {
			t.Errorf("%s is not documented in the README", k)
		}
		secret := slices.Contains(bot.SecretSettings, k)
		if _, ok := values.Settings[k]; ok == secret {
			t.Errorf("values.yaml: %s should be under %s", k, map[bool]string{true: "secrets.values", false: "settings"}[secret])
		}
		if _, ok := values.Secrets.Values[k]; ok != secret {
			t.Errorf("values.yaml: %s should be under %s", k, map[bool]string{true: "secrets.values", false: "settings"}[secret])
		}
		want := regexp.MustCompile(`(?m)^#? ?` + k + `=`)
		if secret {
			want = regexp.MustCompile(`(?m)^#? ?` + k + `_FILE=/run/secrets/` + k)
		}
		if !want.Match(example) {
			t.Errorf("compose/resetbot.env.example lacks %s", want)
		}
	}
	for k := range values.Settings {
		if !slices.Contains(read, k) {
			t.Errorf("values.yaml sets %s, which the bot does not read", k)
		}
	}
}
