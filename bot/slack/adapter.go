package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/jsonscan"

	"github.com/resetbot/resetbot/internal/gopool"
)

// Platform is Slack's name in chat keys.
const Platform = "slack"

// Config is the Slack part of the deployment configuration.
type Config struct {
	BotToken      string   // xoxb-…
	AppToken      string   // xapp-…, Socket Mode
	SigningSecret string   // HTTP mode
	Socket        bool     // Socket Mode instead of HTTP
	TeamIDs       []string // allowed workspaces
	EnterpriseIDs []string // allowed Enterprise Grid orgs (empty: none required)
	APIURL        string   // tests: the fake Slack; must end with /
	AdminChannel  string   // where security alerts for bot admins are posted (optional)
}

// Validate checks tokens by prefix and the transport's secrets, reporting every problem.
func (c Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.BotToken, "xoxb-") {
		errs = append(errs, errors.New("SLACK_BOT_TOKEN must be a bot token (xoxb-…)"))
	}
	if c.Socket && !strings.HasPrefix(c.AppToken, "xapp-") {
		errs = append(errs, errors.New("Socket Mode needs SLACK_APP_TOKEN, an app-level token (xapp-…) with connections:write"))
	}
	if !c.Socket && len(c.SigningSecret) < 16 {
		errs = append(errs, errors.New("the HTTP Events API needs SLACK_SIGNING_SECRET"))
	}
	if len(c.TeamIDs) == 0 {
		errs = append(errs, errors.New("SLACK_TEAM_IDS must list the workspace ids the bot serves"))
	}
	return errors.Join(errs...)
}

// Engine is what the adapter drives.
type Engine interface {
	Handle(ctx context.Context, in flows.Inbound) ([]flows.Reply, error)
	Overview(ctx context.Context, in flows.Inbound) (flows.Overview, error)
	Admin(ctx context.Context, in flows.Inbound, command string) ([]flows.Reply, error)
	PlatformRefusal(ctx context.Context, chat flows.ChatRef, reason string) flows.Reply
}

// Seen deduplicates deliveries across replicas.
type Seen interface {
	FirstSeen(ctx context.Context, id string, ttl time.Duration) (bool, error)
}

// Adapter connects one Slack app to the engine.
type Adapter struct {
	cfg   Config
	api   *slackapi.Client
	web   webAPI // how postForm reaches the Web API
	eng   Engine
	seen  Seen
	clock flows.Clock
	sleep func(ctx context.Context, d time.Duration) error
	log   *slog.Logger
	lim   *limiter

	verifier verifier // request signatures (HTTP mode)

	mu      sync.Mutex
	users   map[string]userEntry
	sweepAt time.Time // when expired users are next dropped from users
	work    inflight

	qmu     sync.Mutex
	queues  map[string]*userQueue // team:user → pending work
	dropped atomic.Int64
}

type userEntry struct {
	user person
	at   time.Time
}

// person is what the adapter keeps of a users.info answer: only what identify reads (the
// whole slack.User with its profile is about ten times the size, for every person cached).
type person struct {
	Locale, TZ, TeamID, Email                            string
	Deleted, IsBot, Restricted, Stranger, EmailConfirmed bool
}

// userInfoAnswer is what the adapter reads of users.info's answer: ok, error and the user's
// fields personOf reads, under slack.User's JSON names.
type userInfoAnswer struct {
	Ok    bool   `json:"ok"`
	Error string `json:"error"`
	User  struct {
		TeamID            string `json:"team_id"`
		Deleted           bool   `json:"deleted"`
		TZ                string `json:"tz"`
		IsBot             bool   `json:"is_bot"`
		IsRestricted      bool   `json:"is_restricted"`
		IsUltraRestricted bool   `json:"is_ultra_restricted"`
		IsStranger        bool   `json:"is_stranger"`
		IsEmailConfirmed  bool   `json:"is_email_confirmed"`
		Locale            string `json:"locale"`
		Profile           struct {
			Email string `json:"email"`
		} `json:"profile"`
	} `json:"user"`
}

