package flows

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Helpdesk caller verification: a helpdesk agent (a member of HELPDESK_GROUPS, never chosen by
// a chat platform) asks the bot to check that the person on the phone is who they claim to be.
// The person proves it in their own chat (number matching: the agent reads a two-digit number
// aloud, the person picks it among three) and with a registered method (a code the caller reads
// back, which the agent types). The agent learns only "verified with … at …" or "not verified":
// never a code, an address, or more about the person's registration than the next step needs.
// Nothing here resets or unlocks anything, so privileged users can be verified like anyone.

// Helpdesk limits.
const (
	// HelpdeskAsksPerHour is how many verification requests one person can get in an hour.
	HelpdeskAsksPerHour = 3
	// HelpdeskAskLifetime is how long a request waits for the person.
	HelpdeskAskLifetime = 5 * time.Minute
	// HelpdeskQueueName is the schedule of request timeouts (the reminder queue's claims, so
	// one replica reports each timeout).
	HelpdeskQueueName = "helpdesk"

	helpdeskChoice = "h:"
	askNotMe       = "notme"
	proofNumber    = "number"
)

// AskState is where a verification request stands.
type AskState string

// The states of a request.
const (
	AskPending  AskState = "pending"  // waiting for the person
	AskVerified AskState = "verified" // at least one proof succeeded, none failed
	AskDenied   AskState = "denied"   // a wrong number or code, or "I'm not on a call"
	AskTimedOut AskState = "timeout"  // nobody answered in time
)

// HelpdeskAsk is one request of an agent to verify a person, as stored (the code as a MAC only).
type HelpdeskAsk struct {
	ID         string     `json:"id"`
	Version    int64      `json:"v"`
	UserID     string     `json:"uid"`
	UserName   string     `json:"uname"`
	UserUPN    string     `json:"uupn"`
	Agent      string     `json:"agent"` // the agent's directory object id
	AgentName  string     `json:"aname"`
	AgentUPN   string     `json:"aupn"`
	AgentChat  ChatRef    `json:"achat"`
	Number     int        `json:"num,omitempty"` // 0: no number matching (not reachable in chat)
	Picks      []int      `json:"picks,omitempty"`
	Answered   bool       `json:"answered,omitempty"` // the number was answered (once)
	NotOnCall  bool       `json:"notme,omitempty"`    // the person said they are not on a call
	LinkSent   bool       `json:"link,omitempty"`     // the agent sent the person a reset link
	CodeMethod MethodKind `json:"cm,omitempty"`
	Code       StoredCode `json:"code,omitzero"`
	Proven     []string   `json:"proven,omitempty"` // proofNumber and method kinds, in order
	ProvenAt   time.Time  `json:"at,omitzero"`
	State      AskState   `json:"state"`
	CreatedAt  time.Time  `json:"created"`
	ExpiresAt  time.Time  `json:"expires"`
}

// HelpdeskStore keeps verification requests: one live request per person.
type HelpdeskStore interface {
	// CountAsk counts one request for a person in a sliding window, atomically; false (and not
	// counted) when max requests were made in the window already.
	CountAsk(ctx context.Context, userID string, max int, window time.Duration, now time.Time) (bool, error)
	// PutAsk stores a new request with Version 1, replacing the person's previous one.
	PutAsk(ctx context.Context, a HelpdeskAsk) error
	// GetAsk returns the person's request, ErrNotFound when there is none.
	GetAsk(ctx context.Context, userID string) (HelpdeskAsk, error)
	// UpdateAsk saves a with Version+1 if the stored request still has a.Version; ErrStale
	// otherwise (someone answered first), so each answer and code is used once.
	UpdateAsk(ctx context.Context, a HelpdeskAsk) error
	// ChatsOf lists the chat identities pinned to a directory user.
	ChatsOf(ctx context.Context, userID string) ([]string, error)
}

func (e *Engine) isHelpdesk(a Account) bool {
	for _, g := range e.o.HelpdeskGroups {
		for _, h := range a.Groups {
			if g == h {
				return true
			}
		}
	}
	return false
}

// hd is one agent command in progress.
type hd struct {
	in     Inbound
	now    time.Time
	agent  Account
	target Account
}

func (h *hd) reply(id MsgID, args ...any) []Reply {
	return []Reply{{MsgID: id, Text: Text(h.in.Chat.Locale, id, args...), Private: true}}
}

func (e *Engine) hdAudit(ctx context.Context, h *hd, action, outcome, reason string) {
	e.audit(ctx, AuditEvent{Time: h.now, Actor: h.in.Chat.Key(), Subject: h.target.ID, Platform: h.in.Chat.Platform,
		Action: action, Outcome: outcome, Reason: askNames(h.agent.DisplayName, h.agent.UPN, h.target.DisplayName, h.target.UPN, reason)})
}

// askNames is an audit reason naming both people: the agent and the person verified.
func askNames(agent, agentUPN, person, personUPN, reason string) string {
	s := "agent " + agent + " <" + agentUPN + ">, person " + person + " <" + personUPN + ">"
	if reason != "" {
		s += ": " + reason
	}
	return s
}

// Verify handles a helpdesk agent's "verify <user>", "verify <user> code" and
// "verify <user> <code>". Every request, answer and refusal is audited with both names.
func (e *Engine) Verify(ctx context.Context, in Inbound, words []string) ([]Reply, error) {
	h := &hd{in: in, now: e.d.Clock.Now()}
	agent, err := e.resolve(ctx, in)
	if err != nil && !isExpected(err) {
		return h.reply(MsgTrouble, e.policyOrDefault(ctx, "helpdesk").HelpdeskURL), err
	}
	h.agent = agent
	if err != nil || !agent.Enabled || !e.isHelpdesk(agent) || e.d.Helpdesk == nil {
		e.audit(ctx, AuditEvent{Time: h.now, Actor: in.Chat.Key(), Subject: agent.ID, Platform: in.Chat.Platform,
			Action: "helpdesk_request", Outcome: "refused", Reason: "not_helpdesk"})
		return h.reply(MsgNotHelpdesk), nil
	}
	if len(words) < 1 || len(words) > 2 {
		return h.reply(MsgHelpdeskUsage), nil
	}
	target, err := e.target(ctx, words[:1])
	switch {
	case errors.Is(err, ErrNotFound) || errors.Is(err, ErrAmbiguous) || errors.Is(err, ErrBadRequest):
		return h.reply(MsgHelpdeskNoUser, words[0]), nil
	case err != nil:
		return h.reply(MsgTrouble, e.policyOrDefault(ctx, "helpdesk").HelpdeskURL), fmt.Errorf("flows: helpdesk target: %w", err)
	}
	h.target = target
	if target.ID == agent.ID {
		e.hdAudit(ctx, h, "helpdesk_request", "refused", "self")
		return h.reply(MsgHelpdeskSelf), nil
	}
	if !target.Enabled {
		e.hdAudit(ctx, h, "helpdesk_request", "refused", "disabled")
		return h.reply(MsgHelpdeskDisabled, target.DisplayName), nil
	}
	if len(words) == 1 {
		return e.askNumber(ctx, h)
	}
	if strings.EqualFold(words[1], "code") {
		return e.askCode(ctx, h)
	}
	if strings.EqualFold(words[1], "link") {
		return e.helpdeskLink(ctx, h)
	}
	if d := CodeDigits(words[1]); len(d) >= 6 && len(d) == len(words[1]) {
		return e.checkReadBack(ctx, h, d)
	}
	return h.reply(MsgHelpdeskUsage), nil
}

// newAsk counts and starts a request; the reply is the refusal when it cannot start.
func (e *Engine) newAsk(ctx context.Context, h *hd) (*HelpdeskAsk, []Reply, error) {
	ok, err := e.d.Helpdesk.CountAsk(ctx, h.target.ID, HelpdeskAsksPerHour, time.Hour, h.now)
	if err != nil {
		return nil, h.reply(MsgTrouble, e.policyOrDefault(ctx, "helpdesk").HelpdeskURL), fmt.Errorf("flows: helpdesk count: %w", err)
	}
	if !ok {
		e.hdAudit(ctx, h, "helpdesk_request", "refused", "limit")
		return nil, h.reply(MsgHelpdeskLimit, h.target.DisplayName, HelpdeskAsksPerHour), nil
	}
	var b [12]byte
	if _, err := e.d.Rand.Read(b[:]); err != nil {
		return nil, h.reply(MsgTrouble, e.policyOrDefault(ctx, "helpdesk").HelpdeskURL), fmt.Errorf("flows: helpdesk id: %w", err)
	}
	a := &HelpdeskAsk{ID: base64.RawURLEncoding.EncodeToString(b[:]), UserID: h.target.ID, UserName: h.target.DisplayName, UserUPN: h.target.UPN,
		Agent: h.agent.ID, AgentName: h.agent.DisplayName, AgentUPN: h.agent.UPN, AgentChat: h.in.Chat, State: AskPending,
		CreatedAt: h.now, ExpiresAt: h.now.Add(HelpdeskAskLifetime)}
	return a, nil, nil
}

// put stores a new request and schedules its timeout report.
func (e *Engine) putAsk(ctx context.Context, a *HelpdeskAsk) error {
	if err := e.d.Helpdesk.PutAsk(ctx, *a); err != nil {
		return fmt.Errorf("flows: helpdesk save: %w", err)
	}
	a.Version = 1
	if e.d.Reminders != nil {
		if err := e.d.Reminders.Schedule(ctx, HelpdeskQueueName, []Due{{UserID: a.UserID, At: a.ExpiresAt}}); err != nil {
			e.d.Log.WarnContext(ctx, "helpdesk timeout not scheduled; it is reported when someone answers", "err", err)
		}
	}
	return nil
}

// askNumber starts number matching in the person's chat, or a read-back code when the person
// cannot be reached in chat.
func (e *Engine) askNumber(ctx context.Context, h *hd) ([]Reply, error) {
	chats, err := e.d.Helpdesk.ChatsOf(ctx, h.target.ID)
	if err != nil {
		return h.reply(MsgTrouble, e.policyOrDefault(ctx, "helpdesk").HelpdeskURL), fmt.Errorf("flows: helpdesk chats: %w", err)
	}
	refs := e.chatRefs(chats)
	if len(refs) == 0 || e.d.Notifier == nil {
		// nowhere to ask in chat: a code read back is the proof left
		return e.askCode(ctx, h)
	}
	a, refusal, err := e.newAsk(ctx, h)
	if a == nil {
		return refusal, err
	}
	picks, err := e.numbers(3)
	if err != nil {
		return h.reply(MsgTrouble, e.policyOrDefault(ctx, "helpdesk").HelpdeskURL), err
	}
	a.Picks = picks
	a.Number = picks[e.pick(len(picks))]
	if err := e.putAsk(ctx, a); err != nil {
		return h.reply(MsgTrouble, e.policyOrDefault(ctx, "helpdesk").HelpdeskURL), err
	}
	e.hdAudit(ctx, h, "helpdesk_request", "ok", "number matching")
	for _, c := range refs {
		r := Reply{MsgID: MsgHelpdeskAsk, Text: Text(c.Locale, MsgHelpdeskAsk, h.agent.DisplayName), Private: true}
		for i, n := range a.Picks {
			r.Choices = append(r.Choices, Choice{ID: helpdeskChoice + strconv.Itoa(n) + "|" + a.ID, Label: strconv.Itoa(n), Key: strconv.Itoa(i + 1)})
		}
		r.Choices = append(r.Choices, Choice{ID: helpdeskChoice + askNotMe + "|" + a.ID, Label: Text(c.Locale, MsgHelpdeskNotOnCall)})
		if err := e.notify(ctx, h.target.ID, c, []Reply{r}); err != nil {
			e.d.Log.WarnContext(ctx, "helpdesk request not delivered", "err", err, "chat", c.Key())
		}
	}
	return h.reply(MsgHelpdeskNumber, a.Number, h.target.DisplayName, strings.ToLower(h.target.UPN)), nil
}

// chatRefs turns pinned chat keys into chats the notifier can reach.
func (e *Engine) chatRefs(keys []string) []ChatRef {
	var out []ChatRef
	for _, k := range keys {
		if c, ok := parseChatKey(k); ok {
			c.Locale = "en"
			out = append(out, c)
		}
	}
	return out
}

// numbers draws n distinct two-digit numbers (10 to 99) from the injected randomness.
func (e *Engine) numbers(n int) ([]int, error) {
	var out []int
	for tries := 0; len(out) < n; tries++ {
		if tries > 1000 {
			return nil, errors.New("flows: helpdesk numbers: randomness repeats")
		}
		x := 10 + e.pick(90)
		dup := false
		for _, y := range out {
			dup = dup || x == y
		}
		if !dup {
			out = append(out, x)
		}
	}
	return out, nil
}

// pick is a uniform number in [0, n) from the injected randomness (rejection sampling).
func (e *Engine) pick(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		if _, err := e.d.Rand.Read(b[:]); err != nil {
			return 0
		}
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// codeMethods are the methods a caller can read a code back from, strongest first.
var codeMethods = []MethodKind{MethodTOTP, MethodEmail, MethodSMS, MethodVoice}

// askCode asks for a code read back: from the authenticator app, or sent to a registered
// address. It joins the agent's live request, or starts (and counts) a new one.
func (e *Engine) askCode(ctx context.Context, h *hd) ([]Reply, error) {
	pol, err := e.policy(ctx)
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: policy: %w", err)
	}
	en, err := e.d.Enrollments.Get(ctx, h.target.ID)
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: helpdesk enrollment: %w", err)
	}
	a, err := e.liveAsk(ctx, h)
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), err
	}
	// the first method that can give a code and has not proven this request yet
	var kind MethodKind
	usable := false
	for _, k := range codeMethods {
		if !en.Has(k) || !pol.Allows(k) || e.methods[k] == nil {
			continue
		}
		usable = true
		if a == nil || !slices.Contains(a.Proven, string(k)) {
			kind = k
			break
		}
	}
	if !usable {
		e.hdAudit(ctx, h, "helpdesk_request", "refused", "no code method")
		return h.reply(MsgHelpdeskNoCode, h.target.DisplayName), nil
	}
	if kind == "" {
		return h.reply(MsgHelpdeskCodeDone, h.target.DisplayName), nil
	}
	fresh := a == nil
	if fresh {
		var refusal []Reply
		if a, refusal, err = e.newAsk(ctx, h); a == nil {
			return refusal, err
		}
	}
	ch, err := e.methods[kind].Challenge(ctx, h.target, en, pol, a.ID, h.now)
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: helpdesk challenge: %w", err)
	}
	if ch.Code != nil {
		ok, err := e.d.Enrollments.CountSend(ctx, h.target.ID, pol.Limits, h.now)
		if err != nil {
			return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: helpdesk send count: %w", err)
		}
		if !ok {
			e.hdAudit(ctx, h, "helpdesk_request", "refused", "send limit")
			return h.reply(MsgTooManyCodes), nil
		}
		a.Code = *ch.Code
	}
	a.CodeMethod = kind
	if fresh {
		err = e.putAsk(ctx, a)
	} else {
		err = e.d.Helpdesk.UpdateAsk(ctx, *a)
	}
	if errors.Is(err, ErrStale) {
		return h.reply(MsgBusy), nil
	}
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: helpdesk save: %w", err)
	}
	if ch.Send != nil {
		if err := ch.Send(ctx); err != nil {
			e.hdAudit(ctx, h, "helpdesk_request", "failed", "code not sent")
			return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: helpdesk send: %w", err)
		}
	}
	e.hdAudit(ctx, h, "helpdesk_request", "ok", "read-back code ("+string(kind)+")")
	e.tellPerson(ctx, a, kind)
	return h.reply(MsgHelpdeskCodeAsked, h.target.DisplayName, codeSource(kind), strings.ToLower(h.target.UPN)), nil
}

