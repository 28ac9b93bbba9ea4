// Package storetest builds a flows engine on a real redis-server for tests, with a fake
// directory, an injected clock, a recording mailer and counters of every directory call and
// Redis round trip.
package storetest

import (
	"errors"
	"github.com/google/uuid"

	"bytes"
	"context"
	"crypto/rand"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/notify"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/emailcode"
	"github.com/resetbot/resetbot/flows/method/passkey"
	"github.com/resetbot/resetbot/flows/method/questions"
	"github.com/resetbot/resetbot/flows/method/sentcode"
	"github.com/resetbot/resetbot/flows/method/smscode"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/flows/method/voicecall"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
)

// Clock is a settable clock.
type Clock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

// NewClock starts at a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)} }

// Now returns the current fake time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Sleep is an injectable sleep: it moves the clock forward by d at once and records the wait.
func (c *Clock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
	c.mu.Unlock()
	return nil
}

// Slept returns every wait Sleep was asked for.
func (c *Clock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// Directory is an in-memory directory that counts its calls.
type Directory struct {
	mu        sync.Mutex
	Users     map[string]flows.Account // by id
	Passwords map[string]string
	Forced    map[string]bool // force change at next sign-in
	TAPs      map[string]int
	Calls     []string
	Revoked   []string
	Fail      error
	// Refuse are passwords the directory refuses as against its own rules (like a history AD
	// keeps), with a *flows.PasswordError, as graph/ad does.
	Refuse map[string]bool
	// OnSetPassword, when set, runs first in SetPassword with its context; an error it returns
	// is the call's (a request that ends while the directory is asked)
	OnSetPassword func(ctx context.Context) error
}

// NewDirectory makes an empty directory.
func NewDirectory() *Directory {
	return &Directory{Users: map[string]flows.Account{}, Passwords: map[string]string{}, Forced: map[string]bool{}, TAPs: map[string]int{}}
}

// Capabilities: a roster, groups by name, group members and Temporary Access Passes. Tests that
// add an ability wrap the directory and list it in their own Capabilities (flows.Unlisted
// catches a wrapper that forgot).
func (d *Directory) Capabilities() flows.Capabilities {
	return flows.Capabilities{Roster: d, Groups: d, Members: d, TAPs: d}
}

// Add adds an account.
func (d *Directory) Add(a flows.Account) { d.mu.Lock(); d.Users[a.ID] = a; d.mu.Unlock() }

// Lookup finds one account by id, mail or UPN.
func (d *Directory) Lookup(_ context.Context, c flows.Claim) (flows.Account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Calls = append(d.Calls, "Lookup")
	if d.Fail != nil {
		return flows.Account{}, d.Fail
	}
	var found []flows.Account
	for _, a := range d.Users {
		switch c.Kind {
		case flows.ClaimObjectID:
			if a.ID == c.Value {
				found = append(found, a)
			}
		case flows.ClaimSID:
			if a.OnPremSID != "" && a.OnPremSID == c.Value {
				found = append(found, a)
			}
		default:
			if strings.EqualFold(a.Mail, c.Value) || strings.EqualFold(a.UPN, c.Value) {
				found = append(found, a)
			}
		}
	}
	switch len(found) {
	case 0:
		return flows.Account{}, flows.ErrNotFound
	case 1:
		return found[0], nil
	}
	return flows.Account{}, flows.ErrAmbiguous
}

// SetPassword records the password.
func (d *Directory) SetPassword(ctx context.Context, id, pw string, force bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Calls = append(d.Calls, "SetPassword")
	if d.OnSetPassword != nil {
		if err := d.OnSetPassword(ctx); err != nil {
			return err
		}
	}
	if d.Refuse[pw] {
		return &flows.PasswordError{Reason: "Active Directory did not accept this password. It may not be one of your last 24 passwords."}
	}
	d.Passwords[id] = pw
	d.Forced[id] = force
	return nil
}

// RevokeSessions records the revocation.
func (d *Directory) RevokeSessions(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Calls = append(d.Calls, "RevokeSessions")
	d.Revoked = append(d.Revoked, id)
	return nil
}

// TakeCalls returns and clears the recorded calls.
func (d *Directory) TakeCalls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.Calls
	d.Calls = nil
	return c
}

// Mailer records mail.
type Mailer struct {
	mu   sync.Mutex
	Sent []flows.Mail
}

