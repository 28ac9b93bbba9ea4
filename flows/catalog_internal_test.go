package flows

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/language"
)

// No message says "(s)" or names a product or protocol the person does not need.
func TestCatalogPlainWords(t *testing.T) {
	c := catalogs.Load()
	for id, e := range c.msgs["en"] {
		text := strings.Join(e.texts(), " ")
		for _, bad := range []string{"(s)", "Entra", "LDAP", "Graph", "OIDC", "TOTP", "(SMS)"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s says %q: %q", id, bad, text)
			}
		}
	}
	for _, m := range AllMethods {
		if l := methodLabel("en", m); strings.Contains(l, "(") {
			t.Errorf("label %q", l)
		}
	}
}

// lang remembers what it matched: the same catalog language as parsing and matching the locale
// each time (language.Parse, then the catalog's matcher), the first time and later, for
// locales that name a catalog, a region of one, something unknown or nothing valid; and it
// remembers at most maxMatched locales however many it is asked about.
func TestLangRemembersWhatMatchingGives(t *testing.T) {
	c, err := buildCatalog(embeddedLocales, "locales", nil)
	if err != nil {
		t.Fatal(err)
	}
	fresh := func(locale string) string { // what lang did before it remembered
		if locale == "" {
			return "en"
		}
		if _, ok := c.msgs[locale]; ok {
			return locale
		}
		tag, err := language.Parse(strings.ReplaceAll(locale, "_", "-"))
		if err != nil {
			return "en"
		}
		_, i, conf := c.matcher.Match(tag)
		if conf == language.No {
			return "en"
		}
		return c.names[i]
	}
	locales := []string{"", "en", "en-US", "en_GB", "de", "de-DE", "de_AT", "de-CH", "fr-CA", "fr_FR", "pt-BR", "pt-PT", "pt",
		"es-419", "es-MX", "ja-JP", "zh-Hant-TW", "nb-NO", "no", "sv", "x-klingon", "!!", "de--DE", "EN-us", "und", "gsw-CH"}
	for _, name := range c.names {
		locales = append(locales, name, name+"-ZZ")
	}
	nonEnglish := 0
	for round := 0; round < 2; round++ {
		for _, l := range locales {
			want := fresh(l)
			if got := c.lang(l); got != want {
				t.Errorf("round %d: lang(%q) = %q, matching gives %q", round, l, got, want)
			}
			if want != "en" {
				nonEnglish++
			}
		}
	}
	if nonEnglish == 0 {
		t.Fatal("no locale matched another language than English: the comparison proves nothing")
	}
	for i := 0; i < 3*maxMatched; i++ {
		l := fmt.Sprintf("de-x-%d", i)
		if got := c.lang(l); got != fresh(l) {
			t.Fatalf("lang(%q) = %q", l, got)
		}
	}
	n := 0
	c.matched.Range(func(any, any) bool { n++; return true })
	if n > maxMatched {
		t.Fatalf("%d locales remembered, more than %d", n, maxMatched)
	}
	if n == 0 {
		t.Fatal("nothing remembered")
	}
}
