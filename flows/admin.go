package flows

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Admin handles a bot-admin command ("policy show", "policy set required 2", "unblock <user>",
// "audit <user>", …). Bot admins are members of the configured directory groups, never chosen by
// a chat platform's roles; every attempt is audited.
func (e *Engine) Admin(ctx context.Context, in Inbound, text string) ([]Reply, error) {
	now := e.d.Clock.Now()
	words := strings.Fields(text)
	if len(words) == 0 || len(text) > 2000 {
		words = []string{"help"}
	}
	lower := make([]string, len(words))
	for i, w := range words {
		lower[i] = strings.ToLower(w)
	}
	cmd := lower[0]
	action := "admin:" + cmd
	if len(words) > 1 && cmd == "policy" {
		action += " " + lower[1]
	}
	ctx = WithLang(ctx, in.Chat.Locale) // replies speak the bot admin's chat language
	c, n, known := findAdminCommand(lower)
	args := words[n:] // they keep their case (a banned term, a group's name, an id)
	if c != nil && c.open != nil {
		// helpdesk agents, who need not be bot admins
		return c.open(e, ctx, in, args)
	}
	acct, err := e.resolve(ctx, in)
	admin := err == nil && acct.Enabled && e.isAdmin(acct)
	ev := AuditEvent{Time: now, Actor: in.Chat.Key(), Subject: acct.ID, Platform: in.Chat.Platform, Action: action}
	say := func(s string) []Reply { return []Reply{{MsgID: MsgAdmin, Text: s, Private: true}} }
	if !admin {
		ev.Outcome, ev.Reason = "refused", "not_bot_admin"
		e.audit(ctx, ev)
		return []Reply{{MsgID: MsgNotAdmin, Text: Text(in.Chat.Locale, MsgNotAdmin), Private: true}}, nil
	}
	var out string
	var file *Attachment
	switch {
	case c != nil:
		out, file, ev.Outcome, ev.Reason = c.run(e, ctx, in, acct, args)
	case known:
		// a command's first word with an unknown second ("policy frobnicate")
		out, ev.Outcome, ev.Reason = adminHelp(ctx), "refused", "usage"
	default:
		out, ev.Outcome = adminHelp(ctx), "ok"
	}
	e.audit(ctx, ev)
	rs := say(out)
	rs[0].File = file
	return rs, nil
}

// tr renders a bot admin's reply in the language WithLang carries (their chat's, or the page's).
func tr(ctx context.Context, id MsgID, args ...any) string { return Text(LangFrom(ctx), id, args...) }

// target finds the directory user an admin command names.
func (e *Engine) target(ctx context.Context, words []string) (Account, error) {
	if len(words) != 1 {
		return Account{}, ErrBadRequest
	}
	kind := ClaimObjectID
	if strings.Contains(words[0], "@") {
		kind = ClaimEmail
	}
	return e.d.Directory.Lookup(ctx, Claim{Kind: kind, Value: words[0]})
}

func (e *Engine) unblockCommand(ctx context.Context, in Inbound, admin Account, words []string) (string, string, string) {
	a, err := e.target(ctx, words)
	if err != nil {
		return tr(ctx, "admin.unblock_usage"), "refused", "bad_target"
	}
	if e.o.AdminAuthContext == "" {
		return tr(ctx, "admin.not_unblocked", tr(ctx, "admin.step_up_missing")), "refused", "no_auth_context"
	}
	link, err := e.adminLink(ctx, in, admin, "unblock:"+a.ID)
	if err != nil {
		return tr(ctx, "admin.no_link"), "failed", "store"
	}
	return tr(ctx, "admin.unblock_confirm", a.DisplayName, link), "pending", a.ID
}

// AuditReader reads a user's recent security events (optional; the Redis auditor has it).
type AuditReader interface {
	Recent(ctx context.Context, subject string, n int) ([]AuditEvent, error)
	Since(ctx context.Context, since time.Time, fn func(AuditEvent)) error
}

func (e *Engine) auditCommand(ctx context.Context, words []string) (string, string, string) {
	a, err := e.target(ctx, words)
	if err != nil {
		return tr(ctx, "admin.audit_usage"), "refused", "bad_target"
	}
	r, ok := auditAs[AuditReader](e.d.Audit)
	if !ok {
		return tr(ctx, "admin.audit_unreadable"), "failed", "no_reader"
	}
	evs, err := r.Recent(ctx, a.ID, 20)
	if err != nil {
		return tr(ctx, "admin.audit_failed"), "failed", "store"
	}
	if len(evs) == 0 {
		return tr(ctx, "admin.audit_none", a.DisplayName), "ok", a.ID
	}
	var b strings.Builder
	b.WriteString(tr(ctx, "admin.audit_head", a.DisplayName) + "\n")
	for _, x := range evs {
		fmt.Fprintf(&b, "• %s %s %s %s (%s)\n", x.Time.UTC().Format("2006-01-02 15:04"), x.Action, x.Outcome, x.Reason, x.Platform)
	}
	return b.String(), "ok", a.ID
}

// setting is one policy field an admin can set. Each declares how a change of it weakens the
// policy (weakens is never nil): a weakening change needs a fresh multi-factor confirmation
// and a second bot admin's approval, so no single admin can loosen the policy alone.
type setting struct {
	name    string
	suffix  func(lang string) string // after the catalog's description ("setting.<name>"): the values it takes
	show    func(Policy) string
	apply   func(*Policy, string) error
	weakens weakening
}

// weakening says how the change from old to next is weaker (nil or empty: it is not).
type weakening func(old, next Policy) []string

// never is the weakening of a setting no value of which lets anyone be verified more easily
// or reach self-service who could not before.
func never(Policy, Policy) []string { return nil }

// when weakens with reason when weaker says the change is weaker.
func when(reason string, weaker func(old, next Policy) bool) weakening {
	return func(old, next Policy) []string {
		if weaker(old, next) {
			return []string{reason}
		}
		return nil
	}
}

// turnedOn and turnedOff weaken when a switch changes that way.
func turnedOn(reason string, f func(*Policy) *bool) weakening {
	return when(reason, func(old, next Policy) bool { return !*f(&old) && *f(&next) })
}

func turnedOff(reason string, f func(*Policy) *bool) weakening {
	return when(reason, func(old, next Policy) bool { return *f(&old) && !*f(&next) })
}

// lowered and raised weaken when a number moves that way.
func lowered(reason string, f func(*Policy) *int) weakening {
	return when(reason, func(old, next Policy) bool { return *f(&next) < *f(&old) })
}

func raised(reason string, f func(*Policy) *int) weakening {
	return when(reason, func(old, next Policy) bool { return *f(&next) > *f(&old) })
}

// added weakens for each item next has that old has not (prefix names it).
func added(prefix string, f func(Policy) []string) weakening {
	return func(old, next Policy) []string {
		var w []string
		for _, x := range f(next) {
			if !containsFold(f(old), x) {
				w = append(w, prefix+x)
			}
		}
		return w
	}
}

func boolSetting(name string, f func(*Policy) *bool, w weakening) setting {
	return setting{name: name, suffix: func(l string) string { return Text(l, "setting.suffix.on_off") }, weakens: w,
		show: func(p Policy) string { return onOff(*f(&p)) },
		apply: func(p *Policy, v string) error {
			switch strings.ToLower(v) {
			case "on", "true", "yes":
				*f(p) = true
			case "off", "false", "no":
				*f(p) = false
			default:
				return BadInput("value.on_off", name)
			}
			return nil
		}}
}

func intSetting(name string, lo, hi int, f func(*Policy) *int, w weakening) setting {
	return setting{name: name, suffix: func(l string) string { return Text(l, "setting.suffix.range", lo, hi) }, weakens: w,
		show: func(p Policy) string { return strconv.Itoa(*f(&p)) },
		apply: func(p *Policy, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return BadInput("value.number", name, lo, hi)
			}
			*f(p) = n
			return nil
		}}
}

