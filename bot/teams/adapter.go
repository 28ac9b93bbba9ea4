package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/flows"
)

// Platform is Teams' name in chat keys.
const Platform = "teams"

// Config is the Teams part of the deployment configuration.
type Config struct {
	AppID          string   // the bot's app registration (single tenant)
	AppSecret      string   // its client secret
	TenantID       string   // the bot's own tenant: outbound tokens come from there
	AllowedTenants []string // tenants whose users are served
	ServiceHosts   []string // hosts replies may go to; "*.botframework.com" matches subdomains
	Metadata       string   // OpenID metadata URL (default: the Bot Framework's)
	TokenURL       string   // default: the bot tenant's token endpoint
}

// DefaultServiceHosts are the Bot Connector hosts Teams uses.
var DefaultServiceHosts = []string{"smba.trafficmanager.net", "*.botframework.com"}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.AppID == "" || c.AppSecret == "" {
		errs = append(errs, errors.New("TEAMS_APP_ID and TEAMS_APP_PASSWORD are required"))
	}
	if c.TenantID == "" {
		errs = append(errs, errors.New("TEAMS_TENANT_ID is required (single-tenant bot registration)"))
	}
	if len(c.AllowedTenants) == 0 {
		errs = append(errs, errors.New("TEAMS_ALLOWED_TENANTS must list the tenant ids the bot serves"))
	}
	return errors.Join(errs...)
}

// Engine is what the adapter drives.
type Engine interface {
	Handle(ctx context.Context, in flows.Inbound) ([]flows.Reply, error)
	Admin(ctx context.Context, in flows.Inbound, text string) ([]flows.Reply, error)
}

// Refs stores conversation references so the bot can message a user later.
type Refs interface {
	PutRef(ctx context.Context, userID string, ref []byte) error
	GetRef(ctx context.Context, userID string) ([]byte, error)
	EachRef(ctx context.Context, fn func(userID string, ref []byte) error) error
}

// Ref is what is needed to reach a user proactively.
type Ref struct {
	ServiceURL     string `json:"serviceUrl"`
	ConversationID string `json:"conversationId"`
	UserID         string `json:"userId"` // 29:… id
	AADObjectID    string `json:"aadObjectId"`
	TenantID       string `json:"tenantId"`
	BotID          string `json:"botId"`
	TimeZone       string `json:"tz,omitempty"`
	Locale         string `json:"locale,omitempty"`
}

// Adapter connects the bot to Teams.
type Adapter struct {
	cfg   Config
	eng   Engine
	refs  Refs
	keys  *Keys
	clock flows.Clock
	sleep func(ctx context.Context, d time.Duration) error
	log   *slog.Logger
	hc    *http.Client
	token oauth2.TokenSource
	work  sync.WaitGroup

	mu   sync.Mutex
	next map[string]time.Time // per-conversation spacing
}

// Option adjusts an Adapter.
type Option func(*Adapter)

// WithSleep injects how the adapter waits (tests advance a fake clock).
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(a *Adapter) { a.sleep = f }
}

// WithHTTPClient sets the client for outbound calls (tests).
func WithHTTPClient(hc *http.Client) Option { return func(a *Adapter) { a.hc = hc } }

// New builds the adapter.
func New(cfg Config, eng Engine, refs Refs, clock flows.Clock, log *slog.Logger, opts ...Option) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Metadata == "" {
		cfg.Metadata = DefaultOpenIDMetadata
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = "https://login.microsoftonline.com/" + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token"
	}
	if len(cfg.ServiceHosts) == 0 {
		cfg.ServiceHosts = DefaultServiceHosts
	}
	a := &Adapter{cfg: cfg, eng: eng, refs: refs, clock: clock, log: log, hc: bot.PooledClient(15 * time.Second),
		sleep: bot.Sleep, next: map[string]time.Time{}}
	for _, o := range opts {
		o(a)
	}
	a.keys = &Keys{Metadata: cfg.Metadata, HTTP: a.hc, Clock: clock}
	cc := clientcredentials.Config{ClientID: cfg.AppID, ClientSecret: cfg.AppSecret, TokenURL: cfg.TokenURL,
		Scopes: []string{"https://api.botframework.com/.default"}, AuthStyle: oauth2.AuthStyleInParams}
	a.token = oauth2.ReuseTokenSource(nil, cc.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, a.hc)))
	return a, nil
}

// Wait blocks until acknowledged activities are worked on.
func (a *Adapter) Wait() { a.work.Wait() }

// Activity is the part of a Bot Framework activity the bot reads.
type Activity struct {
	Type         string          `json:"type"`
	ID           string          `json:"id"`
	ServiceURL   string          `json:"serviceUrl"`
	ChannelID    string          `json:"channelId"`
	From         Account         `json:"from"`
	Recipient    Account         `json:"recipient"`
	Conversation Conversation    `json:"conversation"`
	Text         string          `json:"text"`
	Value        json.RawMessage `json:"value,omitempty"`
	Locale       string          `json:"locale"`
	LocalTZ      string          `json:"localTimezone"`
	ChannelData  struct {
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
	} `json:"channelData"`
	MembersAdded []Account `json:"membersAdded"`
}

