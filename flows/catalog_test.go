package flows_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/resetbot/resetbot/flows"
)

// The languages the product speaks (issue 18); more are added by dropping in a file.
var wantLanguages = []string{"en", "de", "fr", "es", "pt-BR", "nl", "it", "ja"}

func TestEveryLanguageHasACatalog(t *testing.T) {
	got := flows.Languages()
	if got[0] != "en" {
		t.Errorf("English first: %v", got)
	}
	for _, l := range wantLanguages {
		if !slices.Contains(got, l) {
			t.Errorf("no catalog for %s (have %v)", l, got)
		}
	}
}

// Every key of English is in every language, with the same placeholders, and no language has a
// key English lacks. The embedded files are read as a drop-in directory is.
func TestEveryKeyInEveryLanguageWithTheSamePlaceholders(t *testing.T) {
	files, err := filepath.Glob("locales/*.json")
	if err != nil || len(files) < len(wantLanguages) {
		t.Fatalf("locale files: %v %v", files, err)
	}
	en := readLocale(t, "locales/en.json")
	for _, f := range files {
		if strings.HasSuffix(f, "/en.json") {
			continue
		}
		for _, p := range flows.CheckCatalogFile(strings.TrimSuffix(filepath.Base(f), ".json"), en, readLocale(t, f)) {
			t.Error(p)
		}
	}
}