func listSetting(name string, f func(*Policy) *[]string, check func(string) bool, w weakening) setting {
	return setting{name: name, suffix: func(l string) string { return Text(l, "setting.suffix.list") }, weakens: w,
		show: func(p Policy) string { return strings.Join(*f(&p), ", ") },
		apply: func(p *Policy, v string) error {
			var out []string
			for _, x := range strings.Split(v, ",") {
				if x = strings.TrimSpace(x); x != "" {
					if !check(x) {
						return BadInput("value.list", x, name)
					}
					out = append(out, x)
				}
			}
			*f(p) = out
			return nil
		}}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// scopeRank orders who self-service is enabled for, narrowest first.
var scopeRank = map[EnabledFor]int{EnabledNone: 0, EnabledSelected: 1, EnabledAll: 2}

var settings = []setting{
	{name: "enabled_for",
		weakens: when("wider scope", func(old, next Policy) bool { return scopeRank[next.EnabledFor] > scopeRank[old.EnabledFor] }),
		show:    func(p Policy) string { return string(p.EnabledFor) },
		apply: func(p *Policy, v string) error {
			switch EnabledFor(strings.ToLower(v)) {
			case EnabledNone, EnabledSelected, EnabledAll:
				p.EnabledFor = EnabledFor(strings.ToLower(v))
				return nil
			}
			return BadInput("value.enabled_for")
		}},
	listSetting("groups", func(p *Policy) *[]string { return &p.Groups },
		func(s string) bool { return len(s) <= 64 && !strings.ContainsAny(s, " \t") },
		// a group added widens who may self-serve while self-service is for selected groups
		func(old, next Policy) []string {
			if next.EnabledFor != EnabledSelected {
				return nil
			}
			return added("adds group ", func(p Policy) []string { return p.Groups })(old, next)
		}),
	{name: "methods",
		// the weaker methods: guessable answers, and numbers that can be ported or intercepted
		weakens: func(old, next Policy) []string {
			var w []string
			for _, m := range next.Methods {
				if !old.Allows(m) && (m == MethodQuestions || m == MethodSMS || m == MethodVoice) {
					w = append(w, "adds "+string(m))
				}
			}
			return w
		},
		show: func(p Policy) string {
			var s []string
			for _, m := range p.Methods {
				s = append(s, string(m))
			}
			return strings.Join(s, ", ")
		},
		apply: func(p *Policy, v string) error {
			var ms []MethodKind
			for _, x := range strings.Split(v, ",") {
				m := MethodKind(strings.TrimSpace(strings.ToLower(x)))
				ok := false
				for _, k := range AllMethods {
					ok = ok || k == m
				}
				if !ok {
					return BadInput("value.method", x)
				}
				ms = append(ms, m)
			}
			p.Methods = ms
			return nil
		}},
	intSetting("required", 1, 2, func(p *Policy) *int { return &p.Required },
		lowered("fewer methods required", func(p *Policy) *int { return &p.Required })),
	boolSetting("allow_phone_alone", func(p *Policy) *bool { return &p.AllowPhoneAlone },
		turnedOn("lets SMS or a call alone complete a reset", func(p *Policy) *bool { return &p.AllowPhoneAlone })),
	boolSetting("passkey_alone", func(p *Policy) *bool { return &p.PasskeyAlone },
		turnedOn("lets a passkey alone complete a reset", func(p *Policy) *bool { return &p.PasskeyAlone })),
	boolSetting("require_registration", func(p *Policy) *bool { return &p.RequireRegistration },
		never), // reminders only: no one is verified more easily
	intSetting("reconfirm_days", 0, 730, func(p *Policy) *int { return &p.ReconfirmDays },
		when("longer reconfirmation", func(old, next Policy) bool {
			return old.ReconfirmDays > 0 && (next.ReconfirmDays == 0 || next.ReconfirmDays > old.ReconfirmDays)
		})),
	intSetting("questions_register", 3, 5, func(p *Policy) *int { return &p.QuestionsToRegister },
		lowered("fewer questions to register", func(p *Policy) *int { return &p.QuestionsToRegister })),
	intSetting("questions_answer", 3, 5, func(p *Policy) *int { return &p.QuestionsToAnswer },
		lowered("fewer questions to answer", func(p *Policy) *int { return &p.QuestionsToAnswer })),
	boolSetting("notify_user", func(p *Policy) *bool { return &p.NotifyUser },
		turnedOff("users are no longer told of a reset", func(p *Policy) *bool { return &p.NotifyUser })),
	boolSetting("notify_admins", func(p *Policy) *bool { return &p.NotifyAdmins },
		turnedOff("bot admins are no longer told of privileged resets", func(p *Policy) *bool { return &p.NotifyAdmins })),
	boolSetting("allow_reset", func(p *Policy) *bool { return &p.AllowReset },
		turnedOn("lets verified users reset", func(p *Policy) *bool { return &p.AllowReset })),
	boolSetting("allow_unlock", func(p *Policy) *bool { return &p.AllowUnlock },
		turnedOn("lets verified users unlock without a new password", func(p *Policy) *bool { return &p.AllowUnlock })),
	{name: "reset_mode",
		weakens: never, // each mode comes only after the same proofs, on the one-time page
		show:    func(p Policy) string { return string(p.ResetMode) },
		apply: func(p *Policy, v string) error {
			switch ResetMode(strings.ToLower(v)) {
			case ResetUserChosen, ResetTemporary, ResetTAP:
				p.ResetMode = ResetMode(strings.ToLower(v))
				return nil
			}
			return BadInput("value.reset_mode")
		}},
	boolSetting("revoke_sessions", func(p *Policy) *bool { return &p.RevokeSessions },
		turnedOff("sessions are no longer signed out after a reset", func(p *Policy) *bool { return &p.RevokeSessions })),
	intSetting("fail_max", 1, 50, func(p *Policy) *int { return &p.Limits.FailMax },
		raised("looser attempt limits", func(p *Policy) *int { return &p.Limits.FailMax })),
	intSetting("tries_max", 1, 50, func(p *Policy) *int { return &p.Limits.TriesMax },
		raised("looser attempt limits", func(p *Policy) *int { return &p.Limits.TriesMax })),
	intSetting("send_max", 1, 100, func(p *Policy) *int { return &p.Limits.SendMax },
		raised("looser attempt limits", func(p *Policy) *int { return &p.Limits.SendMax })),
	{name: "block_hours",
		weakens: when("looser attempt limits", func(old, next Policy) bool { return next.Limits.BlockFor < old.Limits.BlockFor }),
		show:    func(p Policy) string { return strconv.Itoa(int(p.Limits.BlockFor / time.Hour)) },
		apply: func(p *Policy, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 168 {
				return BadInput("value.block_hours")
			}
			p.Limits.BlockFor = time.Duration(n) * time.Hour
			return nil
		}},
	{name: "helpdesk_url",
		weakens: never, // where people are sent when the bot cannot help; every change is audited
		show:    func(p Policy) string { return p.HelpdeskURL },
		apply: func(p *Policy, v string) error {
			u, err := url.Parse(v)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				return BadInput("value.helpdesk_url")
			}
			p.HelpdeskURL = v
			return nil
		}},
	{name: "language", suffix: func(string) string { return "(" + strings.Join(Languages(), ", ") + ")" },
		weakens: never,
		show: func(p Policy) string {
			if p.Language == "" {
				return "en"
			}
			return p.Language
		},
		apply: func(p *Policy, v string) error {
			for _, l := range Languages() {
				if strings.EqualFold(l, v) {
					p.Language = l
					return nil
				}
			}
			return BadInput("value.language", strings.Join(Languages(), ", "))
		}},
	listSetting("phone_countries", func(p *Policy) *[]string { return &p.PhoneCountries },
		func(s string) bool { return len(s) <= 3 && strings.Trim(s, "0123456789") == "" && s[0] != '0' },
		// more people may register a phone, in countries whose numbers may be easier to take over
		added("adds calling code +", func(p Policy) []string { return p.PhoneCountries })),
	boolSetting("directory_methods", func(p *Policy) *bool { return &p.DirectoryMethods },
		turnedOn("offers the directory's own methods", func(p *Policy) *bool { return &p.DirectoryMethods })),
	{name: "custom_questions",
		weakens: never, // more questions to choose from; how many must be answered is questions_answer
		show:    func(p Policy) string { return strings.Join(p.CustomQuestions, " | ") },
		apply: func(p *Policy, v string) error {
			var qs []string
			for _, q := range strings.Split(v, "|") {
				if q = strings.TrimSpace(q); q == "" {
					continue
				}
				if len(q) < 10 || len(q) > 120 || !strings.HasSuffix(q, "?") {
					return BadInput("value.custom_question", q)
				}
				qs = append(qs, q)
			}
			if len(qs) > 20 {
				return BadInput("value.custom_questions")
			}
			p.CustomQuestions = qs
			return nil
		}},
	intSetting("remind_every_days", 1, 30, func(p *Policy) *int { return &p.RemindEveryDays }, never),
	intSetting("manager_after", 0, 20, func(p *Policy) *int { return &p.ManagerAfter }, never),
}

