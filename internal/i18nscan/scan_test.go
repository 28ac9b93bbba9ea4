package i18nscan

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The code outside the catalogs says nothing to a person in English: every Go string literal
// that reads as an English phrase (three words or more, or two capitalised words ending a
// sentence) is either in a context that never reaches an employee or a bot admin (an error
// value, a log line, a metric's help, an operator's start-up check) or on the small allow-list
// below, with its reason. The pages' templates hold no text outside template actions.
func TestNoEnglishOutsideCatalog(t *testing.T) {
	root := "../.."
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (skipDirs[rel] || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || skipFiles[rel] {
			return nil
		}
		found = append(found, scanGoFile(t, p, rel)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("user-facing English outside the catalogs: %s", f)
	}
}

// skipDirs never talk to a person: fakes and test helpers, the directory and store
// implementations (their texts are error values and operator logs).
var skipDirs = map[string]bool{
	"graph": true, "store": true, "deploy": true, "internal": true, "bot/auditship": true, "bot/metrics": true,
	"graph/graphtest": true, "graph/ad/adtest": true, "bot/slack/fakeslack": true, "bot/teams/teamstest": true,
	"bot/notify/phonetest": true, "bot/notify/smtptest": true, "store/redistest": true, "store/storetest": true,
	"bot/web/webtest": true,
}

// skipFiles speak to operators (the command line, configuration and start-up checks, app
// manifests an administrator installs), never to employees or bot admins in chat.
var skipFiles = map[string]bool{
	"main.go":               true, // command-line usage and operator output
	"bot/config.go":         true, // configuration errors, reported at start-up
	"bot/logging.go":        true,
	"bot/app/checks.go":     true, // 'resetbot check' output for operators
	"bot/app/serve.go":      true, // start-up banner for operators
	"bot/app/demo.go":       true, // the demo's banner and user table for whoever runs it
	"bot/slack/manifest.go": true, // the Slack app manifest an administrator installs
	"bot/slack/check.go":    true, // start-up scope checks for operators
	"bot/teams/package.go":  true, // the Teams app package an administrator uploads
	"bot/teams/check.go":    true,
	"flows/catalog.go":      true, // the catalog loader's problems, reported at start-up
	// the words the bot reads, per language (lexicons and their suggestions): language data
	// like the catalogs, one Lexicon per language
	"flows/intent.go":   true,
	"flows/lexicons.go": true,
	// the predefined questions' English texts are their stable ids (kept in enrollments);
	// people read them through the catalog's question.<text>
	"flows/method/questions/questions.go": true,
}

// allowed are literals that look like phrases but are not shown as text (ids, formats, values).
var allowed = map[string]bool{
	"slack socket mode":                            true, // a component name in start-up errors
	"missing bearer token":                         true, // Bot Framework auth failures: HTTP status text for the caller, logs
	"signing key not endorsed for msteams":         true,
	"serviceurl claim does not match the activity": true,
	": hourly budget spent":                        true, // an audit reason
	"adds calling code +":                          true, // a weakening reason's prefix (weak.<prefix>%s)
	"reset not allowed":                            true, // audit reasons
	"signature count went backwards":               true,
}

var (
	threeWords = regexp.MustCompile(`\pL+[ ,]+\pL+[ ,]+\pL+`)
	sentence   = regexp.MustCompile(`^[A-Z]\pL*( \pL+)+[.!?:]$`)
)

func scanGoFile(t *testing.T, p, rel string) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var stack []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil || allowed[s] || !looksEnglish(s) || quietContext(stack) {
			return true
		}
		out = append(out, fset.Position(lit.Pos()).String()+": "+strconv.Quote(s))
		return true
	})
	for i, o := range out {
		out[i] = strings.TrimPrefix(o, root()+string(os.PathSeparator))
	}
	return out
}

func root() string { r, _ := filepath.Abs("../.."); return r }

func looksEnglish(s string) bool {
	if strings.Contains(s, "://") || strings.HasPrefix(s, "<") || strings.ContainsAny(s, "{}") && strings.Contains(s, "\"") {
		return false
	}
	return threeWords.MatchString(s) || sentence.MatchString(s)
}