func readLocale(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The check itself fails on a missing key, an extra key, a missing, extra or changed
// placeholder, and accepts a reordered one and a plural form without its number.
func TestCatalogCheckFindsEveryMismatch(t *testing.T) {
	en := []byte(`{"a": "Hello %s, %d left", "b": "Plain", "c": {"one": "One try left", "other": "%d tries left"}}`)
	cases := []struct {
		name, other string
		want        []string // substrings of the problems; none when ok
	}{
		{"same", `{"a": "Hallo %s, %d übrig", "b": "Schlicht", "c": {"one": "Ein Versuch", "other": "%d Versuche"}}`, nil},
		{"reordered", `{"a": "残り%[2]d、%[1]sさん", "b": "x", "c": {"other": "あと%d回"}}`, nil},
		{"missing key", `{"a": "Hallo %s, %d", "c": {"other": "%d"}}`, []string{"b is missing"}},
		{"extra key", `{"a": "Hallo %s, %d", "b": "x", "c": {"other": "%d"}, "z": "x"}`, []string{"z is not in English"}},
		{"missing placeholder", `{"a": "Hallo %s", "b": "x", "c": {"other": "%d"}}`, []string{"a has placeholders"}},
		{"extra placeholder", `{"a": "Hallo %s, %d, %s", "b": "x", "c": {"other": "%d"}}`, []string{"a has placeholders"}},
		{"other verb", `{"a": "Hallo %d, %d", "b": "x", "c": {"other": "%d"}}`, []string{"a has placeholders"}},
		{"placeholder in a plain text", `{"a": "Hallo %s, %d", "b": "x %s", "c": {"other": "%d"}}`, []string{"b has placeholders"}},
		{"plural form with an extra", `{"a": "Hallo %s, %d", "b": "x", "c": {"one": "%[1]d %[2]s", "other": "%d"}}`, []string{"c has placeholders"}},
		{"plural number not a number", `{"a": "Hallo %s, %d", "b": "x", "c": {"one": "%s", "other": "%d"}}`, []string{"the plural's number is %s"}},
		{"bad plural", `{"a": "Hallo %s, %d", "b": "x", "c": {"lots": "%d", "other": "%d"}}`, []string{"unknown plural form"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := flows.CheckCatalogFile("xx", en, []byte(c.other))
			if len(c.want) == 0 && len(got) > 0 {
				t.Errorf("problems %v", got)
			}
			for _, w := range c.want {
				if !strings.Contains(strings.Join(got, "\n"), w) {
					t.Errorf("want %q in %v", w, got)
				}
			}
		})
	}
}

// A language is added by dropping a file in LOCALES_DIR; a broken file is refused with every
// problem named and the catalogs stay as they were.
func TestDropInLanguage(t *testing.T) {
	en := map[string]any{}
	if err := json.Unmarshal(readLocale(t, "locales/en.json"), &en); err != nil {
		t.Fatal(err)
	}
	sv := map[string]any{}
	for k, v := range en {
		sv[k] = v
	}
	sv["language.name"] = "Svenska"
	sv["cancelled"] = "Avbrutet. Inget ändrades."
	good, _ := json.Marshal(sv)
	delete(sv, "busy")
	sv["help"] = "Hjälp %s"
	bad, _ := json.Marshal(sv)

	err := flows.LoadLocales(fstest.MapFS{"sv.json": {Data: bad}, "xx-notatag!.json": {Data: []byte("{}")}})
	if err == nil || !strings.Contains(err.Error(), "sv: busy is missing") || !strings.Contains(err.Error(), "sv: help has placeholders") ||
		!strings.Contains(err.Error(), "not a language tag") {
		t.Fatalf("broken file: %v", err)
	}
	if slices.Contains(flows.Languages(), "sv") {
		t.Fatal("a broken file was loaded")
	}
	if err := flows.LoadLocales(fstest.MapFS{"sv.json": {Data: good}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = flows.LoadLocales(fstest.MapFS{}) })
	if !slices.Contains(flows.Languages(), "sv") || flows.Text("sv-FI", flows.MsgCancelled) != "Avbrutet. Inget ändrades." {
		t.Errorf("sv not served: %v %q", flows.Languages(), flows.Text("sv-FI", flows.MsgCancelled))
	}
}

// The language matcher picks the nearest catalog: regional variants, Brazilian Portuguese for
// any Portuguese, English for what has none; Accept-Language by its weights.
func TestLanguageMatching(t *testing.T) {
	for in, want := range map[string]string{
		"de-AT": "de", "de_CH": "de", "fr-CA": "fr", "pt": "pt-BR", "pt-PT": "pt-BR", "ja-JP": "ja", "es-419": "es",
		"nl-BE": "nl", "it-IT": "it", "en-GB": "en", "zh-CN": "en", "": "en", "garbage!!": "en",
	} {
		if got := flows.Lang(in); got != want {
			t.Errorf("Lang(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"ja,en-US;q=0.9": "ja", "zh-CN,de;q=0.8,en;q=0.5": "de", "fr-CH, fr;q=0.9, en;q=0.8": "fr", "": "en", "*": "en",
	} {
		if got := flows.MatchAcceptLanguage(in); got != want {
			t.Errorf("MatchAcceptLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}

// Plural rules are the language's (CLDR): English one/other, Japanese has no singular form,
// French counts 0 as singular.
func TestPluralsAndNumbers(t *testing.T) {
	if got := flows.Text("en", flows.MsgTriesLeft, 1); !strings.Contains(got, "1 try left") {
		t.Errorf("en 1: %q", got)
	}
	if got := flows.Text("en", flows.MsgTriesLeft, 2); !strings.Contains(got, "2 tries left") {
		t.Errorf("en 2: %q", got)
	}
	if one, two := flows.Text("fr", flows.MsgTriesLeft, 1), flows.Text("fr", flows.MsgTriesLeft, 2); one == two || !strings.Contains(two, "2") {
		t.Errorf("fr: %q %q", one, two)
	}
	if got := flows.Text("ja", flows.MsgTriesLeft, 1); !strings.Contains(got, "1") {
		t.Errorf("ja 1: %q", got)
	}
}

// Dates and times are written in the person's language and time zone.
func TestDatesInLanguageAndZone(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	at := time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		lang string
		loc  *time.Location
		want []string
	}{
		{"en", time.UTC, []string{"Tuesday", "1 December 2026", "08:30", "UTC"}},
		{"de", berlin, []string{"Dienstag", "1. Dezember 2026", "09:30", "CET"}},
		{"fr", berlin, []string{"mardi", "1 décembre 2026", "09:30"}},
		{"ja", tokyo, []string{"2026年12月1日", "火", "17:30", "JST"}},
		{"pt-BR", time.UTC, []string{"terça-feira", "dezembro"}},
	} {
		got := flows.FormatWhen(c.lang, at, c.loc)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.lang, got, w)
			}
		}
	}
}