// tellPerson tells the person in chat (where they can be reached) why a code is on its way,
// with the "I'm not on a call" answer.
func (e *Engine) tellPerson(ctx context.Context, a *HelpdeskAsk, kind MethodKind) {
	if e.d.Notifier == nil {
		return
	}
	chats, err := e.d.Helpdesk.ChatsOf(ctx, a.UserID)
	if err != nil {
		return
	}
	for _, c := range e.chatRefs(chats) {
		r := Reply{MsgID: MsgHelpdeskReadBack, Text: Text(c.Locale, MsgHelpdeskReadBack, a.AgentName, codeSource(kind)), Private: true,
			Choices: []Choice{{ID: helpdeskChoice + askNotMe + "|" + a.ID, Label: Text(c.Locale, MsgHelpdeskNotOnCall)}}}
		if err := e.notify(ctx, a.UserID, c, []Reply{r}); err != nil {
			e.d.Log.WarnContext(ctx, "helpdesk notice not delivered", "err", err, "chat", c.Key())
		}
	}
}

// codeSource names where a read-back code is, for the agent and the person (never an address).
func codeSource(k MethodKind) string {
	switch k {
	case MethodTOTP:
		return "authenticator app"
	case MethodEmail:
		return "email"
	case MethodSMS:
		return "text messages"
	case MethodVoice:
		return "office phone (a call)"
	}
	return string(k)
}