// quietContext: the literal is an error value, a log line, a panic, a struct tag, an import, or
// a metric's help text.
func quietContext(stack []ast.Node) bool {
	for i := len(stack) - 2; i >= 0; i-- {
		switch n := stack[i].(type) {
		case *ast.ImportSpec, *ast.Field:
			return true
		case *ast.FuncDecl:
			// an error type's message (the catalog's words reach people through InputText etc.)
			return n.Name.Name == "Error" && n.Recv != nil
		case *ast.KeyValueExpr:
			if id, ok := n.Key.(*ast.Ident); ok && (id.Name == "Help" || id.Name == "Reason") {
				// a metric's help, an audit event's reason (operators read the audit log)
				return true
			}
		case *ast.CallExpr:
			switch name := callName(n.Fun); name {
			case "fmt.Errorf", "errors.New", "panic", "log.Printf", "log.Fatalf", "log.Println", "log.Fatal",
				"slog.Info", "slog.Warn", "slog.Error", "slog.Debug", "http.Error", "regexp.MustCompile":
				return true
			default:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					switch sel.Sel.Name {
					case "Info", "Warn", "Error", "Debug", "InfoContext", "WarnContext", "ErrorContext", "DebugContext", "With", "WithGroup":
						return true // slog loggers
					case "SignInFailed", "audit", "hdAudit", "afterReset":
						return true // an audit reason
					}
				}
			case "when", "lowered", "raised", "turnedOn", "turnedOff", "added":
				// a weakening reason: an English id, compared and audited, shown through the
				// catalog's weak.<reason>
				return true
			}
		}
	}
	return false
}

func callName(e ast.Expr) string {
	switch f := e.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok {
			return x.Name + "." + f.Sel.Name
		}
	}
	return ""
}

// The scan finds English in the places a person reads it, and leaves errors and logs alone.
func TestScanFindsEnglish(t *testing.T) {
	dir := t.TempDir()
	src := `package x

import ("errors"; "log/slog")

type Reply struct{ Text, Label string }

func f(log *slog.Logger) (Reply, error) {
	log.Info("sign-in token exchange failed", "k", 1)
	r := Reply{Text: "Your account is locked now.", Label: "Reset my password"}
	r.Text += " Try again later, please."
	return r, errors.New("the directory did not answer in time")
}
`
	p := filepath.Join(dir, "x.go")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(scanGoFile(t, p, "x.go"), "\n")
	for _, want := range []string{"Your account is locked now.", "Reset my password", "Try again later, please."} {
		if !strings.Contains(got, want) {
			t.Errorf("missed %q in:\n%s", want, got)
		}
	}
	for _, quiet := range []string{"token exchange", "did not answer"} {
		if strings.Contains(got, quiet) {
			t.Errorf("flagged %q:\n%s", quiet, got)
		}
	}
}

// The pages' templates hold no text outside template actions: every word a page shows comes
// from the catalog ({{t "key"}}).
func TestTemplatesHoldNoText(t *testing.T) {
	files, err := filepath.Glob("../../bot/web/*/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v %v", files, err)
	}
	actions := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	tags := regexp.MustCompile(`(?s)<[^>]*>`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := attrs.ReplaceAllString(tags.ReplaceAllString(actions.ReplaceAllString(string(b), " "), " "), " ")
		for _, w := range strings.Fields(text) {
			if letters.MatchString(w) && w != "resetbot" { // the product's name is not translated
				t.Errorf("%s: text outside the catalog: %q", filepath.Base(f), w)
			}
		}
		// attributes people read (alt, title, aria-label, placeholder) come from the catalog too
		for _, m := range readAttrs.FindAllStringSubmatch(actions.ReplaceAllString(string(b), "X"), -1) {
			if letters.MatchString(strings.ReplaceAll(m[2], "X", "")) {
				t.Errorf("%s: %s=%q outside the catalog", filepath.Base(f), m[1], m[2])
			}
		}
	}
}

var (
	letters   = regexp.MustCompile(`\pL\pL`)
	attrs     = regexp.MustCompile(`[\w-]+="[^"]*"`) // attributes of a tag split by a template action
	readAttrs = regexp.MustCompile(`(alt|title|aria-label|placeholder)="([^"]*)"`)
)
