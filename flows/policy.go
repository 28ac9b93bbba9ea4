package flows

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// EnabledFor says who may use self-service.
type EnabledFor string

// The enablement settings of the seed.
const (
	EnabledNone     EnabledFor = "none"
	EnabledSelected EnabledFor = "selected"
	EnabledAll      EnabledFor = "all"
)

// ResetMode says how a verified user gets a new password.
type ResetMode string

// The reset modes.
const (
	ResetUserChosen ResetMode = "user_chosen"
	ResetTemporary  ResetMode = "temporary"
	ResetTAP        ResetMode = "tap"
)

// Limits are the attempt limits; defaults follow Entra SSPR.
type Limits struct {
	FailMax     int           `json:"fail_max"`     // failed proofs per FailWindow
	FailWindow  time.Duration `json:"fail_window"`  // 24h
	TriesMax    int           `json:"tries_max"`    // tries on one method per TriesWindow
	TriesWindow time.Duration `json:"tries_window"` // 1h
	BlockFor    time.Duration `json:"block_for"`    // 24h
	SendMax     int           `json:"send_max"`     // codes sent per SendWindow
	SendWindow  time.Duration `json:"send_window"`  // 10m
}

// Policy is the self-service policy bot admins run.
type Policy struct {
	EnabledFor          EnabledFor   `json:"enabled_for"`
	Groups              []string     `json:"groups,omitempty"`
	Methods             []MethodKind `json:"methods"`
	Required            int          `json:"required"`
	AllowPhoneAlone     bool         `json:"allow_phone_alone"`
	PasskeyAlone        bool         `json:"passkey_alone"` // a user-verifying passkey alone completes a reset
	RequireRegistration bool         `json:"require_registration"`
	ReconfirmDays       int          `json:"reconfirm_days"`
	QuestionsToRegister int          `json:"questions_register"`
	QuestionsToAnswer   int          `json:"questions_answer"`
	NotifyUser          bool         `json:"notify_user"`
	NotifyAdmins        bool         `json:"notify_admins"`
	AllowReset          bool         `json:"allow_reset"`
	AllowUnlock         bool         `json:"allow_unlock"`
	ResetMode           ResetMode    `json:"reset_mode"`
	RevokeSessions      bool         `json:"revoke_sessions"`
	Limits              Limits       `json:"limits"`
	HelpdeskURL         string       `json:"helpdesk_url"`
	PhoneCountries      []string     `json:"phone_countries"` // calling codes numbers may be in
	CustomQuestions     []string     `json:"custom_questions,omitempty"`
	DirectoryMethods    bool         `json:"directory_methods"`      // offer the directory's phone and email methods
	ManagerAfter        int          `json:"manager_after"`          // tell the manager after this many reminders (0 never)
	RemindEveryDays     int          `json:"remind_every_days"`      // days between reminders
	BannedTerms         []string     `json:"banned_terms,omitempty"` // the organisation's own banned-password terms
}

// DefaultLimits are Entra's: 5 failed proofs a day or 5 tries an hour on one method block for
// 24 hours; at most 10 codes in 10 minutes.
func DefaultLimits() Limits {
	return Limits{
		FailMax: 5, FailWindow: 24 * time.Hour,
		TriesMax: 5, TriesWindow: time.Hour,
		BlockFor: 24 * time.Hour,
		SendMax:  10, SendWindow: 10 * time.Minute,
	}
}

// DefaultPolicy is what a fresh deployment starts with: like Entra, enabled for nobody until a
// bot admin says otherwise.
func DefaultPolicy() Policy {
	return Policy{
		EnabledFor:          EnabledNone,
		Methods:             []MethodKind{MethodTOTP, MethodEmail, MethodSMS, MethodVoice},
		Required:            2,
		RequireRegistration: true,
		ReconfirmDays:       180,
		QuestionsToRegister: 3,
		QuestionsToAnswer:   3,
		NotifyUser:          true,
		NotifyAdmins:        true,
		AllowReset:          true,
		AllowUnlock:         true,
		ResetMode:           ResetUserChosen,
		RevokeSessions:      true,
		Limits:              DefaultLimits(),
		PhoneCountries:      []string{"1"},
		RemindEveryDays:     3,
		HelpdeskURL:         "https://helpdesk.example.com",
	}
}

// Allows reports whether the policy offers method m.
func (p Policy) Allows(m MethodKind) bool {
	for _, x := range p.Methods {
		if x == m {
			return true
		}
	}
	return false
}