// Send records m.
func (m *Mailer) Send(_ context.Context, mail flows.Mail) error {
	m.mu.Lock()
	m.Sent = append(m.Sent, mail)
	m.mu.Unlock()
	return nil
}

// All returns a copy of what was sent.
func (m *Mailer) All() []flows.Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]flows.Mail(nil), m.Sent...)
}

// Last returns the last mail.
func (m *Mailer) Last() flows.Mail {
	all := m.All()
	if len(all) == 0 {
		return flows.Mail{}
	}
	return all[len(all)-1]
}

// Notifier records chat notices.
type Notifier struct {
	mu      sync.Mutex
	Replies []flows.Reply
	To      []flows.ChatRef // the chat of each reply
}

// Notify records replies.
func (n *Notifier) Notify(_ context.Context, c flows.ChatRef, r []flows.Reply) error {
	n.mu.Lock()
	n.Replies = append(n.Replies, r...)
	for range r {
		n.To = append(n.To, c)
	}
	n.mu.Unlock()
	return nil
}

// Counter is a go-redis hook counting round trips and commands.
type Counter struct {
	mu         sync.Mutex
	RoundTrips int
	Commands   []string
}

// DialHook passes through.
func (c *Counter) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook counts one round trip per command.
func (c *Counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n == "hello" || n == "client" {
			return next(ctx, cmd) // a new connection's handshake, not the step's work
		}
		c.mu.Lock()
		c.RoundTrips++
		c.Commands = append(c.Commands, strings.ToUpper(cmd.Name()))
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook counts one round trip per pipeline.
func (c *Counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.mu.Lock()
		c.RoundTrips++
		names := make([]string, len(cmds))
		for i, cmd := range cmds {
			names[i] = strings.ToUpper(cmd.Name())
		}
		c.Commands = append(c.Commands, "PIPELINE("+strings.Join(names, ",")+")")
		c.mu.Unlock()
		return next(ctx, cmds)
	}
}