// Account is a Teams user or bot.
type Account struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	AADObjectID string `json:"aadObjectId,omitempty"`
}

// Conversation identifies a chat.
type Conversation struct {
	ID               string `json:"id"`
	ConversationType string `json:"conversationType,omitempty"`
	TenantID         string `json:"tenantId,omitempty"`
}

// Handler serves POST /api/messages: the token is validated before anything else, then the
// activity is acknowledged and worked on.
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/messages", a.messages)
	return mux
}

func (a *Adapter) messages(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<10))
	if err != nil {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		return
	}
	// the serviceUrl is only read to compare it with the token's claim
	var head struct {
		ServiceURL string `json:"serviceUrl"`
	}
	_ = json.Unmarshal(body, &head)
	if _, err := Validate(r.Context(), a.keys, r.Header.Get("Authorization"), a.cfg.AppID, head.ServiceURL); err != nil {
		var ae *AuthError
		status := http.StatusForbidden
		if errors.As(err, &ae) {
			status = ae.Status
		}
		a.log.WarnContext(r.Context(), "teams request refused", "reason", err.Error())
		http.Error(w, http.StatusText(status), status)
		return
	}
	var act Activity
	if err := json.Unmarshal(body, &act); err != nil {
		http.Error(w, "bad activity", http.StatusBadRequest)
		return
	}
	if act.ChannelID != "msteams" || !contains(a.cfg.AllowedTenants, act.ChannelData.Tenant.ID) {
		http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
		return
	}
	w.WriteHeader(http.StatusOK)
	a.work.Add(1)
	go func() {
		defer a.work.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Minute)
		defer cancel()
		a.onActivity(ctx, act)
	}()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// serviceAllowed reports whether replies may go to u: https on an allow-listed host.
func (a *Adapter) serviceAllowed(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return false
	}
	host := strings.ToLower(p.Hostname())
	for _, h := range a.cfg.ServiceHosts {
		h = strings.ToLower(h)
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			if strings.HasSuffix(host, "."+rest) && (p.Scheme == "https" || isLoopback(host)) {
				return true
			}
		} else if host == h && (p.Scheme == "https" || isLoopback(host)) {
			return true
		}
	}
	return false
}

func isLoopback(h string) bool { return h == "127.0.0.1" || h == "localhost" || h == "::1" }

func (a *Adapter) onActivity(ctx context.Context, act Activity) {
	tenant := act.ChannelData.Tenant.ID
	ref := Ref{ServiceURL: act.ServiceURL, ConversationID: act.Conversation.ID, UserID: act.From.ID, AADObjectID: act.From.AADObjectID,
		TenantID: tenant, BotID: act.Recipient.ID, TimeZone: act.LocalTZ, Locale: act.Locale}
	switch act.Type {
	case "conversationUpdate", "installationUpdate":
		if act.Conversation.ConversationType == "personal" && act.From.AADObjectID != "" {
			a.saveRef(ctx, ref)
		}
		return
	case "message":
	default:
		return
	}
	if act.Conversation.ConversationType != "personal" || act.From.AADObjectID == "" {
		return // 1:1 chats only
	}
	a.saveRef(ctx, ref)
	chat := flows.ChatRef{Platform: Platform, Tenant: tenant, UserID: act.From.AADObjectID, Channel: act.Conversation.ID, Locale: act.Locale, // the activity's locale; empty reads English, and reminders use the remembered or the policy's language
		TimeZone: act.LocalTZ}
	in := flows.Inbound{Chat: chat, Claim: flows.Claim{Kind: flows.ClaimObjectID, Value: act.From.AADObjectID}, Text: plainText(act.Text),
		IdemKey: "teams:" + act.ID}
	if len(act.Value) > 0 {
		var v struct {
			Choice string `json:"choice"`
		}
		_ = json.Unmarshal(act.Value, &v)
		in.Text, in.Choice = "", v.Choice
	}
	var replies []flows.Reply
	var err error
	words := strings.Fields(strings.ToLower(in.Text))
	if len(words) > 0 && flows.IsAdminWord(words[0]) { // the bot-admin (and helpdesk) commands: flows lists them
		replies, err = a.eng.Admin(ctx, in, in.Text)
	} else {
		replies, err = a.eng.Handle(ctx, in)
	}
	if err != nil {
		a.log.ErrorContext(ctx, "engine failed", "err", err)
	}
	if err := a.send(ctx, ref, replies); err != nil {
		a.log.ErrorContext(ctx, "teams reply failed", "err", err)
	}
}