// member reads ok, error and the user's fields (the user's profile, status and images
// skipped).
func (r *userInfoAnswer) member(key []byte, val jsonscan.Value) (err error) {
	v := val.Raw()
	switch {
	case jsonscan.Is(key, "ok"):
		r.Ok, err = jsonscan.Bool(v)
	case jsonscan.Is(key, "error"):
		r.Error, err = jsonscan.String(v)
	case jsonscan.Is(key, "user"):
		u := &r.User
		err = val.Members(func(k []byte, val jsonscan.Value) (err error) {
			v := val.Raw()
			switch {
			case jsonscan.Is(k, "team_id"):
				u.TeamID, err = jsonscan.String(v)
			case jsonscan.Is(k, "deleted"):
				u.Deleted, err = jsonscan.Bool(v)
			case jsonscan.Is(k, "tz"):
				u.TZ, err = jsonscan.String(v)
			case jsonscan.Is(k, "is_bot"):
				u.IsBot, err = jsonscan.Bool(v)
			case jsonscan.Is(k, "is_restricted"):
				u.IsRestricted, err = jsonscan.Bool(v)
			case jsonscan.Is(k, "is_ultra_restricted"):
				u.IsUltraRestricted, err = jsonscan.Bool(v)
			case jsonscan.Is(k, "is_stranger"):
				u.IsStranger, err = jsonscan.Bool(v)
			case jsonscan.Is(k, "is_email_confirmed"):
				u.IsEmailConfirmed, err = jsonscan.Bool(v)
			case jsonscan.Is(k, "locale"):
				u.Locale, err = jsonscan.String(v)
			case jsonscan.Is(k, "profile"):
				err = val.Members(func(k []byte, v jsonscan.Value) (err error) {
					if jsonscan.Is(k, "email") {
						u.Profile.Email, err = jsonscan.String(v.Raw())
					}
					return err
				})
			}
			return err
		})
	}
	return err
}

// userInfo calls users.info as slack-go's GetUserInfoContext does (the same form, include_locale
// among it, and the same errors), decoding only what personOf keeps: slack-go decodes the whole
// user with its profile, about a hundred allocations a call. (slack-go's answer type shadows
// response_metadata, so its error carries none; neither does this one.)
func (a *Adapter) userInfo(ctx context.Context, id string) (person, error) {
	var r userInfoAnswer
	var all [8]string
	if err := a.postForm(ctx, "users.info", append(all[:0], "user", id, "include_locale", "true"), &r); err != nil {
		return person{}, err
	}
	if err := (slackapi.SlackResponse{Ok: r.Ok, Error: r.Error}).Err(); err != nil {
		return person{}, err
	}
	u := r.User
	return person{Locale: u.Locale, TZ: u.TZ, TeamID: u.TeamID, Email: u.Profile.Email, Deleted: u.Deleted, IsBot: u.IsBot,
		Restricted: u.IsRestricted || u.IsUltraRestricted, Stranger: u.IsStranger, EmailConfirmed: u.IsEmailConfirmed}, nil
}

// Option adjusts an Adapter.
type Option func(*Adapter)

// WithSleep injects how the adapter waits (tests advance a fake clock instead).
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(a *Adapter) { a.sleep = f }
}

// New builds the adapter.
func New(cfg Config, eng Engine, seen Seen, clock flows.Clock, log *slog.Logger, opts ...Option) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hc, base := bot.PooledClient(30*time.Second), slackapi.APIURL
	sopts := []slackapi.Option{slackapi.OptionHTTPClient(hc)}
	if cfg.APIURL != "" {
		sopts = append(sopts, slackapi.OptionAPIURL(cfg.APIURL))
		base = cfg.APIURL
	}
	if cfg.AppToken != "" {
		sopts = append(sopts, slackapi.OptionAppLevelToken(cfg.AppToken))
	}
	a := &Adapter{cfg: cfg, api: slackapi.New(cfg.BotToken, sopts...), web: newWebAPI(hc, base), eng: eng, seen: seen, clock: clock, log: log,
		users: map[string]userEntry{}, sleep: bot.Sleep, queues: map[string]*userQueue{}}
	for _, o := range opts {
		o(a)
	}
	a.lim = newLimiter(clock, a.sleep)
	return a, nil
}

