package flows

import "time"

// State is where a conversation stands. Every value is handled by the switch in engine.go.
type State string

// The states of a conversation; states.mermaid beside this file draws them.
const (
	StateChooseMethod State = "choose_method" // waiting for the user to pick a method to prove
	StateAwaitCode    State = "await_code"    // a code was sent or asked for; waiting for it
	StateResetLink    State = "reset_link"    // proven; the new-password link is out
	StateRegisterLink State = "register_link" // the registration link is out
	StateAdminLink    State = "admin_link"    // a bot admin's confirmation link is out
	StateChangeLink   State = "change_link"   // the password change page is out ("Change it now")
)

// Flow is what the user asked for.
type Flow string

// The flows.
const (
	FlowReset    Flow = "reset"
	FlowUnlock   Flow = "unlock"
	FlowRegister Flow = "register"
	FlowAdmin    Flow = "admin"
	FlowChange   Flow = "change" // a person who knows their password changes it before it expires
)

// Purpose binds a one-time link or code to what it may be used for.
type Purpose string

// The purposes of links.
const (
	PurposeRegister  Purpose = "register"
	PurposeReset     Purpose = "reset"
	PurposeQuestions Purpose = "questions"
	PurposeAdmin     Purpose = "admin"
	PurposePasskey   Purpose = "passkey" // a passkey proof on a one-time page
	PurposeChange    Purpose = "change"
)

// SessionLifetime is how long a session lives; writes never extend it.
const SessionLifetime = 15 * time.Minute

// ChatRef says where to reach a chat user.
type ChatRef struct {
	Platform string
	Tenant   string
	UserID   string
	Channel  string
	Locale   string
	TimeZone string `json:",omitempty"` // IANA name, when the platform says (Slack's tz, Teams' localTimezone)
}

// Location is the person's time zone, UTC when unknown.
func (c ChatRef) Location() *time.Location {
	if c.TimeZone != "" {
		if l, err := time.LoadLocation(c.TimeZone); err == nil {
			return l
		}
	}
	return time.UTC
}

// Key is the stable key of a chat identity.
func (c ChatRef) Key() string { return c.Platform + ":" + c.Tenant + ":" + c.UserID }

// Session is one conversation of one chat identity with the bot.
type Session struct {
	ID        string       `json:"id"`
	Version   int64        `json:"v"`
	State     State        `json:"state"`
	Flow      Flow         `json:"flow"`
	UserID    string       `json:"uid"`
	Chat      ChatRef      `json:"chat"`
	Method    MethodKind   `json:"method,omitempty"` // the method being proven
	Proven    []MethodKind `json:"proven,omitempty"`
	Action    string       `json:"action,omitempty"` // a bot admin's action awaiting a fresh MFA sign-in
	CreatedAt time.Time    `json:"created"`
	ExpiresAt time.Time    `json:"expires"`
}

// Expired reports whether the session is over at now.
func (s *Session) Expired(now time.Time) bool { return !now.Before(s.ExpiresAt) }

// HasProven reports whether m was already proven in this session.
func (s *Session) HasProven(m MethodKind) bool {
	for _, p := range s.Proven {
		if p == m {
			return true
		}
	}
	return false
}
