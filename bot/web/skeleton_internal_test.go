package web

import (
	"bytes"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/allocs"
)

// langsOf is what render adds to a view with a switcher.
func langsOf(v view) view {
	if v.Back != "" {
		for _, l := range flows.Languages() {
			v.Langs = append(v.Langs, langChoice{Tag: l, Name: flows.LanguageName(l), Current: l == v.Lang})
		}
	}
	return v
}

// htmlTemplate renders v through html/template alone, with the notice v.NoticeID names as its
// Notice.
func htmlTemplate(t *testing.T, name string, v view) string {
	t.Helper()
	if v.NoticeID != "" {
		v.Notice, v.NoticeID = flows.Text(v.Lang, v.NoticeID), ""
	}
	var b bytes.Buffer
	if err := pagesIn(v.Lang).ExecuteTemplate(&b, name, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b.String()
}

func viaExecute(t *testing.T, name string, v view) string {
	t.Helper()
	var b bytes.Buffer
	if err := execute(&b, name, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b.String()
}

// Every page, in every language, with the views the handlers give the pages a skeleton serves,
// renders byte for byte as html/template renders it: the first request (which keeps the
// skeleton) and the later ones (from it), each with a token and CSRF value of their own.
func TestSkeletonMatchesTemplate(t *testing.T) {
	defer func(max int) { maxSkeletons = max }(maxSkeletons)
	maxSkeletons = 1 << 20
	rules := []flows.PasswordRules{{}, {MinLength: 12}, {MinLength: 14, History: 24, Known: true, Source: "your domain"},
		{MinLength: 8, Known: true, Source: `<b>"x" & 'y'</b>`}}
	var names []string
	for _, p := range pages.Templates() {
		if strings.HasSuffix(p.Name(), ".html") {
			names = append(names, p.Name())
		}
	}
	if len(names) < 10 {
		t.Fatalf("pages: %v", names)
	}
	served := 0
	for _, lang := range flows.Languages() {
		for _, name := range names {
			for ri, r := range rules {
				for _, back := range []string{"", "link", "/change"} {
					for ki, kind := range []string{"", "temporary"} {
						base := view{Lang: lang, Title: flows.Text(lang, "web.title.reset"), Rules: r, Kind: kind,
							Progress: map[bool]string{true: "1 of 2 ways registered"}[ri%2 == 1],
							NoticeID: []flows.MsgID{"", "web.password_changed"}[(ri+ki)%2]}
						for i := range 3 {
							v := base
							v.Token, v.CSRF = random(), random()
							if i == 2 {
								v.CSRF = "" // a page without a form
							}
							switch back {
							case "link":
								v.Back = "/l/" + v.Token
							case "/change":
								v.Back = back
							}
							v = langsOf(v)
							if _, ok := skelKeyOf(name, &v); !ok {
								t.Fatalf("%s: view %+v not served from a skeleton", name, v)
							}
							want := htmlTemplate(t, name, v)
							if got := viaExecute(t, name, v); got != want {
								t.Fatalf("%s %s request %d differs from html/template:\n got %q\nwant %q", lang, name, i, got, want)
							}
						}
						k, _ := skelKeyOf(name, &view{Lang: lang, Title: base.Title, Rules: r, Kind: kind, Progress: base.Progress, NoticeID: base.NoticeID,
							Token: "a", CSRF: "b", Back: map[string]string{"link": "/l/a", "/change": "/change"}[back]})
						skelMu.RLock()
						if skels[k] != nil {
							served++
						}
						skelMu.RUnlock()
					}
				}
			}
		}
	}
	if served == 0 {
		t.Fatal("no page was served from a skeleton")
	}
}

// A view with anything a skeleton does not cover, or a value outside the URL-safe alphabet,
// goes through html/template, escaped as html/template escapes it.
func TestSkeletonFallsBack(t *testing.T) {
	v := view{Lang: "en", Title: "Reset", Token: random(), CSRF: random()}
	v.Back = "/l/" + v.Token
	v = langsOf(v) // as render gives it: with its switcher
	for _, tweak := range []func(*view){
		func(v *view) { v.Error = "That did not work" },
		func(v *view) { v.Field, v.FieldError = "password", "too short" },
		func(v *view) { v.Token, v.Back = `a"b<c>&d`, `/l/a"b<c>&d` },
		func(v *view) { v.CSRF = "x y" },
		func(v *view) { v.Back = "/l/" + v.Token + "?x" },
	} {
		w := v
		tweak(&w)
		if _, ok := skelKeyOf("reset.html", &w); ok {
			t.Fatalf("view %+v served from a skeleton", w)
		}
		for range 2 {
			if got, want := viaExecute(t, "reset.html", w), htmlTemplate(t, "reset.html", w); got != want {
				t.Fatalf("fallback differs:\n got %q\nwant %q", got, want)
			}
		}
	}
}

// Each field of view is either part of a skeleton's key or keeps a view from a skeleton: a
// field added to view later cannot be dropped silently from pages rendered from one.
func TestSkeletonKeyCoversEveryField(t *testing.T) {
	keyed := map[string]bool{"Lang": true, "Langs": true, "Back": true, "Title": true, "Token": true, "CSRF": true,
		"Kind": true, "Progress": true, "Rules": true, "NoticeID": true}
	rt := reflect.TypeFor[view]()
	for i := range rt.NumField() {
		f := rt.Field(i)
		v := view{}
		fv := reflect.ValueOf(&v).Elem().Field(i)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString("x")
		case reflect.Int:
			fv.SetInt(1)
		case reflect.Slice:
			fv.Set(reflect.MakeSlice(fv.Type(), 1, 1))
		case reflect.Struct:
			switch f0 := fv.Field(0); f0.Kind() {
			case reflect.String:
				f0.SetString("x")
			case reflect.Int:
				f0.SetInt(1)
			default:
				t.Fatalf("field %s: first field of kind %s not handled", f.Name, f0.Kind())
			}
		default:
			t.Fatalf("field %s: kind %s not handled", f.Name, fv.Kind())
		}
		if v.isZero() {
			t.Errorf("view.isZero misses field %s", f.Name)
		}
		if _, ok := skelKeyOf("reset.html", &v); ok != keyed[f.Name] {
			t.Errorf("field %s: served from a skeleton %v, keyed %v", f.Name, ok, keyed[f.Name])
		}
	}
}

// The new-password page of the load test, from its skeleton: a few allocations where
// html/template's escapers, called through reflection, made about three hundred.
func TestSkeletonAllocations(t *testing.T) {
	skelMu.Lock()
	skels = map[skelKey]*skeleton{}
	skelMu.Unlock()
	v := langsOf(view{Lang: "en", Title: "Choose a new password", Token: random(), CSRF: random(),
		Rules: flows.PasswordRules{MinLength: 12}})
	v.Back = "/l/" + v.Token
	v = langsOf(view{Lang: v.Lang, Title: v.Title, Token: v.Token, CSRF: v.CSRF, Rules: v.Rules, Back: v.Back})
	if err := execute(io.Discard, "reset.html", v); err != nil {
		t.Fatal(err)
	}
	n := allocs.Min(50, func() {
		if err := execute(io.Discard, "reset.html", v); err != nil {
			t.Fatal(err)
		}
	})
	if n > 10 {
		t.Fatalf("%v allocations per page, want at most 10", n)
	}
}

// A page rendered from a skeleton shows the messages of the catalogs loaded now: loading
// locales after a skeleton was kept renders the page again.
func TestSkeletonFollowsLoadedLocales(t *testing.T) {
	raw, err := os.ReadFile("../../flows/locales/en.json")
	if err != nil {
		t.Fatal(err)
	}
	en := map[string]any{}
	if err := json.Unmarshal(raw, &en); err != nil {
		t.Fatal(err)
	}
	v := langsOf(view{Lang: "en", Title: "Reset", Token: random(), CSRF: random(), Rules: flows.PasswordRules{MinLength: 12}})
	v.Back = "/l/" + v.Token
	v = langsOf(view{Lang: v.Lang, Title: v.Title, Token: v.Token, CSRF: v.CSRF, Rules: v.Rules, Back: v.Back})
	for range 2 {
		if got, want := viaExecute(t, "reset.html", v), htmlTemplate(t, "reset.html", v); got != want {
			t.Fatal("differs before loading locales")
		}
	}
	en["page.reset.submit"] = "Set my new password now"
	changed, _ := json.Marshal(en)
	if err := flows.LoadLocales(fstest.MapFS{"en.json": {Data: changed}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = flows.LoadLocales(fstest.MapFS{}) })
	got := viaExecute(t, "reset.html", v)
	if !strings.Contains(got, "Set my new password now") || got != htmlTemplate(t, "reset.html", v) {
		t.Fatalf("after loading locales the page shows the old messages:\n%s", got)
	}
}

// A page first rendered without a token or a CSRF value (no form on it then) keeps no skeleton
// that later pages of the same key, which have them, would be written from: their form would
// post without its CSRF value or to no link.
func TestSkeletonOfAPageWithoutItsValuesServesNoneWithThem(t *testing.T) {
	defer func(max int) { maxSkeletons = max }(maxSkeletons)
	maxSkeletons = 1 << 20
	for _, empty := range []func(*view){
		func(v *view) { v.CSRF = "" },
		func(v *view) { v.Token = "" },
		func(v *view) { v.Token, v.CSRF = "", "" },
	} {
		skelMu.Lock()
		skels = map[skelKey]*skeleton{}
		skelMu.Unlock()
		first := langsOf(view{Lang: "en", Title: "Choose a new password", Token: random(), CSRF: random(), Rules: flows.PasswordRules{MinLength: 12}})
		empty(&first)
		if got, want := viaExecute(t, "reset.html", first), htmlTemplate(t, "reset.html", first); got != want {
			t.Fatalf("first page differs:\n got %q\nwant %q", got, want)
		}
		for range 2 {
			later := langsOf(view{Lang: "en", Title: "Choose a new password", Token: random(), CSRF: random(), Rules: flows.PasswordRules{MinLength: 12}})
			if got, want := viaExecute(t, "reset.html", later), htmlTemplate(t, "reset.html", later); got != want {
				t.Fatalf("a page with its token and CSRF value after one without them:\n got %q\nwant %q", got, want)
			}
		}
	}
}

// Pages rendered at once, from one skeleton or while it is being kept, each carry their own
// token and CSRF value and nobody else's; the skeletons kept stay within their bound.
func TestSkeletonConcurrentPagesCarryTheirOwnValues(t *testing.T) {
	defer func(max int) { maxSkeletons = max }(maxSkeletons)
	maxSkeletons = 3
	skelMu.Lock()
	skels = map[skelKey]*skeleton{}
	skelMu.Unlock()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				v := view{Lang: flows.Languages()[(g+i)%len(flows.Languages())], Title: "Choose a new password",
					Token: random(), CSRF: random(), Rules: flows.PasswordRules{MinLength: 8 + i%3}}
				v.Back = "/l/" + v.Token
				v = langsOf(v)
				var b strings.Builder
				if err := execute(&b, "reset.html", v); err != nil {
					t.Error(err)
					return
				}
				if got, want := b.String(), htmlTemplate(t, "reset.html", v); got != want {
					t.Errorf("goroutine %d page %d differs from html/template:\n got %q\nwant %q", g, i, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	skelMu.RLock()
	n := len(skels)
	skelMu.RUnlock()
	if n > maxSkeletons {
		t.Fatalf("%d skeletons kept, bound %d", n, maxSkeletons)
	}
}

// render gives, for the views the handlers hand it (no switcher yet; a notice by its catalog
// id), the bytes html/template gives for the full view (the switcher of the page's language, the
// notice's text), request after request (the first keeps a skeleton, the next come from it or
// from html/template), with each request's own values and the page's headers.
func TestRenderMatchesTemplate(t *testing.T) {
	s := &Server{}
	for _, lang := range flows.Languages() {
		for _, c := range []struct {
			name string
			v    view
		}{
			{"reset.html", view{Title: "Choose", Rules: flows.PasswordRules{MinLength: 12}}},
			{"done.html", view{Title: "Changed", NoticeID: "web.password_changed"}},
			{"done.html", view{Title: "Thanks", Notice: "Done <now> & \"then\""}},
			{"reset.html", view{Title: "Choose", Error: "too short"}},
			{"gone.html", view{Title: "Gone"}},
		} {
			for i := range 3 {
				v := c.v
				v.Token, v.CSRF = random(), random()
				if c.name == "reset.html" {
					v.Back = "/l/" + v.Token
				}
				r := httptest.NewRequest(http.MethodGet, "/l/"+v.Token, nil)
				r.Header.Set("Accept-Language", lang)
				r = r.WithContext(flows.WithLang(r.Context(), s.lang(r)))
				w := httptest.NewRecorder()
				s.render(w, r, http.StatusTeapot, c.name, v)
				full := v
				full.Lang = lang
				full = langsOf(full)
				if got, want := w.Body.String(), htmlTemplate(t, c.name, full); got != want {
					t.Fatalf("%s %s request %d:\n got %q\nwant %q", lang, c.name, i, got, want)
				}
				if c.v.NoticeID != "" && !strings.Contains(w.Body.String(), template.HTMLEscapeString(flows.Text(lang, c.v.NoticeID))) {
					t.Fatalf("%s %s: no notice", lang, c.name)
				}
				if h := w.Result().Header; w.Code != http.StatusTeapot || h.Get("Content-Type") != "text/html; charset=utf-8" ||
					h.Get("Content-Language") != lang || h.Get("Vary") != "Accept-Language" {
					t.Fatalf("%s %s: %d %v", lang, c.name, w.Code, h)
				}
			}
		}
	}
}
