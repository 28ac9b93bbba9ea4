package flows

import (
	"errors"
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
	// Language is the default language (a catalog language, "de") of what is sent outside a
	// conversation to someone whose language is not known yet; empty is English.
	Language string `json:"language,omitempty"`
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
	bad := func(id MsgID, a ...any) { errs = append(errs, BadInput(id, a...)) }
	switch p.EnabledFor {
	case EnabledNone, EnabledAll:
	case EnabledSelected:
		if len(p.Groups) == 0 {
			bad("policy.selected_no_group")
		}
	default:
		bad("policy.enabled_for", p.EnabledFor)
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
			bad("policy.method_twice", m)
		}
		seen[m] = true
	}
	if p.Required < 1 || p.Required > 2 {
		bad("policy.required", p.Required)
	}
	if len(p.Methods) < p.Required {
		bad("policy.required_allowed", p.Required, len(p.Methods))
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
			bad("policy.questions_alone")
		}
		if !strong && phone && !p.AllowPhoneAlone {
			bad("policy.phone_alone")
		}
	}
	if p.Required == 2 && len(p.Methods) == 2 && seen[MethodQuestions] && !seen[MethodTOTP] && !seen[MethodEmail] &&
		(seen[MethodSMS] || seen[MethodVoice]) && !p.AllowPhoneAlone {
		bad("policy.phone_questions")
	}
	errs = append(errs, p.validatePasskey()...)
	if p.ReconfirmDays < 0 || p.ReconfirmDays > 730 {
		bad("policy.reconfirm", p.ReconfirmDays)
	}
	if p.QuestionsToRegister < 3 || p.QuestionsToRegister > 5 {
		bad("policy.q_register", p.QuestionsToRegister)
	}
	if p.QuestionsToAnswer < 3 || p.QuestionsToAnswer > 5 {
		bad("policy.q_answer", p.QuestionsToAnswer)
	}
	if p.QuestionsToAnswer > p.QuestionsToRegister {
		bad("policy.q_exceed", p.QuestionsToAnswer, p.QuestionsToRegister)
	}
	if len(p.BannedTerms) > 1000 {
		bad("policy.banned", len(p.BannedTerms))
	}
	if p.RemindEveryDays < 1 || p.RemindEveryDays > 30 {
		bad("policy.remind_days", p.RemindEveryDays)
	}
	if !p.AllowReset && !p.AllowUnlock {
		bad("policy.allow")
	}
	switch p.ResetMode {
	case ResetUserChosen, ResetTemporary, ResetTAP:
	default:
		bad("policy.reset_mode", p.ResetMode)
	}
	l := p.Limits
	if l.FailMax < 1 || l.FailMax > 50 || l.TriesMax < 1 || l.TriesMax > 50 || l.SendMax < 1 || l.SendMax > 100 {
		bad("policy.limits")
	}
	if l.FailWindow <= 0 || l.TriesWindow <= 0 || l.BlockFor <= 0 || l.SendWindow <= 0 {
		bad("policy.windows")
	}
	for _, cc := range p.PhoneCountries {
		if len(cc) == 0 || len(cc) > 3 || strings.Trim(cc, "0123456789") != "" || cc[0] == '0' {
			bad("policy.phone_country", cc)
		}
	}
	if p.Language != "" && Lang(p.Language) != p.Language {
		bad("policy.language", p.Language, strings.Join(Languages(), ", "))
	}
	if !strings.HasPrefix(p.HelpdeskURL, "https://") && !strings.HasPrefix(p.HelpdeskURL, "http://") {
		bad("policy.helpdesk")
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
