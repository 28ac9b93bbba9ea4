package flows_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
)

// Every language the bot speaks has its corpus (testdata/intents_<lang>.tsv) of at least 40
// phrasings, with typos and missing accents, read as expected by at least 95% in that
// language, with every intent the chat acts on represented.
func TestIntentCorpusEveryLanguage(t *testing.T) {
	for _, lang := range wantLanguages {
		if lang == "en" {
			continue // TestIntentCorpus holds English to 97% over 250 phrasings
		}
		t.Run(lang, func(t *testing.T) {
			total, right, per := readCorpus(t, filepath.Join("testdata", "intents_"+lang+".tsv"), func(phrase string) flows.Intent {
				return flows.ParseIntentIn(lang, phrase)
			})
			if total < 40 {
				t.Fatalf("%d phrasings, want at least 40", total)
			}
			for _, name := range []string{"reset", "unlock", "register", "help", "cancel", "status", "greeting", "thanks", "resend"} {
				if per[name] == 0 {
					t.Errorf("no phrasing for %s", name)
				}
			}
			pct := 100 * float64(right) / float64(total)
			t.Logf("%s: %d of %d understood (%.1f%%)", lang, right, total, pct)
			if pct < 95 {
				t.Fatalf("only %.1f%% understood, want at least 95%%", pct)
			}
		})
	}
}

func readCorpus(t *testing.T, path string, parse func(string) flows.Intent) (total, right int, per map[string]int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	per = map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, phrase, ok := strings.Cut(line, "\t")
		want, known := intentNames[name]
		if !ok || !known {
			t.Fatalf("bad corpus line %q", line)
		}
		total++
		per[name]++
		if got := parse(phrase); got == want {
			right++
		} else {
			t.Logf("%-8s %q read as %d", name, phrase, got)
		}
	}
	return total, right, per
}

// A message in another language than the person's is understood, and the reply's language is
// the message's: a German-speaking Slack user who writes French is answered in French. What
// means something in the person's own language stays theirs; a code or an unclear message
// keeps their language.
func TestUnderstandAnswersInTheLanguageWritten(t *testing.T) {
	for _, c := range []struct {
		locale, text string
		want         flows.Intent
		lang         string
	}{
		{"de-DE", "mot de passe oublie", flows.IntentReset, "fr"},
		{"en-US", "Passwort vergessen", flows.IntentReset, "de"},
		{"en-US", "olvidé mi contraseña", flows.IntentReset, "es"},
		{"fr-FR", "パスワードを忘れた", flows.IntentReset, "ja"},
		{"ja-JP", "I'm locked out", flows.IntentUnlock, "en"},
		{"nl-NL", "esqueci minha senha", flows.IntentReset, "pt-BR"},
		{"de-DE", "status", flows.IntentStatus, "de"},
		{"de-DE", "Passwort vergessen", flows.IntentReset, "de"},
		{"fr-FR", "123456", flows.IntentCode, "fr"},
		{"it-IT", "xyzzy plugh", flows.IntentUnknown, "it"},
	} {
		got, lang := flows.Understand(c.locale, c.text)
		if got != c.want || lang != c.lang {
			t.Errorf("%s %q: %d in %s, want %d in %s", c.locale, c.text, got, lang, c.want, c.lang)
		}
	}
}