// markup is an HTML tag as the Teams client puts it into a message's text: formatting a person
// applied (<strong>, <p>, <br>), an address or link it turned into <a href="mailto:...">,
// a mention's <at>. A "<" not followed by a letter or "/" and a letter is text ("a < b").
var markup = regexp.MustCompile(`</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>`)

// plainText is what the person typed, without the markup Teams may wrap it in (the text
// format "xml" of the Bot Framework's message activity, Teams docs "Format your bot messages"):
// tags dropped, a line break or paragraph kept as a space, entities such as &amp; and &#39;
// read. Text without markup is returned unchanged.
func plainText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	s = markup.ReplaceAllStringFunc(s, func(tag string) string {
		name, _, _ := strings.Cut(strings.ToLower(strings.Trim(tag, "</>")), " ")
		if name == "br" || name == "p" || name == "div" {
			return " "
		}
		return ""
	})
	return strings.TrimSpace(html.UnescapeString(s))
}

func (a *Adapter) saveRef(ctx context.Context, ref Ref) {
	if !a.serviceAllowed(ref.ServiceURL) {
		return
	}
	b, _ := json.Marshal(ref)
	if err := a.refs.PutRef(ctx, ref.AADObjectID, b); err != nil {
		a.log.ErrorContext(ctx, "teams reference not saved", "err", err)
	}
}

// Notify implements flows.Notifier: a proactive 1:1 message through the stored reference.
func (a *Adapter) Notify(ctx context.Context, chat flows.ChatRef, replies []flows.Reply) error {
	b, err := a.refs.GetRef(ctx, chat.UserID)
	if err != nil {
		return fmt.Errorf("teams: no conversation with %s: the app must be installed for them: %w", chat.UserID, err)
	}
	var ref Ref
	if err := json.Unmarshal(b, &ref); err != nil {
		return err
	}
	return a.send(ctx, ref, replies)
}

// Targets implements flows.ChatRoster: every user who has the app installed, by object id.
func (a *Adapter) Targets(ctx context.Context) (map[string]flows.ChatTarget, error) {
	out := map[string]flows.ChatTarget{}
	err := a.refs.EachRef(ctx, func(id string, b []byte) error {
		var ref Ref
		if json.Unmarshal(b, &ref) != nil {
			return nil
		}
		tz, err := time.LoadLocation(ref.TimeZone)
		if err != nil || ref.TimeZone == "" {
			tz = time.UTC
		}
		out[strings.ToLower(id)] = flows.ChatTarget{TZ: tz, Chat: flows.ChatRef{Platform: Platform, Tenant: ref.TenantID, UserID: id,
			Channel: ref.ConversationID, Locale: ref.Locale}}
		return nil
	})
	return out, err
}

// send posts replies as one activity with an Adaptive Card, only to an allow-listed serviceUrl.
func (a *Adapter) send(ctx context.Context, ref Ref, replies []flows.Reply) error {
	if len(replies) == 0 {
		return nil
	}
	if !a.serviceAllowed(ref.ServiceURL) {
		return fmt.Errorf("teams: serviceUrl %q is not allowed", ref.ServiceURL)
	}
	body, err := json.Marshal(Message(replies, ref))
	if err != nil {
		return err
	}
	u := strings.TrimSuffix(ref.ServiceURL, "/") + "/v3/conversations/" + url.PathEscape(ref.ConversationID) + "/activities"
	return a.post(ctx, ref.ConversationID, u, body)
}

// retryable statuses of the Bot Connector.
func retryable(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusPreconditionFailed || code == http.StatusBadGateway || code == http.StatusGatewayTimeout
}

// post sends with the per-conversation spacing, retrying 429, 412, 502 and 504 with backoff
// (Retry-After when given).
func (a *Adapter) post(ctx context.Context, conv, u string, body []byte) error {
	backoff := time.Second
	for attempt := 0; ; attempt++ {
		if err := a.space(ctx, conv); err != nil {
			return err
		}
		tok, err := a.token.Token()
		if err != nil {
			return fmt.Errorf("teams: token: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := a.hc.Do(req)
		if err != nil {
			return fmt.Errorf("teams: send: %w", err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		if !retryable(resp.StatusCode) || attempt >= 4 {
			return fmt.Errorf("teams: send: HTTP %d", resp.StatusCode)
		}
		wait := backoff
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		backoff *= 2
		if err := a.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// space keeps one conversation's messages about a second apart (Teams' per-thread limits).
func (a *Adapter) space(ctx context.Context, conv string) error {
	a.mu.Lock()
	now := a.clock.Now()
	at := a.next[conv]
	if at.Before(now) {
		at = now
	}
	a.next[conv] = at.Add(time.Second)
	if len(a.next) > 10_000 {
		a.next = map[string]time.Time{}
	}
	a.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return a.sleep(ctx, d)
	}
	return nil
}