// Take returns and resets the counts.
func (c *Counter) Take() (int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, cmds := c.RoundTrips, c.Commands
	c.RoundTrips, c.Commands = 0, nil
	return n, cmds
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Harness is an engine on a real Redis with fakes around it.
type Harness struct {
	T       testing.TB
	Redis   *redistest.Server
	RDB     redis.UniversalClient
	Store   *store.Store
	Crypto  *store.Crypto
	Audit   *store.Auditor
	Dir     *Directory
	Mail    *Mailer
	Notes   *Notifier
	Clock   *Clock
	Counter *Counter
	Engine  *flows.Engine
	Logs    *syncBuffer
	Deps    flows.Deps
	Phone   *Phone
	// PhoneBudget is the deployment's SMS and call budget per hour.
	PhoneBudget int
	// WithPhones makes Enrol register an SMS and a voice number too.
	WithPhones bool
	// Questions is the security-questions method (light hashing costs).
	Questions *questions.Method
	Opts      flows.Options
	Policy    flows.Policy
	// PasskeyAAGUIDs is the passkey allow-list (PASSKEY_AAGUIDS) the next Rebuild uses
	PasskeyAAGUIDs []uuid.UUID
	sealKey        []byte
}

// Group is the group self-service is enabled for in the harness policy.
const Group = "grp-sspr"

// New starts redis-server and builds the harness with extra redis-server arguments.
func New(t testing.TB, redisArgs ...string) *Harness {
	t.Helper()
	srv := redistest.Start(t, redisArgs...)
	return NewOn(t, srv)
}

// NewOn builds the harness on a running server.
func NewOn(t testing.TB, srv *redistest.Server) *Harness {
	t.Helper()
	return newHarness(t, srv, srv.Client(), srv.Client())
}

// NewWith builds the harness on any client: a Sentinel or Cluster client (audit writes share it).
func NewWith(t testing.TB, rdb redis.UniversalClient) *Harness {
	t.Helper()
	return newHarness(t, nil, rdb, rdb)
}

func newHarness(t testing.TB, srv *redistest.Server, rdb, auditRDB redis.UniversalClient) *Harness {
	h := &Harness{T: t, Redis: srv, Dir: NewDirectory(), Mail: &Mailer{}, Notes: &Notifier{}, Clock: NewClock(),
		Counter: &Counter{}, Logs: &syncBuffer{}, Phone: &Phone{}, PhoneBudget: 100}
	h.RDB = rdb
	h.RDB.AddHook(h.Counter)
	h.sealKey = NewKey()
	c := h.crypto(NewKey())
	log := bot.NewLogger(h.Logs, "debug")
	// audit writes go through their own client: they are asynchronous and not part of a step
	h.Audit = store.NewAuditor(auditRDB, log)
	t.Cleanup(h.Audit.Close)
	h.Policy = flows.DefaultPolicy()
	h.Policy.EnabledFor, h.Policy.Groups = flows.EnabledSelected, []string{Group}
	if _, err := h.Store.PutPolicy(context.Background(), h.Policy, 0); err != nil {
		t.Fatal(err)
	}
	// light Argon2 costs keep the race-enabled tests fast; production uses questions.DefaultParams
	h.Questions = questions.New(questions.Params{MemoryKiB: 64, Time: 1, Threads: 1}, 2)
	h.Deps = flows.Deps{Directory: h.Dir, Sessions: h.Store, Links: h.Store, Enrollments: h.Store, WebStates: h.Store,
		Banned: flows.CommonPasswords(), Policies: h.Store, Pending: h.Store, Reminders: h.Store, Audit: h.Audit, Notifier: h.Notes, Mailer: h.Mail, Clock: h.Clock, Rand: rand.Reader, Log: log}
	h.useMAC(c)
	h.Opts = flows.Options{BaseURL: "https://bot.test", AdminAuthContext: "c1"}
	h.Engine = flows.New(h.Deps, h.Opts)
	h.Counter.Take()
	return h
}

// NewKey is 32 random bytes.
func NewKey() []byte { b := make([]byte, 32); _, _ = rand.Read(b); return b }

// crypto builds the store's keys with the harness's sealing key and the given MAC keys, and the
// store over them.
func (h *Harness) crypto(mac []byte, oldMAC ...[]byte) *store.Crypto {
	c, err := store.NewCrypto(store.Keys{SealKeys: map[string][]byte{"k1": h.sealKey}, CurrentID: "k1", MACKey: mac, OldMACKeys: oldMAC})
	if err != nil {
		h.T.Fatal(err)
	}
	h.Crypto = c
	h.Store = store.New(h.RDB, c)
	if err := h.Store.Preload(context.Background()); err != nil {
		h.T.Fatal(err)
	}
	return c
}

// useMAC points the deps (store and MAC-keyed methods) at c.
func (h *Harness) useMAC(c *store.Crypto) {
	d := &h.Deps
	d.Sessions, d.Links, d.Enrollments, d.WebStates, d.Policies, d.Pending, d.Reminders = h.Store, h.Store, h.Store, h.Store, h.Store, h.Store, h.Store
	d.Helpdesk = h.Store
	d.MAC = c
	d.Methods = []flows.Method{totp.Method{Issuer: "resetbot", Rand: rand.Reader}, emailcode.New(h.Mail, c, rand.Reader),
		smscode.New(h.PhoneSender(), c, rand.Reader), voicecall.New(h.PhoneSender(), c, rand.Reader), h.Questions}
	if m := h.passkeyMethod(); m != nil {
		d.Methods = append(d.Methods, m)
	}
}

// passkeyMethod is the passkey method for the harness's base URL (its relying party).
func (h *Harness) passkeyMethod() *passkey.Method {
	base := h.Opts.BaseURL
	if base == "" {
		base = "https://bot.test"
	}
	m, err := passkey.New(passkey.Config{BaseURL: base, AAGUIDs: h.PasskeyAAGUIDs})
	if errors.Is(err, passkey.ErrNoDomain) {
		return nil // pages reached by IP address offer no passkeys
	}
	if err != nil {
		h.T.Fatal(err)
	}
	return m
}

// Restart is a restart of the engine with other MAC keys (MAC_KEY and MAC_KEYS_OLD) over the
// same Redis and sealing key: a replica rolled out in a MAC_KEY rotation.
func (h *Harness) Restart(mac []byte, oldMAC ...[]byte) {
	h.useMAC(h.crypto(mac, oldMAC...))
	h.Rebuild()
}

// Rebuild makes a fresh engine (empty in-process caches) over the same parts.
func (h *Harness) Rebuild() {
	// the passkey method's relying party follows the base URL
	ms := h.Deps.Methods[:0:0]
	for _, m := range h.Deps.Methods {
		if m.Kind() != flows.MethodPasskey {
			ms = append(ms, m)
		}
	}
	if m := h.passkeyMethod(); m != nil {
		ms = append(ms, m)
	}
	h.Deps.Methods = ms
	h.Engine = flows.New(h.Deps, h.Opts)
}

// LogText is everything logged so far.
func (h *Harness) LogText() string { return h.Logs.String() }

// Alice is the standard eligible user.
var Alice = flows.Account{ID: "a11ce-0001", UPN: "alice@contoso.test", Mail: "alice@contoso.test", DisplayName: "Alice",
	Enabled: true, Groups: []string{Group}}

// Enrol registers TOTP and email for a user straight in the store; it returns the TOTP secret.
func (h *Harness) Enrol(userID string) string {
	h.T.Helper()
	k, err := totp.Generate("resetbot", userID, rand.Reader)
	if err != nil {
		h.T.Fatal(err)
	}
	ctx := context.Background()
	if err := h.Store.Register(ctx, userID, flows.Registered{Kind: flows.MethodTOTP, Secret: k.Secret, RegisteredAt: h.Clock.Now()}, 0); err != nil {
		h.T.Fatal(err)
	}
	if err := h.Store.Register(ctx, userID, flows.Registered{Kind: flows.MethodEmail, Address: "private." + userID + "@mail.test", RegisteredAt: h.Clock.Now()}, 0); err != nil {
		h.T.Fatal(err)
	}
	if h.WithPhones {
		for kind, num := range map[flows.MethodKind]string{flows.MethodSMS: "+14255550142", flows.MethodVoice: "+14255550199"} {
			if err := h.Store.Register(ctx, userID, flows.Registered{Kind: kind, Address: num, RegisteredAt: h.Clock.Now()}, 0); err != nil {
				h.T.Fatal(err)
			}
		}
	}
	h.Counter.Take()
	return k.Secret
}

// Chat is a chat identity of the harness.
func Chat(id string) flows.ChatRef {
	return flows.ChatRef{Platform: "test", Tenant: "T1", UserID: id, Locale: "en"}
}

// Say sends text as chat user id claiming email claim.
func (h *Harness) Say(chat, claim, text string) []flows.Reply {
	h.T.Helper()
	return h.send(flows.Inbound{Chat: Chat(chat), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: claim}, Text: text, IdemKey: idem()})
}

