// Package phonetest is a fake Twilio-compatible SMS and voice provider over HTTP that records
// what it was asked to send, for tests and the demo.
package phonetest

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Sent is one message or call.
type Sent struct {
	Kind string // "sms" or "call"
	To   string
	From string
	Text string // SMS body, or the call's TwiML
	// Call only: what <Say> speaks and its language attribute.
	Say, Language string
}

// sayLanguages are the language attribute values of TwiML <Say> the fake accepts: the
// language/locale combinations Twilio documents for its voices
// (https://www.twilio.com/docs/voice/twiml/say, attribute language, default en-US). A call
// whose TwiML does not parse, has no <Say>, or names another language is refused (stricter
// than the service, which may fall back to a default voice).
var sayLanguages = map[string]bool{"da-DK": true, "de-DE": true, "en-AU": true, "en-CA": true, "en-GB": true, "en-IN": true,
	"en-US": true, "es-ES": true, "es-MX": true, "fi-FI": true, "fr-CA": true, "fr-FR": true, "it-IT": true, "ja-JP": true,
	"ko-KR": true, "nb-NO": true, "nl-NL": true, "pl-PL": true, "pt-BR": true, "pt-PT": true, "ru-RU": true, "sv-SE": true,
	"zh-CN": true, "zh-HK": true, "zh-TW": true}

// parseSay reads the one <Say> of a call's TwiML.
func parseSay(twiml string) (text, lang string, ok bool) {
	var r struct {
		XMLName xml.Name `xml:"Response"`
		Say     []struct {
			Language string `xml:"language,attr"`
			Text     string `xml:",chardata"`
		} `xml:"Say"`
	}
	if err := xml.Unmarshal([]byte(twiml), &r); err != nil || len(r.Say) != 1 {
		return "", "", false
	}
	lang = r.Say[0].Language
	if lang == "" {
		lang = "en-US"
	}
	return r.Say[0].Text, lang, sayLanguages[lang]
}

// Provider is the fake.
type Provider struct {
	*httptest.Server
	SID, Token string

	mu   sync.Mutex
	sent []Sent
	fail int // requests still to answer 503
	// OnSend is called for each accepted send (the demo prints it).
	OnSend func(Sent)
}

// Start runs the fake on loopback; Close stops it.
func Start() *Provider {
	p := &Provider{SID: "AC00000000000000000000000000000000", Token: "test-token"}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", p.handle("sms", "Body"))
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Calls.json", p.handle("call", "Twiml"))
	p.Server = httptest.NewServer(mux)
	return p
}

func (p *Provider) handle(kind, field string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != p.SID || pass != p.Token || r.PathValue("sid") != p.SID {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": 20003, "message": "Authenticate"})
			return
		}
		p.mu.Lock()
		down := p.fail > 0
		if down {
			p.fail--
		}
		p.mu.Unlock()
		if down {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": 20503, "message": "Service unavailable"})
			return
		}
		_ = r.ParseForm()
		s := Sent{Kind: kind, To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), Text: r.PostForm.Get(field)}
		if kind == "call" {
			var ok bool
			if s.Say, s.Language, ok = parseSay(s.Text); !ok {
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(map[string]any{"code": 12100, "message": "Document parse failure"})
				return
			}
		}
		if !strings.HasPrefix(s.To, "+") || s.Text == "" {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": 21211, "message": "Invalid 'To' Phone Number"})
			return
		}
		p.mu.Lock()
		p.sent = append(p.sent, s)
		p.mu.Unlock()
		if p.OnSend != nil {
			p.OnSend(s)
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": "SM" + strings.Repeat("0", 32), "status": "queued"})
	}
}

// FailNext answers the next n requests with 503.
func (p *Provider) FailNext(n int) {
	p.mu.Lock()
	p.fail = n
	p.mu.Unlock()
}

// Sent returns what was sent so far.
func (p *Provider) Sent() []Sent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Sent(nil), p.sent...)
}

// Last returns the last send.
func (p *Provider) Last() Sent {
	s := p.Sent()
	if len(s) == 0 {
		return Sent{}
	}
	return s[len(s)-1]
}
