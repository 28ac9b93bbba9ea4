package web

import (
	"bytes"
	"html/template"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
)

var (
	buttonRE  = regexp.MustCompile(`<button\b[^>]*>`)
	linkBtnRE = regexp.MustCompile(`<a\b[^>]*class="[^"]*\bbutton\b[^"]*"[^>]*>`)
	classRE   = regexp.MustCompile(`class="([^"]*)"`)
)

// primaries counts the primary actions of a rendered page: buttons that are not secondary,
// and links styled as buttons.
func primaries(page string) int {
	n := len(linkBtnRE.FindAllString(page, -1))
	for _, b := range buttonRE.FindAllString(page, -1) {
		if m := classRE.FindStringSubmatch(b); m == nil || !strings.Contains(" "+m[1]+" ", " secondary ") {
			n++
		}
	}
	return n
}

// Every page has at most one primary action: every template, rendered in each of its states
// (every method registered and offered, each kind of code page, each stage of the recovery
// page), with the language switcher.
func TestOnePrimaryActionPerPage(t *testing.T) {
	langs := func() []langChoice {
		var out []langChoice
		for _, l := range flows.Languages() {
			out = append(out, langChoice{Tag: l, Name: flows.LanguageName(l), Current: l == "en"})
		}
		return out
	}
	base := func(v view) view {
		v.Lang, v.Back, v.Langs, v.Title, v.CSRF, v.Token = "en", "/enrol", langs(), "Title", "csrf", "tok"
		return v
	}
	var registered []flows.MethodView
	for _, m := range flows.AllMethods {
		registered = append(registered, flows.MethodView{Kind: m, Label: string(m), Due: true})
	}
	qr := template.URL("data:image/png;base64,AAAA")
	rules := flows.PasswordRules{MinLength: 12, History: 24, Known: true, Source: "your domain"}
	cases := map[string][]view{
		"admin.html":         {{}},
		"answer.html":        {{Choices: []string{"a", "b", "c"}}},
		"change.html":        {{}},
		"confirm.html":       {{Kind: "totp", Show: flows.EnrolShow{Secret: "ABC", QR: string(qr)}, QR: qr, Error: "wrong"}, {Kind: "totp"}, {Kind: "email", Show: flows.EnrolShow{Masked: "a***@m.test"}}, {Kind: "sms", Show: flows.EnrolShow{Masked: "+1 ***"}}, {Kind: "voice", Show: flows.EnrolShow{Masked: "+1 ***"}}},
		"done.html":          {{Progress: "2 of 2", Notice: "ok"}},
		"enrol.html":         {{Registered: registered, Enrol: flows.AllMethods, Passkeys: []flows.PasskeyView{{ID: "a", Name: "A"}, {ID: "b", Name: "B", Synced: true}}, Progress: "5 of 2", Field: "email", FieldError: "x", Typed: "a@b"}, {Enrol: flows.AllMethods}},
		"error.html":         {{Error: "no"}},
		"gone.html":          {{}},
		"issued.html":        {{Kind: "tap", Show: flows.EnrolShow{Secret: "s"}}, {Kind: "password", Show: flows.EnrolShow{Secret: "s"}}},
		"passkey_new.html":   {{Options: "{}"}},
		"passkey_prove.html": {{Options: "{}"}},
		"questions.html":     {{Slots: make([]int, 3), Choices: []string{"a", "b", "c", "d"}, Field: "a", Slot: 1, FieldError: "x", Answers: []string{"x", "", "z"}}},
		"register.html":      {{}},
		"remove.html":        {{Kind: "email", Progress: "p"}, {Kind: "passkey", PasskeyID: "id", Progress: "p"}},
		"reset.html":         {{Rules: rules}, {Rules: flows.PasswordRules{MinLength: 8}, Action: "/change"}},
		"signin.html":        {{Error: "wrong"}},
		"temporary.html":     {{Kind: "tap"}, {Kind: "password"}},
	}
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := path.Base(f)
		if name == "layout.html" {
			continue
		}
		vs, ok := cases[name]
		if !ok {
			t.Errorf("%s: no case renders it", name)
		}
		for i, v := range vs {
			var buf bytes.Buffer
			if err := pagesIn("en").ExecuteTemplate(&buf, name, base(v)); err != nil {
				t.Fatalf("%s %d: %v", name, i, err)
			}
			if n := primaries(buf.String()); n > 1 {
				t.Errorf("%s (case %d): %d primary actions\n%s", name, i, n, buf.String())
			}
		}
	}
	methods := []flows.RecoverMethod{{Kind: "email", Label: "Email"}, {Kind: "sms", Label: "Text"}, {Kind: "totp", Label: "App"}}
	for _, p := range []recoverPage{{Stage: "start"}, {Stage: "first"}, {Stage: "sent", Sent: "email"}, {Stage: "sent", Sent: "phone"},
		{Stage: "more", Methods: methods}, {Stage: "await", Method: "email", Messages: []string{"sent"}}, {Stage: "await", Method: "totp"},
		{Stage: "done", Messages: []string{"done"}, Link: "/l/x"}, {Stage: "done", Messages: []string{"done"}}} {
		p.Lang, p.Back, p.Langs, p.Title, p.CSRF = "en", "/recover", langs(), "Title", "csrf"
		var buf bytes.Buffer
		if err := recoverPagesIn("en").ExecuteTemplate(&buf, "recover.html", p); err != nil {
			t.Fatalf("recover %s: %v", p.Stage, err)
		}
		if n := primaries(buf.String()); n > 1 {
			t.Errorf("recover.html (%s %s%s): %d primary actions\n%s", p.Stage, p.Sent, p.Method, n, buf.String())
		}
	}
}

// The counter itself: a secondary button is not primary, a plain one and a button link are.
func TestPrimariesCounts(t *testing.T) {
	for page, want := range map[string]int{
		`<button type="submit">Go</button>`:                                            1,
		`<button type="submit" class="secondary">Back</button>`:                        0,
		`<button class="big secondary" name="x">B</button><button name="y">C</button>`: 1,
		`<a class="button" href="/x">Go</a><button>Also</button>`:                      2,
		`<a href="/x">plain</a>`:                                                       0,
	} {
		if got := primaries(page); got != want {
			t.Errorf("%s: %d, want %d", page, got, want)
		}
	}
}