// Click sends a button choice.
func (h *Harness) Click(chat, claim, choice string) []flows.Reply {
	h.T.Helper()
	return h.send(flows.Inbound{Chat: Chat(chat), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: claim}, Choice: choice, IdemKey: idem()})
}

// Send handles one inbound.
func (h *Harness) send(in flows.Inbound) []flows.Reply {
	h.T.Helper()
	r, err := h.Engine.Handle(context.Background(), in)
	if err != nil {
		h.T.Fatalf("handle %q: %v", in.Text, err)
	}
	return r
}

// Send handles one inbound as given.
func (h *Harness) Send(in flows.Inbound) ([]flows.Reply, error) {
	return h.Engine.Handle(context.Background(), in)
}

var (
	idemMu  sync.Mutex
	idemSeq int
)

func idem() string {
	idemMu.Lock()
	defer idemMu.Unlock()
	idemSeq++
	return "evt-" + strconv.Itoa(idemSeq)
}

// Choice finds the choice whose label contains s.
func Choice(t testing.TB, replies []flows.Reply, s string) string {
	t.Helper()
	for _, r := range replies {
		for _, c := range r.Choices {
			if strings.Contains(c.Label, s) {
				return c.ID
			}
		}
	}
	t.Fatalf("no choice %q in %+v", s, replies)
	return ""
}

// IDs lists the message ids of replies.
func IDs(replies []flows.Reply) []flows.MsgID {
	out := make([]flows.MsgID, len(replies))
	for i, r := range replies {
		out[i] = r.MsgID
	}
	return out
}

// CodeFrom extracts the 6-digit code from a mail body.
func CodeFrom(t testing.TB, m flows.Mail) string {
	t.Helper()
	for _, f := range strings.Fields(m.Body) {
		f = strings.Trim(f, ".,")
		if len(f) == sentcode.Digits && strings.Trim(f, "0123456789") == "" {
			return f
		}
	}
	t.Fatalf("no code in mail %q", m.Subject)
	return ""
}

// Render joins the texts of replies.
func Render(rs []flows.Reply) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.Text + "\n")
	}
	return b.String()
}