// liveAsk is this agent's request for the person while it can still take a proof, or nil.
func (e *Engine) liveAsk(ctx context.Context, h *hd) (*HelpdeskAsk, error) {
	a, err := e.d.Helpdesk.GetAsk(ctx, h.target.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("flows: helpdesk read: %w", err)
	}
	if a.Agent != h.agent.ID || a.State == AskDenied || a.State == AskTimedOut {
		return nil, nil
	}
	if !h.now.Before(a.ExpiresAt) {
		e.timeOut(ctx, a)
		return nil, nil
	}
	return &a, nil
}

// checkReadBack judges the code the agent typed, counted in the person's attempt counters
// before it can be accepted (like every proof), and usable once.
func (e *Engine) checkReadBack(ctx context.Context, h *hd, code string) ([]Reply, error) {
	pol, err := e.policy(ctx)
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: policy: %w", err)
	}
	a, err := e.liveAsk(ctx, h)
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), err
	}
	if a == nil || a.CodeMethod == "" || slices.Contains(a.Proven, string(a.CodeMethod)) {
		return h.reply(MsgHelpdeskNoAsk, strings.ToLower(h.target.UPN)), nil
	}
	en, err := e.d.Enrollments.Get(ctx, h.target.ID)
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: helpdesk enrollment: %w", err)
	}
	m := e.methods[a.CodeMethod]
	p := m.Check(h.target, en, a.ID, a.Code, code, h.now)
	out, err := e.d.Enrollments.JudgeAttempt(ctx, h.target.ID, Attempt{Method: a.CodeMethod, Correct: p.Correct && !p.Expired && !p.Reused,
		TOTPStep: p.Step, Limits: pol.Limits}, h.now)
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: helpdesk judge: %w", err)
	}
	a.Code = StoredCode{} // one try per code, right or wrong
	if out.Status != Committed {
		a.State = AskDenied
		reason := "wrong code"
		if out.Status == Blocked {
			reason = "self-service blocked"
		}
		if err := e.d.Helpdesk.UpdateAsk(ctx, *a); err != nil && !errors.Is(err, ErrStale) {
			e.d.Log.ErrorContext(ctx, "helpdesk request not saved", "err", err)
		}
		e.hdAudit(ctx, h, "helpdesk_deny", "denied", reason)
		return h.reply(MsgHelpdeskNotVerified, a.UserName), nil
	}
	a.Proven = append(a.Proven, string(a.CodeMethod))
	a.ProvenAt, a.State = h.now, AskVerified
	if err := e.d.Helpdesk.UpdateAsk(ctx, *a); err != nil {
		// another submission of the same code won: this one proves nothing
		e.hdAudit(ctx, h, "helpdesk_deny", "denied", "code already used")
		return h.reply(MsgHelpdeskNotVerified, a.UserName), nil
	}
	e.hdAudit(ctx, h, "helpdesk_approve", "ok", "read-back code ("+string(a.CodeMethod)+")")
	return []Reply{e.verifiedReply(a)}, nil
}