// Wait blocks until the work started by acknowledged requests is done.
func (a *Adapter) Wait() { a.work.Wait() }

// inflight counts the work started and not yet done; wait blocks until none is left. A count
// under a mutex rather than a sync.WaitGroup: new work may start (the next request) after a
// wait has returned with only the network between the two, an order a WaitGroup requires to
// be visible to the race detector and the network is not.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil while none is waited for
}

func (w *inflight) Add(d int) {
	w.mu.Lock()
	w.n += d
	if w.n == 0 && w.idle != nil {
		close(w.idle)
		w.idle = nil
	}
	w.mu.Unlock()
}

func (w *inflight) Done() { w.Add(-1) }

func (w *inflight) Wait() {
	w.mu.Lock()
	if w.n == 0 {
		w.mu.Unlock()
		return
	}
	if w.idle == nil {
		w.idle = make(chan struct{})
	}
	idle := w.idle
	w.mu.Unlock()
	<-idle
}

// later runs f after the request was acknowledged, detached from the request's context.
func (a *Adapter) later(ctx context.Context, f func(ctx context.Context)) {
	a.work.Add(1)
	gopool.Go(func() {
		defer a.work.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		f(ctx)
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// allowed reports whether a workspace (and enterprise) is served.
func (a *Adapter) allowed(team, enterprise string) bool {
	if !contains(a.cfg.TeamIDs, team) {
		return false
	}
	if len(a.cfg.EnterpriseIDs) > 0 && !contains(a.cfg.EnterpriseIDs, enterprise) {
		return false
	}
	return true
}

// delivery names a Slack delivery for the dedupe: "slack:evt:<event_id>", "slack:trg:<trigger>".
func delivery(id string) string { return "slack:" + id }

// first reports whether a delivery (see delivery) is new; on a Redis error it lets the delivery
// through, since the engine's own commit deduplicates again.
func (a *Adapter) first(ctx context.Context, key string) bool {
	ok, err := a.seen.FirstSeen(ctx, key, flows.DeliveryTTL)
	if err != nil {
		a.log.WarnContext(ctx, "dedupe unavailable", "err", err)
		return true
	}
	return ok
}

// identify turns a Slack user into a verified claim, or a reason to refuse.
func (a *Adapter) identify(ctx context.Context, userID, team string) (flows.ChatRef, flows.Claim, string, error) {
	chat := flows.ChatRef{Platform: Platform, Tenant: team, UserID: userID}
	u, err := a.user(ctx, userID)
	if err != nil {
		return chat, flows.Claim{}, "", err
	}
	// users.info with include_locale=true (slack-go sends it): the person's Slack language
	chat.Locale = u.Locale
	chat.TimeZone = u.TZ // users.info "tz": the person's IANA time zone
	switch {
	case u.Deleted:
		return chat, flows.Claim{}, "deleted", nil
	case u.IsBot:
		return chat, flows.Claim{}, "bot", nil
	case u.Restricted:
		return chat, flows.Claim{}, "guest", nil
	case u.Stranger || (u.TeamID != "" && u.TeamID != team && !contains(a.cfg.TeamIDs, u.TeamID)):
		return chat, flows.Claim{}, "external", nil
	case !u.EmailConfirmed || u.Email == "":
		return chat, flows.Claim{}, "email_unconfirmed", nil
	}
	return chat, flows.Claim{Kind: flows.ClaimEmail, Value: strings.ToLower(u.Email)}, "", nil
}

const userTTL = 5 * time.Minute

// user is the person behind a Slack user id, from users.info, cached for userTTL. Every
// userTTL the cache drops the people it holds past their time, so it holds about the people
// seen in the last two userTTL, not everyone ever seen.
func (a *Adapter) user(ctx context.Context, id string) (person, error) {
	now := a.clock.Now()
	a.mu.Lock()
	e, ok := a.users[id]
	a.mu.Unlock()
	if ok && now.Sub(e.at) < userTTL {
		return e.user, nil
	}
	var p person
	err := a.call(ctx, "users.info", func() error {
		var err error
		p, err = a.userInfo(ctx, id)
		return err
	})
	if err != nil {
		return person{}, fmt.Errorf("slack: users.info: %w", err)
	}
	a.mu.Lock()
	if now.After(a.sweepAt) {
		for k, e := range a.users {
			if now.Sub(e.at) >= userTTL {
				delete(a.users, k)
			}
		}
		a.sweepAt = now.Add(userTTL)
	}
	if len(a.users) > 50_000 {
		a.users = map[string]userEntry{}
	}
	a.users[id] = userEntry{user: p, at: now}
	a.mu.Unlock()
	return p, nil
}

// cachedUsers is how many people the users.info cache holds.
func (a *Adapter) cachedUsers() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.users)
}

// handle runs one inbound through the engine and posts the replies to channel.
func (a *Adapter) handle(ctx context.Context, team, userID, channel string, build func(*flows.Inbound)) {
	var in flows.Inbound
	build(&in)
	chat, claim, refusal, err := a.identify(ctx, userID, team)
	chat.Channel = channel
	if err != nil {
		a.log.ErrorContext(ctx, "slack identify failed", "err", err, "user", userID)
		return
	}
	if refusal != "" {
		if refusal == "bot" || refusal == "deleted" {
			return
		}
		// no step claims the delivery of a refusal: it is claimed here
		if in.Delivery != "" && !a.first(ctx, in.Delivery) {
			return
		}
		a.post(ctx, chat, []flows.Reply{a.eng.PlatformRefusal(ctx, chat, refusal)})
		return
	}
	in.Chat, in.Claim = chat, claim
	replies, err := a.eng.Handle(ctx, in)
	if err != nil {
		a.log.ErrorContext(ctx, "engine failed", "err", err, "chat", chat.Key())
	}
	a.post(ctx, chat, replies)
}

// eventEnvelope is what the adapter reads of an Events API payload (an event_callback, or the
// url_verification handshake), decoded once per delivery: the fields slackevents.ParseEvent and
// its MessageEvent would give the checks in onEvent, and nothing else.
type eventEnvelope struct {
	Type         string      `json:"type"`
	Challenge    string      `json:"challenge"`
	EventID      string      `json:"event_id"`
	TeamID       string      `json:"team_id"`
	EnterpriseID string      `json:"enterprise_id"`
	Event        *innerEvent `json:"event"`
}

// innerEvent is the part of a message or app_home_opened event onEvent reads.
type innerEvent struct {
	Type        string `json:"type"`
	User        string `json:"user"`
	Channel     string `json:"channel"`
	ChannelType string `json:"channel_type"`
	Text        string `json:"text"`
	SubType     string `json:"subtype"`
	BotID       string `json:"bot_id"`
	Tab         string `json:"tab"`
	// An edit: "edited" on the message itself, or on "message" when the event carries one
	// (slackevents.MessageEvent reads it from "message" when present, else from the top level).
	Edited  *slackapi.Edited `json:"edited"`
	Message *struct {
		Edited *slackapi.Edited `json:"edited"`
	} `json:"message"`
}

// edited reports whether a message event is about an edit.
func (e *innerEvent) edited() bool {
	if e.Message != nil {
		return e.Message.Edited != nil
	}
	return e.Edited != nil
}

// decodeEvent decodes an Events API payload once, as json.Unmarshal decodes it into
// eventEnvelope (keys in any case included), walking it with jsonscan: the strings it keeps
// are its only allocations. On a field of the wrong type it returns what it decoded and the
// error: a payload jsonscan refuses is decoded with json.Unmarshal, for the same error.
func decodeEvent(raw []byte) (*eventEnvelope, error) {
	env := &eventEnvelope{}
	if scanEvent(raw, env) == nil {
		return env, nil
	}
	env = &eventEnvelope{}
	return env, json.Unmarshal(raw, env)
}

func scanEvent(raw []byte, env *eventEnvelope) error {
	is := jsonscan.Is
	return jsonscan.Object(raw, func(k []byte, val jsonscan.Value) (err error) {
		v := val.Raw()
		switch {
		case is(k, "type"):
			env.Type, err = jsonscan.String(v)
		case is(k, "challenge"):
			env.Challenge, err = jsonscan.String(v)
		case is(k, "event_id"):
			env.EventID, err = jsonscan.String(v)
		case is(k, "team_id"):
			env.TeamID, err = jsonscan.String(v)
		case is(k, "enterprise_id"):
			env.EnterpriseID, err = jsonscan.String(v)
		case is(k, "event"):
			if string(v) == "null" {
				env.Event = nil
				return nil
			}
			if env.Event == nil {
				env.Event = &innerEvent{}
			}
			e := env.Event
			return val.Members(func(k []byte, val jsonscan.Value) (err error) {
				v := val.Raw()
				switch {
				case is(k, "type"):
					e.Type, err = jsonscan.String(v)
				case is(k, "user"):
					e.User, err = jsonscan.String(v)
				case is(k, "channel"):
					e.Channel, err = jsonscan.String(v)
				case is(k, "channel_type"):
					e.ChannelType, err = jsonscan.String(v)
				case is(k, "text"):
					e.Text, err = jsonscan.String(v)
				case is(k, "subtype"):
					e.SubType, err = jsonscan.String(v)
				case is(k, "bot_id"):
					e.BotID, err = jsonscan.String(v)
				case is(k, "tab"):
					e.Tab, err = jsonscan.String(v)
				case is(k, "edited"): // an edit: rare, read as encoding/json reads it
					err = json.Unmarshal(v, &e.Edited)
				case is(k, "message"):
					err = json.Unmarshal(v, &e.Message)
				}
				return err
			})
		}
		return err
	})
}

// kind is what onEvent does with a payload from an allowed workspace: "message" (a direct
// message to answer), "home" (the home tab was opened) or "" (nothing).
func (env *eventEnvelope) kind() string {
	if env.Type != slackevents.CallbackEvent || env.Event == nil {
		return ""
	}
	switch e := env.Event; e.Type {
	case string(slackevents.Message):
		if e.ChannelType != "im" || e.BotID != "" || e.SubType != "" || e.User == "" || e.edited() {
			return ""
		}
		return "message"
	case string(slackevents.AppHomeOpened):
		if e.Tab == "home" {
			return "home"
		}
	}
	return ""
}

// onEvent handles one decoded Events API payload.
func (a *Adapter) onEvent(ctx context.Context, env *eventEnvelope) {
	if env.Type != slackevents.CallbackEvent || env.Event == nil {
		return
	}
	if !a.allowed(env.TeamID, env.EnterpriseID) {
		a.log.WarnContext(ctx, "event from a workspace that is not allowed", "team", env.TeamID, "enterprise", env.EnterpriseID)
		return
	}
	e := env.Event
	switch env.kind() {
	case "message":
		// the step claims the delivery in its first read (Inbound.Delivery): no round trip
		a.handle(ctx, env.TeamID, e.User, e.Channel, func(in *flows.Inbound) {
			// delivery("evt:"+env.EventID), in one concatenation
			in.Text, in.IdemKey, in.Delivery = typedText(e.Text), "slack:"+env.EventID, "slack:evt:"+env.EventID
		})
	case "home":
		if a.first(ctx, delivery("evt:"+env.EventID)) {
			a.publishHome(ctx, env.TeamID, e.User)
		}
	}
}

// interaction is what the adapter reads of an interactivity payload, decoded once: the fields
// of slack.InteractionCallback onInteraction uses, and the clicked message's blocks kept as
// JSON (closeButtons sends back all but the buttons), slices of the payload.
type interaction struct {
	Type, TriggerID                 string
	Team, Enterprise, User, Channel idObject
	ViewType, MessageTs             string
	Actions                         []actionCallback
	Blocks                          []jsonscan.Value // message.blocks
}

type idObject struct{ ID string }

// actionCallback is one of the payload's actions.
type actionCallback struct {
	BlockIsText            bool   // slack.ActionCallbacks counts an action as a block action when block_id is a string
	ActionID, Value, Label string // Label: text.text
}

// decodeInteraction reads an interactivity payload as encoding/json would read it into
// slack.InteractionCallback's fields of the same names (an error for a payload that is not
// JSON or holds a value of another type than those fields), walking it once with jsonscan:
// the payload carries the whole clicked message, of which the adapter reads a handful of ids.
// The blocks kept are slices of payload, which must not change afterwards.
func decodeInteraction(payload []byte) (*interaction, error) {
	cb := &interaction{}
	// the payload is checked once: its values' walks check nothing again
	str := func(dst *string) func(key []byte, v jsonscan.Value) error {
		return func(_ []byte, v jsonscan.Value) (err error) { *dst, err = jsonscan.String(v.Raw()); return err }
	}
	id := func(o *idObject) func(key []byte, v jsonscan.Value) error {
		return func(_ []byte, v jsonscan.Value) error {
			return v.Members(func(k []byte, v jsonscan.Value) (err error) {
				if jsonscan.Is(k, "id") {
					o.ID, err = jsonscan.String(v.Raw())
				}
				return err
			})
		}
	}
	field := func(name string, v jsonscan.Value, read func(key []byte, v jsonscan.Value) error) error {
		return v.Members(func(k []byte, v jsonscan.Value) error {
			if jsonscan.Is(k, name) {
				return read(k, v)
			}
			return nil
		})
	}
	err := jsonscan.Object(payload, func(k []byte, v jsonscan.Value) error {
		switch {
		case jsonscan.Is(k, "type"):
			return str(&cb.Type)(k, v)
		case jsonscan.Is(k, "trigger_id"):
			return str(&cb.TriggerID)(k, v)
		case jsonscan.Is(k, "team"):
			return id(&cb.Team)(k, v)
		case jsonscan.Is(k, "enterprise"):
			return id(&cb.Enterprise)(k, v)
		case jsonscan.Is(k, "user"):
			return id(&cb.User)(k, v)
		case jsonscan.Is(k, "channel"):
			return id(&cb.Channel)(k, v)
		case jsonscan.Is(k, "view"):
			return field("type", v, str(&cb.ViewType))
		case jsonscan.Is(k, "container"):
			return field("message_ts", v, str(&cb.MessageTs))
		case jsonscan.Is(k, "message"):
			return field("blocks", v, func(_ []byte, v jsonscan.Value) error {
				cb.Blocks = cb.Blocks[:0]
				return v.Elements(func(b jsonscan.Value) error {
					cb.Blocks = append(cb.Blocks, b)
					return nil
				})
			})
		case jsonscan.Is(k, "actions"):
			cb.Actions = cb.Actions[:0]
			return v.Elements(func(v jsonscan.Value) error {
				var x actionCallback
				err := v.Members(func(k []byte, v jsonscan.Value) error {
					switch {
					case jsonscan.Is(k, "block_id"):
						x.BlockIsText = v.Raw()[0] == '"'
					case jsonscan.Is(k, "action_id"):
						return str(&x.ActionID)(k, v)
					case jsonscan.Is(k, "value"):
						return str(&x.Value)(k, v)
					case jsonscan.Is(k, "text"):
						return field("text", v, str(&x.Label))
					}
					return nil
				})
				cb.Actions = append(cb.Actions, x)
				return err
			})
		}
		return nil
	})
	return cb, err
}

// blockAction is the clicked button.
type blockAction struct{ ActionID, Value, Label string }

// action is the first block action of the payload, if any.
func (cb *interaction) action() (blockAction, bool) {
	for _, x := range cb.Actions {
		if x.BlockIsText {
			return blockAction{ActionID: x.ActionID, Value: x.Value, Label: x.Label}, true
		}
	}
	return blockAction{}, false
}

// onInteraction handles a block_actions payload: a button in a message or on the home tab.
func (a *Adapter) onInteraction(ctx context.Context, cb *interaction) {
	act, ok := cb.action()
	if cb.Type != string(slackapi.InteractionTypeBlockActions) || !ok {
		return
	}
	team := cb.Team.ID
	if !a.allowed(team, cb.Enterprise.ID) {
		a.log.WarnContext(ctx, "interaction from a workspace that is not allowed", "team", team)
		return
	}
	if act.ActionID == "link" {
		return // link buttons need no answer
	}
	// delivery("trg:" + cb.TriggerID + ":" + act.ActionID), in one concatenation
	onceKey := "slack:trg:" + cb.TriggerID + ":" + act.ActionID
	if cb.ViewType == "home" && !a.first(ctx, onceKey) {
		return // a home tab click is claimed here: it publishes the tab again after the step
	}
	channel := cb.Channel.ID
	if cb.ViewType == "home" || channel == "" {
		ch, err := a.openDM(ctx, cb.User.ID)
		if err != nil {
			a.log.ErrorContext(ctx, "conversations.open failed", "err", err)
			return
		}
		channel = ch
	}
	if cb.MessageTs != "" && strings.HasPrefix(act.ActionID, "choice:") {
		a.closeButtons(ctx, a.cachedLocale(cb.User.ID), channel, cb.MessageTs, cb.Blocks, act.Label)
	}
	a.handle(ctx, team, cb.User.ID, channel, func(in *flows.Inbound) {
		in.IdemKey = "slack:" + cb.TriggerID
		if cb.ViewType != "home" {
			in.Delivery = onceKey // claimed by the step's first read
		}
		switch {
		case strings.HasPrefix(act.ActionID, "choice:"):
			in.Choice = act.Value
		case strings.HasPrefix(act.ActionID, "home:"):
			in.Text = strings.TrimPrefix(act.ActionID, "home:")
		}
	})
	if cb.ViewType == "home" {
		a.publishHome(ctx, team, cb.User.ID)
	}
}

// slackLink is a link Slack put into a message's text: <url>, <url|label>, <mailto:addr|addr>.
var slackLink = regexp.MustCompile(`<((?:https?|mailto):[^<>|]*)(?:\|([^<>]*))?>`)

// typedText is what the person typed, from a message event's text, which Slack delivers with
// &, < and > escaped and with the addresses and web links it linked as <mailto:addr|addr> and
// <url> (Slack's "Formatting text for app surfaces": "Escaping text", "Linking to URLs"): a
// link becomes its label (or its address), then the three escapes are read back. So a code, an
// address or a password typed with "&" reaches the engine as it was typed.
func typedText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	s = slackLink.ReplaceAllStringFunc(s, func(l string) string {
		m := slackLink.FindStringSubmatch(l)
		if m[2] != "" {
			return m[2]
		}
		return strings.TrimPrefix(m[1], "mailto:")
	})
	return slackUnescape.Replace(s)
}