// Has reports whether a reply with message id is among rs.
func Has(rs []flows.Reply, id flows.MsgID) bool {
	for _, r := range rs {
		if r.MsgID == id {
			return true
		}
	}
	return false
}

// Link returns the one-time link among rs, failing the test when there is none.
func Link(t testing.TB, rs []flows.Reply) string {
	t.Helper()
	for _, r := range rs {
		if r.Link != "" {
			return r.Link
		}
	}
	t.Fatalf("no link in %v", IDs(rs))
	return ""
}

// Phone records SMS and calls.
type Phone struct {
	mu   sync.Mutex
	Sent []string // "sms to body" or "call to speech"
}

// SendSMS records a text.
func (p *Phone) SendSMS(_ context.Context, to, body string) error {
	p.mu.Lock()
	p.Sent = append(p.Sent, "sms "+to+" "+body)
	p.mu.Unlock()
	return nil
}

// Call records a call.
func (p *Phone) Call(_ context.Context, to, speech string) error {
	p.mu.Lock()
	p.Sent = append(p.Sent, "call "+to+" "+speech)
	p.mu.Unlock()
	return nil
}

// All returns what was sent.
func (p *Phone) All() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.Sent...)
}

// PhoneSender is the recorder behind the deployment-wide budget, as in production.
func (h *Harness) PhoneSender() flows.PhoneSender {
	return &notify.Budget{Next: h.Phone, Audit: h.Audit, Log: bot.NewLogger(h.Logs, "debug"), Clock: h.Clock,
		Take: func(ctx context.Context) (bool, error) {
			return h.Store.TakeBudget(ctx, "phone", h.PhoneBudget, time.Hour, h.Clock.Now())
		}}
}

// CodeIn returns the 6-digit code in a recorded SMS or call (the call spells it out).
func CodeIn(t testing.TB, sent string) string {
	t.Helper()
	d := flows.CodeDigits(sent[strings.LastIndex(sent, "code is"):])
	if len(d) < 6 {
		t.Fatalf("no code in %q", sent)
	}
	return d[:6]
}

// Members lists the accounts in a group.
func (d *Directory) Members(_ context.Context, group string) ([]flows.Account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []flows.Account
	for _, a := range d.Users {
		for _, g := range a.Groups {
			if g == group {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// EachUser pages through the users, or the members of groups.
func (d *Directory) EachUser(ctx context.Context, groups []string, fn func(flows.Account) error) error {
	d.mu.Lock()
	var list []flows.Account
	for _, a := range d.Users {
		in := len(groups) == 0
		for _, g := range groups {
			for _, h := range a.Groups {
				in = in || g == h
			}
		}
		if in {
			list = append(list, a)
		}
	}
	d.mu.Unlock()
	for _, a := range list {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

// ChatRoster is a fixed email → chat map.
type ChatRoster map[string]flows.ChatTarget

// Targets returns the map.
func (c ChatRoster) Targets(context.Context) (map[string]flows.ChatTarget, error) { return c, nil }

// GroupNames maps display names to group ids for ResolveGroup.
var GroupNames = map[string]string{"SSPR Pilot": "11111111-2222-4333-8444-555555555555"}

// ResolveGroup finds a group id by display name.
func (d *Directory) ResolveGroup(_ context.Context, name string) (string, error) {
	if id, ok := GroupNames[name]; ok {
		return id, nil
	}
	return "", flows.ErrNotFound
}

// IssueTAP records and returns a pass.
func (d *Directory) IssueTAP(_ context.Context, id string, _ time.Duration) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.TAPs[id]++
	return "TAP-" + strconv.Itoa(d.TAPs[id]) + "-" + id, nil
}

// Recorder is the engine with a record of every inbound that reached Handle (the chat adapters'
// fuzz targets check whom a payload could name).
type Recorder struct {
	*flows.Engine
	mu  sync.Mutex
	ins []flows.Inbound
}

// Handle records in and hands it to the engine.
func (r *Recorder) Handle(ctx context.Context, in flows.Inbound) ([]flows.Reply, error) {
	r.mu.Lock()
	r.ins = append(r.ins, in)
	r.mu.Unlock()
	return r.Engine.Handle(ctx, in)
}

// Take returns and forgets what was recorded.
func (r *Recorder) Take() []flows.Inbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ins
	r.ins = nil
	return out
}