// verifiedReply is the agent's "verified with … at …", in the agent's time zone.
func (e *Engine) verifiedReply(a *HelpdeskAsk) Reply {
	loc := a.AgentChat.Locale
	var names []string
	for _, p := range a.Proven {
		if p == proofNumber {
			names = append(names, Text(loc, MsgHelpdeskByNumber))
		} else {
			names = append(names, Text(loc, MsgHelpdeskByCode, codeSource(MethodKind(p))))
		}
	}
	at := a.ProvenAt.In(a.AgentChat.Location()).Format("15:04 MST")
	return Reply{MsgID: MsgHelpdeskVerified, Text: Text(loc, MsgHelpdeskVerified, a.UserName, strings.Join(names, Text(loc, MsgHelpdeskAnd)), at), Private: true}
}

// tellAgent posts to the agent's chat outside their own request.
func (e *Engine) tellAgent(ctx context.Context, a *HelpdeskAsk, r Reply) {
	if e.d.Notifier == nil {
		return
	}
	if err := e.notify(ctx, a.Agent, a.AgentChat, []Reply{r}); err != nil {
		e.d.Log.WarnContext(ctx, "helpdesk agent not told", "err", err, "chat", a.AgentChat.Key())
	}
}

// timeOut ends a pending request nobody answered in time: audited, and the agent told. Only
// the writer that moves it out of pending reports it.
func (e *Engine) timeOut(ctx context.Context, a HelpdeskAsk) {
	if a.State != AskPending {
		return
	}
	a.State = AskTimedOut
	if err := e.d.Helpdesk.UpdateAsk(ctx, a); err != nil {
		return
	}
	e.audit(ctx, AuditEvent{Time: e.d.Clock.Now(), Actor: a.AgentChat.Key(), Subject: a.UserID, Platform: a.AgentChat.Platform,
		Action: "helpdesk_timeout", Outcome: "timeout", Reason: askNames(a.AgentName, a.AgentUPN, a.UserName, a.UserUPN, "no answer in time")})
	e.tellAgent(ctx, &a, Reply{MsgID: MsgHelpdeskTimedOut, Text: Text(a.AgentChat.Locale, MsgHelpdeskTimedOut, a.UserName), Private: true})
}