// GroupResolver finds a directory group by display name (optional).
type GroupResolver interface {
	ResolveGroup(ctx context.Context, name string) (string, error)
}

// resolveGroups turns group names into ids; ids (GUIDs) pass through.
func (e *Engine) resolveGroups(ctx context.Context, value string) (string, error) {
	var ids []string
	for _, g := range strings.Split(value, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if isGUID(g) {
			ids = append(ids, g)
			continue
		}
		r := e.caps.Groups
		if r == nil {
			return "", BadInput("value.group_ids", g)
		}
		id, err := r.ResolveGroup(ctx, g)
		if err != nil {
			return "", BadInput("value.group_name", g)
		}
		ids = append(ids, id)
	}
	return strings.Join(ids, ","), nil
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

func findSetting(name string) (setting, bool) {
	for _, s := range settings {
		if s.name == strings.ToLower(name) {
			return s, true
		}
	}
	return setting{}, false
}

// ShowPolicy renders the policy with its version, its heading in the locale's language (the
// settings' names and descriptions are the command's vocabulary).
func ShowPolicy(locale string, p Policy, version int64) string {
	var b strings.Builder
	b.WriteString(Text(locale, "admin.policy_head", strconv.FormatInt(version, 10)) + "\n")
	for _, s := range settings {
		help := Text(locale, MsgID("setting."+s.name))
		if s.suffix != nil {
			help += " " + s.suffix(locale)
		}
		fmt.Fprintf(&b, "• %s = %s  — %s\n", s.name, s.show(p), help)
	}
	return b.String()
}

func (e *Engine) policySet(ctx context.Context, in Inbound, admin Account, p Policy, v int64, name, value string) (string, string, string) {
	s, ok := findSetting(name)
	if !ok {
		var names []string
		for _, s := range settings {
			names = append(names, s.name)
		}
		return tr(ctx, "admin.unknown_setting", strconvQuote(name), strings.Join(names, ", ")), "refused", "unknown_setting"
	}
	if s.name == "groups" {
		resolved, err := e.resolveGroups(ctx, value)
		if err != nil {
			return tr(ctx, "admin.not_changed", errText(ctx, err)), "refused", "bad_value"
		}
		value = resolved
	}
	next := p
	next.Methods = append([]MethodKind(nil), p.Methods...)
	next.Groups = append([]string(nil), p.Groups...)
	next.PhoneCountries = append([]string(nil), p.PhoneCountries...)
	if err := s.apply(&next, value); err != nil {
		return tr(ctx, "admin.not_changed", errText(ctx, err)), "refused", "bad_value"
	}
	if err := next.Validate(); err != nil {
		return tr(ctx, "admin.invalid") + "\n• " + strings.Join(errTexts(ctx, err), "\n• "), "refused", "invalid"
	}
	return e.changePolicy(ctx, in, admin, p, v, next, s.name+" = "+s.show(next))
}

// changePolicy applies an admin's change of the policy from p (version v) to next, or, when the
// change weakens the policy, records it for a confirmation and a second admin's approval.
func (e *Engine) changePolicy(ctx context.Context, in Inbound, admin Account, p Policy, v int64, next Policy, change string) (string, string, string) {
	if w := Weakens(p, next); len(w) > 0 {
		if e.o.AdminAuthContext == "" {
			return tr(ctx, "admin.weakens_no_step_up", weakText(ctx, w), tr(ctx, "admin.step_up_missing")), "refused", "no_auth_context"
		}
		id, err := e.d.Pending.ProposeChange(ctx, PendingChange{Policy: next, BaseVersion: v, Change: change, By: admin.ID, At: e.d.Clock.Now()})
		if err != nil {
			return tr(ctx, "admin.not_recorded"), "failed", "store"
		}
		link, err := e.adminLink(ctx, in, admin, "confirm:"+id)
		if err != nil {
			return tr(ctx, "admin.no_link"), "failed", "store"
		}
		return tr(ctx, "admin.weakens_confirm", weakText(ctx, w), link, id), "pending", change
	}
	nv, err := e.d.Policies.PutPolicy(ctx, next, v)
	if errors.Is(err, ErrStale) {
		return tr(ctx, "admin.stale"), "refused", "stale"
	}
	if err != nil {
		return tr(ctx, "admin.not_saved"), "failed", "store"
	}
	e.forgetPolicy()
	return tr(ctx, "admin.done", change, strconv.FormatInt(nv, 10)), "ok", change
}

func (e *Engine) policyApprove(ctx context.Context, in Inbound, admin Account, id string) (string, string, string) {
	if e.o.AdminAuthContext == "" {
		return tr(ctx, "admin.not_approved", tr(ctx, "admin.step_up_missing")), "refused", "no_auth_context"
	}
	pc, err := e.d.Pending.PeekChange(ctx, id)
	switch {
	case err != nil:
		return tr(ctx, "admin.no_pending", strconvQuote(id)), "refused", "unknown_pending"
	case pc.By == admin.ID:
		return tr(ctx, "admin.same_admin"), "refused", "same_admin"
	case !pc.Confirmed:
		return tr(ctx, "admin.unconfirmed"), "refused", "unconfirmed"
	}
	link, err := e.adminLink(ctx, in, admin, "approve:"+id)
	if err != nil {
		return tr(ctx, "admin.no_link"), "failed", "store"
	}
	return tr(ctx, "admin.approve_confirm", pc.Change, link), "pending", pc.Change
}

// ErrNeedMFA: a bot admin's confirmation needs a multi-factor sign-in.
var ErrNeedMFA = errors.New("multi-factor sign-in required")

// stepUpMissing tells a bot admin why an action that needs a multi-factor confirmation cannot be
// done, and how the deployment enables it (README: "Bot-admin step-up").
// (catalog admin.step_up_missing)

// AdminAuthContext is the authentication context a bot admin's confirmation sign-in requests
// with the claims parameter, or "" when none is configured.
func (e *Engine) AdminAuthContext() string { return e.o.AdminAuthContext }

// steppedUp reports whether the sign-in satisfied the configured authentication context, whose
// Conditional Access policy requires multi-factor authentication. Entra v2 ID tokens carry no
// amr, so acrs is the only multi-factor evidence (entra-docs
// developer-guide-conditional-access-authentication-context).
func (e *Engine) steppedUp(si SignIn) bool {
	return e.o.AdminAuthContext != "" && slices.Contains(si.ACRS, e.o.AdminAuthContext)
}

// AdminConfirm carries out the bot admin action a fresh multi-factor sign-in confirmed: a
// weakening change (requester's confirmation, or a second admin's approval), or an unblock.
func (e *Engine) AdminConfirm(ctx context.Context, ws *WebState, si SignIn) (string, error) {
	if err := e.signedIn(ws); err != nil {
		return "", err
	}
	mfa := e.steppedUp(si)
	now := e.d.Clock.Now()
	ev := AuditEvent{Time: now, Actor: ws.ChatKey, Subject: ws.UserID, Action: "admin:confirm " + ws.Action}
	if !mfa {
		ev.Outcome, ev.Reason = "refused", "no_mfa"
		e.audit(ctx, ev)
		return "", ErrNeedMFA
	}
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: ws.UserID})
	if err != nil || !acct.Enabled || !e.isAdmin(acct) {
		ev.Outcome, ev.Reason = "refused", "not_bot_admin"
		e.audit(ctx, ev)
		return "", ErrRefused
	}
	kind, arg, _ := strings.Cut(ws.Action, ":")
	ws.Action = ""
	var msg string
	switch kind {
	case "confirm":
		if err := e.d.Pending.ConfirmChange(ctx, arg, acct.ID); err != nil {
			return "", ErrLinkGone
		}
		pc, _ := e.d.Pending.PeekChange(ctx, arg)
		e.announceAdmins(ctx, "pending", acct.DisplayName, pc.Change, arg)
		msg = tr(ctx, "admin.confirmed", arg)
	case "approve":
		pc, err := e.d.Pending.TakeChange(ctx, arg, acct.ID)
		if err != nil {
			return "", ErrLinkGone
		}
		nv, err := e.d.Policies.PutPolicy(ctx, pc.Policy, pc.BaseVersion)
		if errors.Is(err, ErrStale) {
			return tr(ctx, "admin.not_applied"), nil
		}
		if err != nil {
			return "", err
		}
		e.forgetPolicy()
		e.announceAdmins(ctx, "weakened", acct.DisplayName, pc.Change, strconv.FormatInt(nv, 10))
		msg = tr(ctx, "admin.applied", pc.Change, strconv.FormatInt(nv, 10))
	case "unblock":
		target, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: arg})
		if err != nil {
			return "", ErrLinkGone
		}
		if err := e.Unblock(ctx, ws.ChatKey, target.ID); err != nil {
			return "", err
		}
		pol := e.policyOrDefault(ctx, "unblock notice")
		lang, _ := e.noticeLocale(context.WithoutCancel(context.Background()), target, pol) // the person's, not the admin's
		e.mailUser(ctx, target, Text(lang, "mail.unblocked.subject"), Text(lang, "mail.unblocked.body", target.DisplayName, pol.HelpdeskURL))
		msg = tr(ctx, "admin.unblocked", target.DisplayName)
	default:
		return "", ErrLinkGone
	}
	ev.Outcome = "ok"
	e.audit(ctx, ev)
	if e.d.Notifier != nil {
		if chat, ok := parseChatKey(ws.ChatKey); ok {
			_ = e.notify(ctx, ws.UserID, chat, []Reply{{MsgID: MsgAdmin, Text: msg, Private: true}})
		}
	}
	return msg, nil
}