// Validate reports every problem with the policy at once.
func (p Policy) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch p.EnabledFor {
	case EnabledNone, EnabledAll:
	case EnabledSelected:
		if len(p.Groups) == 0 {
			bad("enabled for selected needs at least one group")
		}
	default:
		bad("enabled for must be none, selected or all, not %q", p.EnabledFor)
	}
	seen := map[MethodKind]bool{}
	for _, m := range p.Methods {
		known := false
		for _, k := range AllMethods {
			known = known || k == m
		}
		if !known {
			bad("unknown method %q", m)
		}
		if seen[m] {
			bad("method %q listed twice", m)
		}
		seen[m] = true
	}
	if p.Required < 1 || p.Required > 2 {
		bad("methods required must be 1 or 2, not %d", p.Required)
	}
	if len(p.Methods) < p.Required {
		bad("%d methods required but only %d allowed", p.Required, len(p.Methods))
	}
	if p.Required == 1 {
		strong := false
		phone := false
		for _, m := range p.Methods {
			switch m {
			case MethodTOTP, MethodEmail, MethodPasskey:
				strong = true
			case MethodSMS, MethodVoice:
				phone = true
			}
		}
		if !strong && !phone && len(p.Methods) > 0 {
			bad("security questions alone cannot complete a reset: allow another method or require 2")
		}
		if !strong && phone && !p.AllowPhoneAlone {
			bad("SMS or voice alone needs the explicit allow-phone-alone switch")
		}
	}
	if p.Required == 2 && len(p.Methods) == 2 && seen[MethodQuestions] && !seen[MethodTOTP] && !seen[MethodEmail] &&
		(seen[MethodSMS] || seen[MethodVoice]) && !p.AllowPhoneAlone {
		bad("SMS or voice with security questions is phone alone: it needs the explicit allow-phone-alone switch")
	}
	errs = append(errs, p.validatePasskey()...)
	if p.ReconfirmDays < 0 || p.ReconfirmDays > 730 {
		bad("days before reconfirmation must be 0 to 730, not %d", p.ReconfirmDays)
	}
	if p.QuestionsToRegister < 3 || p.QuestionsToRegister > 5 {
		bad("questions to register must be 3 to 5, not %d", p.QuestionsToRegister)
	}
	if p.QuestionsToAnswer < 3 || p.QuestionsToAnswer > 5 {
		bad("questions to answer must be 3 to 5, not %d", p.QuestionsToAnswer)
	}
	if p.QuestionsToAnswer > p.QuestionsToRegister {
		bad("questions to answer (%d) cannot exceed questions to register (%d)", p.QuestionsToAnswer, p.QuestionsToRegister)
	}
	if len(p.BannedTerms) > 1000 {
		bad("at most 1,000 banned terms, not %d", len(p.BannedTerms))
	}
	if p.RemindEveryDays < 1 || p.RemindEveryDays > 30 {
		bad("days between reminders must be 1 to 30, not %d", p.RemindEveryDays)
	}
	if !p.AllowReset && !p.AllowUnlock {
		bad("allow reset, unlock or both")
	}
	switch p.ResetMode {
	case ResetUserChosen, ResetTemporary, ResetTAP:
	default:
		bad("reset mode must be user_chosen, temporary or tap, not %q", p.ResetMode)
	}
	l := p.Limits
	if l.FailMax < 1 || l.FailMax > 50 || l.TriesMax < 1 || l.TriesMax > 50 || l.SendMax < 1 || l.SendMax > 100 {
		bad("attempt limits must be 1 to 50 (codes sent 1 to 100)")
	}
	if l.FailWindow <= 0 || l.TriesWindow <= 0 || l.BlockFor <= 0 || l.SendWindow <= 0 {
		bad("attempt windows and the block duration must be positive")
	}
	for _, cc := range p.PhoneCountries {
		if len(cc) == 0 || len(cc) > 3 || strings.Trim(cc, "0123456789") != "" || cc[0] == '0' {
			bad("phone country %q must be a calling code of 1 to 3 digits, like 1 or 44", cc)
		}
	}
	if !strings.HasPrefix(p.HelpdeskURL, "https://") && !strings.HasPrefix(p.HelpdeskURL, "http://") {
		bad("helpdesk link must be an http(s) URL")
	}
	return errors.Join(errs...)
}

// InScope reports whether the policy enables self-service for a.
func (p Policy) InScope(a Account) bool {
	switch p.EnabledFor {
	case EnabledAll:
		return true
	case EnabledSelected:
		for _, g := range p.Groups {
			for _, h := range a.Groups {
				if strings.EqualFold(g, h) {
					return true
				}
			}
		}
	}
	return false
}

// RequiredFor is how many methods a must prove: privileged users always two.
func (p Policy) RequiredFor(a Account) int {
	if a.Privileged {
		return 2
	}
	return p.Required
}

// Usable lists the methods a may prove with: allowed, registered, never questions for the
// privileged.
func (p Policy) Usable(a Account, e Enrollment) []MethodKind {
	var out []MethodKind
	for _, m := range AllMethods {
		if !p.Allows(m) || !e.Has(m) || (a.Privileged && m == MethodQuestions) {
			continue
		}
		out = append(out, m)
	}
	return out
}
