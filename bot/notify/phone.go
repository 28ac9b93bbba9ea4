package notify

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/resetbot/resetbot/flows"
)

// Twilio sends SMS and places calls through a Twilio-compatible REST API (account SID and auth
// token as basic auth; Messages.json and Calls.json under the account).
type Twilio struct {
	BaseURL    string // e.g. https://api.twilio.com
	AccountSID string
	AuthToken  string
	From       string // the sending number, E.164
	HTTP       *http.Client
}

var _ flows.PhoneSender = (*Twilio)(nil)

// ProviderError is an error answer of the provider.
type ProviderError struct {
	Status  int
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("phone provider: HTTP %d code %d: %s", e.Status, e.Code, e.Message)
}

func (t *Twilio) post(ctx context.Context, resource string, form url.Values) error {
	hc := t.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	u := strings.TrimSuffix(t.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/" + resource
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("phone provider: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	pe := &ProviderError{Status: resp.StatusCode}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(pe)
	return pe
}

// SendSMS sends one text message.
func (t *Twilio) SendSMS(ctx context.Context, to, body string) error {
	return t.post(ctx, "Messages.json", url.Values{"To": {to}, "From": {t.From}, "Body": {body}})
}

// Call places a call that speaks the text in the language of the person served (flows.WithLang),
// with that language's voice locale (<Say language="de-DE">; TwiML <Say>, language attribute,
// default en-US: https://www.twilio.com/docs/voice/twiml/say).
func (t *Twilio) Call(ctx context.Context, to, speech string) error {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(speech))
	var lang strings.Builder
	_ = xml.EscapeText(&lang, []byte(flows.VoiceLocale(flows.LangFrom(ctx))))
	twiml := `<Response><Say language="` + lang.String() + `">` + b.String() + `</Say></Response>`
	return t.post(ctx, "Calls.json", url.Values{"To": {to}, "From": {t.From}, "Twiml": {twiml}})
}

// Budget caps SMS and calls for the whole deployment per hour (toll fraud); when the budget is
// spent it audits once per window, logs an alert and refuses with flows.ErrBudget.
type Budget struct {
	Next  flows.PhoneSender
	Take  func(ctx context.Context) (bool, error) // counts one send against the shared budget
	Audit flows.Auditor
	Log   *slog.Logger
	Clock flows.Clock
}

var _ flows.PhoneSender = (*Budget)(nil)

func (b *Budget) take(ctx context.Context, kind string) error {
	ok, err := b.Take(ctx)
	if err != nil {
		return fmt.Errorf("phone budget: %w", err)
	}
	if ok {
		return nil
	}
	b.Log.ErrorContext(ctx, "ALERT: the hourly SMS and call budget is spent; phone methods are paused", "kind", kind)
	if b.Audit != nil {
		b.Audit.Audit(ctx, flows.AuditEvent{Time: b.Clock.Now(), Actor: "resetbot", Action: "phone_budget", Outcome: "exhausted", Reason: kind})
	}
	return flows.ErrBudget
}

// SendSMS sends if the budget allows.
func (b *Budget) SendSMS(ctx context.Context, to, body string) error {
	if err := b.take(ctx, "sms"); err != nil {
		return err
	}
	return b.Next.SendSMS(ctx, to, body)
}

// Call calls if the budget allows.
func (b *Budget) Call(ctx context.Context, to, speech string) error {
	if err := b.take(ctx, "voice"); err != nil {
		return err
	}
	return b.Next.Call(ctx, to, speech)
}

var errNoProvider = errors.New("no SMS and voice provider is configured")

// NoPhone refuses every send; it stands in when no provider is configured.
type NoPhone struct{}

// SendSMS refuses.
func (NoPhone) SendSMS(context.Context, string, string) error { return errNoProvider }

// Call refuses.
func (NoPhone) Call(context.Context, string, string) error { return errNoProvider }