// adminLink gives a bot admin a one-time page on which a fresh multi-factor sign-in confirms
// action; it lives in a chat session of the admin's, so it expires and is voided like any link.
func (e *Engine) adminLink(ctx context.Context, in Inbound, admin Account, action string) (string, error) {
	now := e.d.Clock.Now()
	snap, err := e.d.Sessions.Load(ctx, admin.ID, in.Chat.Key())
	if err != nil {
		return "", err
	}
	pol, err := e.policy(ctx)
	if err != nil {
		return "", err
	}
	s := &step{in: in, now: now, pol: pol, acct: admin, subject: admin.ID, snap: snap, sess: snap.Session}
	s.commit = Commit{Subject: admin.ID, ChatKey: in.Chat.Key(), Now: now, KeepSession: true}
	if snap.Session != nil {
		s.commit.ExpectVersion = snap.Session.Version
	}
	sess := e.newSession(s, FlowAdmin, StateAdminLink)
	sess.Action = action
	link, err := e.grantLink(s, sess, PurposeAdmin)
	if err != nil {
		return "", err
	}
	out, err := e.d.Sessions.Commit(ctx, s.commit)
	if err != nil {
		return "", err
	}
	if out.Status != Committed {
		return "", ErrStale
	}
	return link, nil
}

func strconvQuote(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return strconv.Quote(s)
}

