package web

import (
	"bytes"
	"io"
	"strings"
	"sync"

	"github.com/resetbot/resetbot/flows"
)

// A page whose view carries, besides its language, only catalog text and the password rules
// (the same for everyone in a language and domain) plus the two values that differ per request,
// the link's token and the form's CSRF value, is rendered from a skeleton: html/template renders
// it once with stand-ins for the two values, and every later request writes the pieces between
// them around its own token and CSRF value. html/template calls its escapers through reflection,
// about 300 allocations for the new-password page; the skeleton needs none of that work.
//
// The output is the bytes html/template writes. The two values are used only when they are made
// of the URL-safe base64 alphabet (what random and the engine's tokens are), which every one of
// html/template's escapers (HTML text, attribute, URL, JavaScript, CSS) leaves as it is, so the
// stand-in, of the same alphabet, is escaped like the real value in every context. A skeleton is
// kept only after the first request's output through it matched html/template's own rendering of
// that request (so a template that compared or cut the token would never use one), and
// TestSkeletonMatchesTemplate renders every page both ways. Nothing secret is kept: the pieces
// are the page around the values.

const (
	tokenStandIn = "Xq7tokenStandInZk3vW9"
	csrfStandIn  = "Xq7csrfStandInZk3vW9p"
)

// maxSkeletons bounds the skeletons kept: pages × languages × the domains' password rules.
var maxSkeletons = 512

// skelKey is everything a skeleton's output depends on besides the token and the CSRF value.
type skelKey struct {
	catalogs                          uint64 // flows.CatalogGeneration: the messages the pages show
	name, lang, title, kind, progress string
	noticeID                          flows.MsgID
	back                              string // "" none; backIsLink: "/l/" + the token
	backIsLink                        bool
	// which of the two values the page has: a skeleton cut from a page without one has no
	// hole for it, so it serves only pages without it
	hasToken, hasCSRF bool
	rules             flows.PasswordRules
}

// skeleton is a rendered page cut at the stand-ins: parts[0] hole[0] parts[1] … parts[n].
type skeleton struct {
	parts []string
	holes []byte // 't' the token, 'c' the CSRF value
}

var (
	skelMu sync.RWMutex
	skels  = map[skelKey]*skeleton{} // nil: the page is not rendered from a skeleton
)

// urlSafe reports whether s is made only of the URL-safe base64 alphabet.
func urlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// skelKeyOf is v's skeleton key, false when v has a field a skeleton does not cover (an error,
// what was typed, lists…) or values that are not URL-safe.
func skelKeyOf(name string, v *view) (skelKey, bool) {
	if !urlSafe(v.Token) || !urlSafe(v.CSRF) {
		return skelKey{}, false
	}
	k := skelKey{catalogs: flows.CatalogGeneration(), name: name, lang: v.Lang, title: v.Title, kind: v.Kind, progress: v.Progress, rules: v.Rules,
		noticeID: v.NoticeID,
		hasToken: v.Token != "", hasCSRF: v.CSRF != ""}
	switch {
	case v.Back == "":
	case v.Token != "" && v.Back == "/l/"+v.Token:
		k.backIsLink = true
	case v.Token != "" && strings.Contains(v.Back, v.Token):
		return skelKey{}, false
	default:
		k.back = v.Back
	}
	rest := *v
	rest.Lang, rest.Langs, rest.Back, rest.Title, rest.Token, rest.CSRF = "", nil, "", "", "", ""
	rest.Kind, rest.Progress, rest.Rules, rest.NoticeID = "", "", flows.PasswordRules{}, ""
	return k, rest.isZero()
}

// isZero reports whether every field of v is empty.
func (v *view) isZero() bool {
	return v.Lang == "" && v.Langs == nil && v.Back == "" && v.Title == "" && v.Error == "" && v.Notice == "" &&
		v.Token == "" && v.CSRF == "" && v.Purpose == "" && v.Show == (flows.EnrolShow{}) && v.QR == "" && v.Kind == "" &&
		v.Registered == nil && v.Enrol == nil && v.Choices == nil && v.Slots == nil && v.Rules == (flows.PasswordRules{}) &&
		v.Progress == "" && v.Options == "" && v.Passkeys == nil && v.Action == "" && v.Field == "" && v.Slot == 0 &&
		v.FieldError == "" && v.Typed == "" && v.Picked == nil && v.Answers == nil && v.PasskeyID == "" && v.NoticeID == ""
}

