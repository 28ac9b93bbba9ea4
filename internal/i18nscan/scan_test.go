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
}

// allowed are literals that look like phrases but are not shown as text (ids, formats, values).
var allowed = map[string]bool{
	"slack socket mode":                            true, // a component name in start-up errors
	"missing bearer token":                         true, // Bot Framework auth failures: HTTP status text for the caller, logs
	"signing key not endorsed for msteams":         true,
	"serviceurl claim does not match the activity": true,
	": hourly budget spent":                        true, // an audit reason
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
			if id, ok := n.Key.(*ast.Ident); ok && (id.Name == "Help" || id.Name == "Reason" && false) {
				return true
			}
		case *ast.CallExpr:
			switch name := callName(n.Fun); name {
			case "fmt.Errorf", "errors.New", "panic", "log.Printf", "log.Fatalf", "log.Println", "log.Fatal",
				"slog.Info", "slog.Warn", "slog.Error", "slog.Debug", "http.Error", "regexp.MustCompile", "s.e.SignInFailed":
				return true
			default:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					switch sel.Sel.Name {
					case "Info", "Warn", "Error", "Debug", "InfoContext", "WarnContext", "ErrorContext", "DebugContext", "With", "WithGroup":
						return true // slog loggers
					}
				}
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