// forgetPolicy drops the in-process policy cache so this replica sees a change at once; others
// see it within the cache's 5 seconds.
func (e *Engine) forgetPolicy() {
	e.mu.Lock()
	e.polAt = time.Time{}
	e.mu.Unlock()
}

// bannedTermsWeaken: a term taken off the organisation's banned-password list lets weaker
// passwords through (the list is edited with "policy banned", not "policy set").
func bannedTermsWeaken(old, next Policy) []string {
	var w []string
	for _, t := range old.BannedTerms {
		if !containsFold(next.BannedTerms, t) {
			w = append(w, "unbans "+t)
		}
	}
	return w
}

// Weakens lists how next is weaker than old, as every setting declares it (and the banned
// terms): fewer proofs, weaker methods, looser limits, wider scope, fewer notices.
func Weakens(old, next Policy) []string {
	seen := map[string]bool{}
	var w []string
	for _, f := range append(settingWeakenings(), bannedTermsWeaken) {
		for _, r := range f(old, next) {
			if !seen[r] {
				seen[r] = true
				w = append(w, r)
			}
		}
	}
	sort.Strings(w)
	return w
}

func settingWeakenings() []weakening {
	ws := make([]weakening, len(settings))
	for i, s := range settings {
		ws[i] = s.weakens
	}
	return ws
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// announceAdmins tells every bot admin (alert channel and email) the notice kind
// ("notice.<kind>.subject" and ".body" of the catalog), in the policy's language: the bot
// admins are a group, not one person with a chat language.
func (e *Engine) announceAdmins(ctx context.Context, kind string, args ...any) {
	lang := Lang(e.policyOrDefault(ctx, "admin notice").Language)
	subject := Text(lang, MsgID("notice."+kind+".subject"))
	body := Text(lang, MsgID("notice."+kind+".body"), args...)
	e.d.Log.WarnContext(ctx, "bot admin notice", "kind", kind)
	if e.d.Alerts != nil {
		e.d.Alerts.Alert(ctx, AuditEvent{Time: e.d.Clock.Now(), Action: "policy", Outcome: "notice"}, body)
	}
	e.mailAdmins(ctx, subject, body)
}

// mailAdmins emails every bot admin (the members of the admin groups).
func (e *Engine) mailAdmins(ctx context.Context, subject, body string) {
	lister := e.caps.Members
	if lister == nil || e.d.Mailer == nil {
		return
	}
	seen := map[string]bool{}
	var to []string
	for _, g := range e.o.AdminGroups {
		ms, err := lister.Members(ctx, g)
		if err != nil {
			e.d.Log.ErrorContext(ctx, "admin group members unavailable", "err", err, "group", g)
			continue
		}
		for _, m := range ms {
			if m.Mail != "" && !seen[strings.ToLower(m.Mail)] {
				seen[strings.ToLower(m.Mail)] = true
				to = append(to, m.Mail)
			}
		}
	}
	if len(to) == 0 {
		return
	}
	sort.Strings(to)
	if err := e.d.Mailer.Send(ctx, Mail{To: to, Subject: "resetbot: " + subject, Body: body + "\n"}); err != nil {
		e.d.Log.ErrorContext(ctx, "admin notice failed", "err", err)
	}
}

// GroupMembers lists the (transitive) user members of a directory group; optional.
type GroupMembers interface {
	Members(ctx context.Context, groupID string) ([]Account, error)
}

// PendingChange is a weakening policy change waiting for a second bot admin.
type PendingChange struct {
	Policy      Policy    `json:"policy"`
	BaseVersion int64     `json:"base"`
	Change      string    `json:"change"`
	By          string    `json:"by"`
	At          time.Time `json:"at"`
	Confirmed   bool      `json:"confirmed"` // the requester confirmed with a fresh MFA sign-in
}

// ErrSameAdmin: the admin who asked for a change tried to approve it.
var ErrSameAdmin = errors.New("the same admin cannot approve")

// PendingChanges stores weakening changes until another admin approves them.
type PendingChanges interface {
	ProposeChange(ctx context.Context, c PendingChange) (string, error)
	// PeekChange returns a pending change without taking it.
	PeekChange(ctx context.Context, id string) (PendingChange, error)
	// ConfirmChange marks the change confirmed by its requester.
	ConfirmChange(ctx context.Context, id, by string) error
	// TakeChange removes and returns a confirmed change if approver is not its requester.
	TakeChange(ctx context.Context, id, approver string) (PendingChange, error)
}

func (e *Engine) remindCommand(ctx context.Context, words []string) (string, string, string) {
	if e.d.Campaign == nil || e.d.Reminders == nil {
		return tr(ctx, "admin.no_reminders"), "refused", "no_reminders"
	}
	if len(words) == 1 && strings.EqualFold(words[0], "now") {
		n, err := e.d.Campaign(ctx)
		if err != nil {
			return tr(ctx, "admin.campaign_failed"), "failed", "plan"
		}
		return tr(ctx, "admin.campaign_started", n), "ok", strconv.Itoa(n)
	}
	n, err := e.d.Reminders.Pending(ctx, ReminderQueueName)
	if err != nil {
		return tr(ctx, "admin.queue_unreadable"), "failed", "store"
	}
	return tr(ctx, "admin.scheduled", n), "ok", ""
}

// bannedCommand edits the organisation's banned-password terms: banned add|remove <term>, list.
func (e *Engine) bannedCommand(ctx context.Context, in Inbound, admin Account, p Policy, v int64, words []string) (string, string, string) {
	if len(words) == 0 || strings.EqualFold(words[0], "list") {
		if len(p.BannedTerms) == 0 {
			return tr(ctx, "admin.banned_none"), "ok", "list"
		}
		return tr(ctx, "admin.banned_list", len(p.BannedTerms), strings.Join(p.BannedTerms, ", ")), "ok", "list"
	}
	if len(words) != 2 {
		return tr(ctx, "admin.banned_usage"), "refused", "usage"
	}
	term := strings.ToLower(words[1])
	if n := len(term); n < 4 || n > 50 {
		return tr(ctx, "admin.banned_length"), "refused", "bad_value"
	}
	next := p
	next.BannedTerms = nil
	found := false
	for _, t := range p.BannedTerms {
		if t == term {
			found = true
			continue
		}
		next.BannedTerms = append(next.BannedTerms, t)
	}
	switch strings.ToLower(words[0]) {
	case "add":
		if found {
			return tr(ctx, "admin.banned_already", term), "ok", term
		}
		if len(p.BannedTerms) >= 1000 {
			return tr(ctx, "admin.banned_full"), "refused", "full"
		}
		next.BannedTerms = append(next.BannedTerms, term)
	case "remove":
		if !found {
			return tr(ctx, "admin.banned_missing", term), "refused", term
		}
	default:
		return tr(ctx, "admin.banned_usage"), "refused", "usage"
	}
	if len(Weakens(p, next)) > 0 {
		return e.changePolicy(ctx, in, admin, p, v, next, "banned "+strings.ToLower(words[0])+" "+term)
	}
	nv, err := e.d.Policies.PutPolicy(ctx, next, v)
	if errors.Is(err, ErrStale) {
		return tr(ctx, "admin.stale_again"), "refused", "stale"
	}
	if err != nil {
		return tr(ctx, "admin.not_saved"), "failed", "store"
	}
	e.forgetPolicy()
	return tr(ctx, "admin.banned_done", len(next.BannedTerms), strconv.FormatInt(nv, 10)), "ok", words[0] + " " + term
}

// errText says an error to a bot admin: a catalog message in their language, else as it is.
func errText(ctx context.Context, err error) string {
	if lang := LangFrom(ctx); Lang(lang) != "en" {
		if s, ok := InputText(err, lang); ok {
			return strings.TrimSuffix(s, ".")
		}
	}
	return strings.TrimPrefix(err.Error(), ErrBadRequest.Error()+": ") // English reads mid-sentence
}

// errTexts says each of a joined error's parts (Policy.Validate reports all at once).
func errTexts(ctx context.Context, err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, errTexts(ctx, e)...)
		}
		return out
	}
	return strings.Split(errText(ctx, err), "\n")
}

// weakPrefixes are the weakening reasons that end with a value ("adds group g1").
var weakPrefixes = []string{"adds group ", "adds calling code +", "unbans ", "adds "}

// weakText says the ways a change weakens the policy in the bot admin's language; the reasons
// themselves stay English (they are compared and audited).
func weakText(ctx context.Context, reasons []string) string {
	lang := LangFrom(ctx)
	out := make([]string, len(reasons))
	for i, r := range reasons {
		out[i] = r
		if _, ok := catalogs.Load().msgs["en"][MsgID("weak."+r)]; ok {
			out[i] = Text(lang, MsgID("weak."+r))
			continue
		}
		for _, p := range weakPrefixes {
			if v, ok := strings.CutPrefix(r, p); ok {
				out[i] = Text(lang, MsgID("weak."+p+"%s"), v)
				break
			}
		}
	}
	return strings.Join(out, "; ")
}