// fill writes the skeleton around a request's token and CSRF value.
func (sk *skeleton) fill(w io.Writer, token, csrf string) error {
	for i, p := range sk.parts {
		if _, err := io.WriteString(w, p); err != nil {
			return err
		}
		if i < len(sk.holes) {
			val := csrf
			if sk.holes[i] == 't' {
				val = token
			}
			if _, err := io.WriteString(w, val); err != nil {
				return err
			}
		}
	}
	return nil
}

// cut splits a page rendered with the stand-ins into a skeleton.
func cut(page string) *skeleton {
	sk := &skeleton{}
	for {
		t, c := strings.Index(page, tokenStandIn), strings.Index(page, csrfStandIn)
		if t < 0 && c < 0 {
			sk.parts = append(sk.parts, page)
			return sk
		}
		if c < 0 || (t >= 0 && t < c) {
			sk.parts, sk.holes, page = append(sk.parts, page[:t]), append(sk.holes, 't'), page[t+len(tokenStandIn):]
		} else {
			sk.parts, sk.holes, page = append(sk.parts, page[:c]), append(sk.holes, 'c'), page[c+len(csrfStandIn):]
		}
	}
}

// standIn is v with the stand-ins for its token and CSRF value.
func standIn(v view, k skelKey) view {
	if v.Token != "" {
		v.Token = tokenStandIn
	}
	if v.CSRF != "" {
		v.CSRF = csrfStandIn
	}
	if k.backIsLink {
		v.Back = "/l/" + tokenStandIn
	}
	return v
}

// execute renders page name with v (v.Lang and v.Langs set) to w, from a skeleton when one
// is kept for v's key, else through html/template (keeping a skeleton the first time, when it
// gives what html/template gave).
func execute(w io.Writer, name string, v view) error {
	k, ok := skelKeyOf(name, &v)
	if !ok {
		return runTemplate(w, name, v)
	}
	skelMu.RLock()
	sk, known := skels[k]
	full := len(skels) >= maxSkeletons
	skelMu.RUnlock()
	if sk != nil {
		return sk.fill(w, v.Token, v.CSRF)
	}
	if known || full { // kept as nil, or no room: html/template
		return runTemplate(w, name, v)
	}
	var page, stood bytes.Buffer
	if err := runTemplate(&page, name, v); err != nil {
		_, _ = w.Write(page.Bytes())
		return err
	}
	if err := runTemplate(&stood, name, standIn(v, k)); err == nil {
		sk = cut(stood.String())
		var check bytes.Buffer
		if sk.fill(&check, v.Token, v.CSRF); !bytes.Equal(check.Bytes(), page.Bytes()) {
			sk = nil // the page does more with the values than print them
		}
		skelMu.Lock()
		if _, ok := skels[k]; !ok && len(skels) < maxSkeletons {
			skels[k] = sk
		}
		skelMu.Unlock()
	}
	_, err := w.Write(page.Bytes())
	return err
}

// htmlType is the Content-Type of the pages.
var htmlType = []string{"text/html; charset=utf-8"}

// runTemplate renders page name with v through html/template, adding the language switcher
// when the page has one (v.Back) and v has none yet, and the text of v.NoticeID. (A page from a
// skeleton has them in its pieces: they depend on the language and the key alone.)
func runTemplate(w io.Writer, name string, v view) error {
	if v.Back != "" && v.Langs == nil {
		v.Langs = langsFor(v.Lang)
	}
	if v.NoticeID != "" {
		v.Notice = flows.Text(v.Lang, v.NoticeID)
	}
	return pagesIn(v.Lang).ExecuteTemplate(w, name, v)
}

// langsFor is the language switcher of a page in lang.
func langsFor(lang string) []langChoice {
	var langs []langChoice
	for _, l := range flows.Languages() {
		langs = append(langs, langChoice{Tag: l, Name: flows.LanguageName(l), Current: l == lang})
	}
	return langs
}