// SweepHelpdesk reports requests that timed out (claimed from the shared schedule, so one
// replica reports each); it returns how many were looked at.
func (e *Engine) SweepHelpdesk(ctx context.Context, lease time.Duration) (int, error) {
	if e.d.Helpdesk == nil || e.d.Reminders == nil {
		return 0, nil
	}
	now := e.d.Clock.Now()
	ids, err := e.d.Reminders.Claim(ctx, HelpdeskQueueName, now, 50, lease)
	if err != nil {
		return 0, fmt.Errorf("flows: helpdesk sweep: %w", err)
	}
	for _, id := range ids {
		a, err := e.d.Helpdesk.GetAsk(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			e.d.Log.WarnContext(ctx, "helpdesk request unreadable", "err", err, "user", id)
			continue // the claim's lease runs out and it is tried again
		case now.Before(a.ExpiresAt) && a.State == AskPending:
			_ = e.d.Reminders.Reschedule(ctx, HelpdeskQueueName, id, a.ExpiresAt)
			continue
		default:
			e.timeOut(ctx, a)
		}
		_ = e.d.Reminders.Unschedule(ctx, HelpdeskQueueName, id)
	}
	return len(ids), nil
}

// helpdeskAnswer is the person's answer in their chat: a number, or "I'm not on a call".
func (e *Engine) helpdeskAnswer(ctx context.Context, s *step) {
	body, _ := strings.CutPrefix(s.in.Choice, helpdeskChoice)
	pick, id, _ := strings.Cut(body, "|")
	if e.d.Helpdesk == nil || s.acct.ID == "" {
		s.say(MsgStaleButton)
		return
	}
	a, err := e.d.Helpdesk.GetAsk(ctx, s.acct.ID)
	if errors.Is(err, ErrNotFound) || err == nil && a.ID != id {
		s.say(MsgHelpdeskOver)
		return
	}
	if err != nil {
		s.say(MsgTrouble, s.pol.HelpdeskURL)
		return
	}
	names := func(reason string) string { return askNames(a.AgentName, a.AgentUPN, a.UserName, a.UserUPN, reason) }
	if pick == askNotMe {
		if a.NotOnCall {
			s.say(MsgHelpdeskNotMe) // told before: the admins were alerted once
			return
		}
		a.State, a.NotOnCall = AskDenied, true
		if err := e.d.Helpdesk.UpdateAsk(ctx, a); err != nil {
			s.say(MsgBusy)
			return
		}
		s.say(MsgHelpdeskNotMe)
		s.audit("helpdesk_deny", "denied", names("the person is not on a call"))
		ev := AuditEvent{Time: s.now, Actor: s.in.Chat.Key(), Subject: a.UserID, Platform: s.in.Chat.Platform,
			Action: "helpdesk_not_on_call", Outcome: "alert", Reason: names("")}
		lang := Lang(s.pol.Language) // the bot admins' language: the policy's
		body := Text(lang, MsgHelpdeskAdminAlert, a.AgentName, a.UserName, FormatWhen(lang, s.now, time.UTC))
		if e.d.Alerts != nil {
			e.d.Alerts.Alert(ctx, ev, body)
		}
		subject := Text(lang, "notice.helpdesk_not_me.subject", a.UserName)
		e.later(ctx, func(ctx context.Context) { e.mailAdmins(ctx, subject, body) })
		e.tellAgent(ctx, &a, Reply{MsgID: MsgHelpdeskNotVerified, Text: Text(a.AgentChat.Locale, MsgHelpdeskNotVerified, a.UserName), Private: true})
		return
	}
	if a.Answered || a.Number == 0 || a.State == AskDenied || a.State == AskTimedOut {
		s.say(MsgHelpdeskOver)
		return
	}
	if !s.now.Before(a.ExpiresAt) {
		e.timeOut(ctx, a)
		s.say(MsgHelpdeskOver)
		return
	}
	n, err := strconv.Atoi(pick)
	a.Answered = true
	if err != nil || n != a.Number {
		a.State = AskDenied
		if err := e.d.Helpdesk.UpdateAsk(ctx, a); err != nil {
			s.say(MsgHelpdeskOver)
			return
		}
		s.say(MsgHelpdeskWrongNumber)
		s.audit("helpdesk_deny", "denied", names("wrong number"))
		e.tellAgent(ctx, &a, Reply{MsgID: MsgHelpdeskNotVerified, Text: Text(a.AgentChat.Locale, MsgHelpdeskNotVerified, a.UserName), Private: true})
		return
	}
	a.Proven = append(a.Proven, proofNumber)
	a.ProvenAt, a.State = s.now, AskVerified
	if err := e.d.Helpdesk.UpdateAsk(ctx, a); err != nil {
		s.say(MsgHelpdeskOver)
		return
	}
	s.say(MsgHelpdeskMatched, a.AgentName)
	s.audit("helpdesk_approve", "ok", names("number matching"))
	e.tellAgent(ctx, &a, e.verifiedReply(&a))
}

// RunHelpdeskSweep reports timed-out requests whenever tick fires, until ctx ends.
func (e *Engine) RunHelpdeskSweep(ctx context.Context, tick <-chan time.Time) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			for {
				n, err := e.SweepHelpdesk(ctx, time.Minute)
				if err != nil {
					e.d.Log.WarnContext(ctx, "helpdesk sweep failed", "err", err)
				}
				if err != nil || n == 0 {
					break
				}
			}
		}
	}
}