var slackUnescape = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// onCommand handles /sspr; the replies go to the user's direct messages.
func (a *Adapter) onCommand(ctx context.Context, c slackapi.SlashCommand) {
	if !a.allowed(c.TeamID, c.EnterpriseID) {
		return
	}
	if !a.first(ctx, delivery("trg:"+c.TriggerID)) {
		return
	}
	words := strings.Fields(strings.ToLower(c.Text))
	sub := "status"
	if len(words) > 0 {
		sub = words[0]
	}
	channel, err := a.openDM(ctx, c.UserID)
	if err != nil {
		a.log.ErrorContext(ctx, "conversations.open failed", "err", err)
		return
	}
	if flows.IsAdminWord(sub) { // the bot-admin (and helpdesk) commands: flows lists them
		chat, claim, refusal, err := a.identify(ctx, c.UserID, c.TeamID)
		chat.Channel = channel
		if err != nil {
			return
		}
		in := flows.Inbound{Chat: chat, Claim: claim, IdemKey: "slack:" + c.TriggerID}
		if refusal != "" {
			in.Claim = flows.Claim{}
		}
		replies, err := a.eng.Admin(ctx, in, c.Text)
		if err != nil {
			a.log.ErrorContext(ctx, "admin command failed", "err", err)
		}
		a.post(ctx, chat, replies)
		return
	}
	switch sub {
	case "status", "register", "reset", "unlock", "help", "cancel":
	default:
		sub = "help"
	}
	a.handle(ctx, c.TeamID, c.UserID, channel, func(in *flows.Inbound) {
		in.Text, in.IdemKey = sub, "slack:"+c.TriggerID
	})
}
