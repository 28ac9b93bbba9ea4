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
	cmd := strings.ToLower(words[0])
	action := "admin:" + cmd
	if len(words) > 1 && cmd == "policy" {
		action += " " + strings.ToLower(words[1])
	}
	if cmd == "verify" {
		// helpdesk agents, who need not be bot admins
		return e.Verify(ctx, in, words[1:])
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
	switch cmd {
	case "report":
		out, file, ev.Outcome, ev.Reason = e.reportCommand(ctx, words[1:])
	case "policy":
		out, ev.Outcome, ev.Reason = e.policyCommand(ctx, in, acct, words[1:])
	case "unblock":
		out, ev.Outcome, ev.Reason = e.unblockCommand(ctx, in, acct, words[1:])
	case "audit":
		out, ev.Outcome, ev.Reason = e.auditCommand(ctx, words[1:])
	case "remind":
		out, ev.Outcome, ev.Reason = e.remindCommand(ctx, words[1:])
	default:
		out, ev.Outcome = adminHelp, "ok"
	}
	e.audit(ctx, ev)
	rs := say(out)
	rs[0].File = file
	return rs, nil
}

const adminHelp = "Bot admin commands:\n" +
	"• policy show\n" +
	"• policy set <setting> <value> (policy show lists the settings)\n" +
	"• policy approve <id> (a second bot admin applies a weakening change)\n" +
	"• unblock <user email or id>\n" +
	"• audit <user email or id>\n" +
	"• remind now (start a registration reminder campaign) and remind (its progress)\n" +
	"• report, or report csv for the per-user list"

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
		return "Usage: unblock <user email or id> (one user that exists in the directory).", "refused", "bad_target"
	}
	if e.o.AdminAuthContext == "" {
		return "Not unblocked: " + stepUpMissing, "refused", "no_auth_context"
	}
	link, err := e.adminLink(ctx, in, admin, "unblock:"+a.ID)
	if err != nil {
		return "Sorry, the confirmation link could not be made.", "failed", "store"
	}
	return fmt.Sprintf("To unblock %s, confirm with a fresh multi-factor sign-in on this one-time page: %s", a.DisplayName, link), "pending", a.ID
}

// AuditReader reads a user's recent security events (optional; the Redis auditor has it).
type AuditReader interface {
	Recent(ctx context.Context, subject string, n int) ([]AuditEvent, error)
	Since(ctx context.Context, since time.Time, fn func(AuditEvent)) error
}

func (e *Engine) auditCommand(ctx context.Context, words []string) (string, string, string) {
	a, err := e.target(ctx, words)
	if err != nil {
		return "Usage: audit <user email or id>.", "refused", "bad_target"
	}
	r, ok := auditAs[AuditReader](e.d.Audit)
	if !ok {
		return "The audit log cannot be read here.", "failed", "no_reader"
	}
	evs, err := r.Recent(ctx, a.ID, 20)
	if err != nil {
		return "Sorry, the audit log could not be read.", "failed", "store"
	}
	if len(evs) == 0 {
		return "No security events for " + a.DisplayName + ".", "ok", a.ID
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Recent security events for %s (newest first):\n", a.DisplayName)
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
	help    string
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

func boolSetting(name, help string, f func(*Policy) *bool, w weakening) setting {
	return setting{name: name, help: help + " (on or off)", weakens: w,
		show: func(p Policy) string { return onOff(*f(&p)) },
		apply: func(p *Policy, v string) error {
			switch strings.ToLower(v) {
			case "on", "true", "yes":
				*f(p) = true
			case "off", "false", "no":
				*f(p) = false
			default:
				return fmt.Errorf("%s takes on or off", name)
			}
			return nil
		}}
}

func intSetting(name, help string, lo, hi int, f func(*Policy) *int, w weakening) setting {
	return setting{name: name, help: fmt.Sprintf("%s (%d to %d)", help, lo, hi), weakens: w,
		show: func(p Policy) string { return strconv.Itoa(*f(&p)) },
		apply: func(p *Policy, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return fmt.Errorf("%s takes a whole number from %d to %d", name, lo, hi)
			}
			*f(p) = n
			return nil
		}}
}

func listSetting(name, help string, f func(*Policy) *[]string, check func(string) bool, w weakening) setting {
	return setting{name: name, help: help + " (comma-separated)", weakens: w,
		show: func(p Policy) string { return strings.Join(*f(&p), ", ") },
		apply: func(p *Policy, v string) error {
			var out []string
			for _, x := range strings.Split(v, ",") {
				if x = strings.TrimSpace(x); x != "" {
					if !check(x) {
						return fmt.Errorf("%q is not valid for %s", x, name)
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
	{name: "enabled_for", help: "who may use self-service (none, selected or all)",
		weakens: when("wider scope", func(old, next Policy) bool { return scopeRank[next.EnabledFor] > scopeRank[old.EnabledFor] }),
		show:    func(p Policy) string { return string(p.EnabledFor) },
		apply: func(p *Policy, v string) error {
			switch EnabledFor(strings.ToLower(v)) {
			case EnabledNone, EnabledSelected, EnabledAll:
				p.EnabledFor = EnabledFor(strings.ToLower(v))
				return nil
			}
			return errors.New("enabled_for takes none, selected or all")
		}},
	listSetting("groups", "directory group ids self-service is enabled for", func(p *Policy) *[]string { return &p.Groups },
		func(s string) bool { return len(s) <= 64 && !strings.ContainsAny(s, " \t") },
		// a group added widens who may self-serve while self-service is for selected groups
		func(old, next Policy) []string {
			if next.EnabledFor != EnabledSelected {
				return nil
			}
			return added("adds group ", func(p Policy) []string { return p.Groups })(old, next)
		}),
	{name: "methods", help: "methods offered: totp, email, sms, voice, questions, passkey (comma-separated)",
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
					return fmt.Errorf("%q is not a method: use totp, email, sms, voice, questions or passkey", x)
				}
				ms = append(ms, m)
			}
			p.Methods = ms
			return nil
		}},
	intSetting("required", "methods a reset needs", 1, 2, func(p *Policy) *int { return &p.Required },
		lowered("fewer methods required", func(p *Policy) *int { return &p.Required })),
	boolSetting("allow_phone_alone", "let SMS or a call alone complete a reset", func(p *Policy) *bool { return &p.AllowPhoneAlone },
		turnedOn("lets SMS or a call alone complete a reset", func(p *Policy) *bool { return &p.AllowPhoneAlone })),
	boolSetting("passkey_alone", "let a user-verifying passkey alone complete a reset (not for privileged users)", func(p *Policy) *bool { return &p.PasskeyAlone },
		turnedOn("lets a passkey alone complete a reset", func(p *Policy) *bool { return &p.PasskeyAlone })),
	boolSetting("require_registration", "remind users until they register", func(p *Policy) *bool { return &p.RequireRegistration },
		never), // reminders only: no one is verified more easily
	intSetting("reconfirm_days", "days before users must reconfirm, 0 never", 0, 730, func(p *Policy) *int { return &p.ReconfirmDays },
		when("longer reconfirmation", func(old, next Policy) bool {
			return old.ReconfirmDays > 0 && (next.ReconfirmDays == 0 || next.ReconfirmDays > old.ReconfirmDays)
		})),
	intSetting("questions_register", "security questions to register", 3, 5, func(p *Policy) *int { return &p.QuestionsToRegister },
		lowered("fewer questions to register", func(p *Policy) *int { return &p.QuestionsToRegister })),
	intSetting("questions_answer", "security questions to answer", 3, 5, func(p *Policy) *int { return &p.QuestionsToAnswer },
		lowered("fewer questions to answer", func(p *Policy) *int { return &p.QuestionsToAnswer })),
	boolSetting("notify_user", "email users when their password is reset", func(p *Policy) *bool { return &p.NotifyUser },
		turnedOff("users are no longer told of a reset", func(p *Policy) *bool { return &p.NotifyUser })),
	boolSetting("notify_admins", "tell all bot admins when a privileged user resets", func(p *Policy) *bool { return &p.NotifyAdmins },
		turnedOff("bot admins are no longer told of privileged resets", func(p *Policy) *bool { return &p.NotifyAdmins })),
	boolSetting("allow_reset", "verified users may reset", func(p *Policy) *bool { return &p.AllowReset },
		turnedOn("lets verified users reset", func(p *Policy) *bool { return &p.AllowReset })),
	boolSetting("allow_unlock", "verified users may unlock", func(p *Policy) *bool { return &p.AllowUnlock },
		turnedOn("lets verified users unlock without a new password", func(p *Policy) *bool { return &p.AllowUnlock })),
	{name: "reset_mode", help: "user_chosen, temporary or tap",
		weakens: never, // each mode comes only after the same proofs, on the one-time page
		show:    func(p Policy) string { return string(p.ResetMode) },
		apply: func(p *Policy, v string) error {
			switch ResetMode(strings.ToLower(v)) {
			case ResetUserChosen, ResetTemporary, ResetTAP:
				p.ResetMode = ResetMode(strings.ToLower(v))
				return nil
			}
			return errors.New("reset_mode takes user_chosen, temporary or tap")
		}},
	boolSetting("revoke_sessions", "sign users out everywhere after a reset", func(p *Policy) *bool { return &p.RevokeSessions },
		turnedOff("sessions are no longer signed out after a reset", func(p *Policy) *bool { return &p.RevokeSessions })),
	intSetting("fail_max", "failed proofs in 24 hours before a block", 1, 50, func(p *Policy) *int { return &p.Limits.FailMax },
		raised("looser attempt limits", func(p *Policy) *int { return &p.Limits.FailMax })),
	intSetting("tries_max", "tries on one method in an hour before a block", 1, 50, func(p *Policy) *int { return &p.Limits.TriesMax },
		raised("looser attempt limits", func(p *Policy) *int { return &p.Limits.TriesMax })),
	intSetting("send_max", "codes sent in 10 minutes", 1, 100, func(p *Policy) *int { return &p.Limits.SendMax },
		raised("looser attempt limits", func(p *Policy) *int { return &p.Limits.SendMax })),
	{name: "block_hours", help: "hours a block lasts (1 to 168)",
		weakens: when("looser attempt limits", func(old, next Policy) bool { return next.Limits.BlockFor < old.Limits.BlockFor }),
		show:    func(p Policy) string { return strconv.Itoa(int(p.Limits.BlockFor / time.Hour)) },
		apply: func(p *Policy, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 168 {
				return errors.New("block_hours takes a whole number from 1 to 168")
			}
			p.Limits.BlockFor = time.Duration(n) * time.Hour
			return nil
		}},
	{name: "helpdesk_url", help: "the link shown whenever the bot cannot help (https)",
		weakens: never, // where people are sent when the bot cannot help; every change is audited
		show:    func(p Policy) string { return p.HelpdeskURL },
		apply: func(p *Policy, v string) error {
			u, err := url.Parse(v)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				return errors.New("helpdesk_url takes an https link")
			}
			p.HelpdeskURL = v
			return nil
		}},
	listSetting("phone_countries", "calling codes phone numbers may be in", func(p *Policy) *[]string { return &p.PhoneCountries },
		func(s string) bool { return len(s) <= 3 && strings.Trim(s, "0123456789") == "" && s[0] != '0' },
		// more people may register a phone, in countries whose numbers may be easier to take over
		added("adds calling code +", func(p Policy) []string { return p.PhoneCountries })),
	boolSetting("directory_methods", "offer the directory's own phone and email methods", func(p *Policy) *bool { return &p.DirectoryMethods },
		turnedOn("offers the directory's own methods", func(p *Policy) *bool { return &p.DirectoryMethods })),
	{name: "custom_questions", help: "extra security questions, separated by |",
		weakens: never, // more questions to choose from; how many must be answered is questions_answer
		show:    func(p Policy) string { return strings.Join(p.CustomQuestions, " | ") },
		apply: func(p *Policy, v string) error {
			var qs []string
			for _, q := range strings.Split(v, "|") {
				if q = strings.TrimSpace(q); q == "" {
					continue
				}
				if len(q) < 10 || len(q) > 120 || !strings.HasSuffix(q, "?") {
					return fmt.Errorf("each custom question needs 10 to 120 characters and a question mark: %q", q)
				}
				qs = append(qs, q)
			}
			if len(qs) > 20 {
				return errors.New("at most 20 custom questions")
			}
			p.CustomQuestions = qs
			return nil
		}},
	intSetting("remind_every_days", "days between reminders", 1, 30, func(p *Policy) *int { return &p.RemindEveryDays }, never),
	intSetting("manager_after", "tell a user's manager after this many reminders, 0 never", 0, 20, func(p *Policy) *int { return &p.ManagerAfter }, never),
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
		r, ok := e.d.Directory.(GroupResolver)
		if !ok {
			return "", fmt.Errorf("give group ids: the directory cannot look up %q by name", g)
		}
		id, err := r.ResolveGroup(ctx, g)
		if err != nil {
			return "", fmt.Errorf("no single group is named %q", g)
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

// ShowPolicy renders the policy with its version.
func ShowPolicy(p Policy, version int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Self-service policy, version %d:\n", version)
	for _, s := range settings {
		fmt.Fprintf(&b, "• %s = %s  — %s\n", s.name, s.show(p), s.help)
	}
	return b.String()
}

func (e *Engine) policyCommand(ctx context.Context, in Inbound, admin Account, words []string) (string, string, string) {
	p, v, err := e.d.Policies.GetPolicy(ctx)
	if err != nil {
		return "Sorry, the policy could not be read.", "failed", "store"
	}
	if len(words) == 0 || strings.EqualFold(words[0], "show") {
		return ShowPolicy(p, v), "ok", ""
	}
	switch strings.ToLower(words[0]) {
	case "banned":
		return e.bannedCommand(ctx, in, admin, p, v, words[1:])
	case "set":
		if len(words) < 3 {
			return "Usage: policy set <setting> <value>. policy show lists the settings.", "refused", "usage"
		}
		return e.policySet(ctx, in, admin, p, v, words[1], strings.Join(words[2:], " "))
	case "approve":
		if len(words) != 2 {
			return "Usage: policy approve <id>.", "refused", "usage"
		}
		return e.policyApprove(ctx, in, admin, words[1])
	}
	return adminHelp, "refused", "usage"
}

func (e *Engine) policySet(ctx context.Context, in Inbound, admin Account, p Policy, v int64, name, value string) (string, string, string) {
	s, ok := findSetting(name)
	if !ok {
		var names []string
		for _, s := range settings {
			names = append(names, s.name)
		}
		return "Unknown setting " + strconvQuote(name) + ". Settings: " + strings.Join(names, ", ") + ".", "refused", "unknown_setting"
	}
	if s.name == "groups" {
		resolved, err := e.resolveGroups(ctx, value)
		if err != nil {
			return "Not changed: " + err.Error() + ".", "refused", "bad_value"
		}
		value = resolved
	}
	next := p
	next.Methods = append([]MethodKind(nil), p.Methods...)
	next.Groups = append([]string(nil), p.Groups...)
	next.PhoneCountries = append([]string(nil), p.PhoneCountries...)
	if err := s.apply(&next, value); err != nil {
		return "Not changed: " + err.Error() + ".", "refused", "bad_value"
	}
	if err := next.Validate(); err != nil {
		return "Not changed: the policy would be invalid:\n• " + strings.ReplaceAll(err.Error(), "\n", "\n• "), "refused", "invalid"
	}
	return e.changePolicy(ctx, in, admin, p, v, next, s.name+" = "+s.show(next))
}

// changePolicy applies an admin's change of the policy from p (version v) to next, or, when the
// change weakens the policy, records it for a confirmation and a second admin's approval.
func (e *Engine) changePolicy(ctx context.Context, in Inbound, admin Account, p Policy, v int64, next Policy, change string) (string, string, string) {
	if w := Weakens(p, next); len(w) > 0 {
		if e.o.AdminAuthContext == "" {
			return "Not changed: this change weakens the policy (" + strings.Join(w, "; ") + "). " + stepUpMissing, "refused", "no_auth_context"
		}
		id, err := e.d.Pending.ProposeChange(ctx, PendingChange{Policy: next, BaseVersion: v, Change: change, By: admin.ID, At: e.d.Clock.Now()})
		if err != nil {
			return "Sorry, the change could not be recorded.", "failed", "store"
		}
		link, err := e.adminLink(ctx, in, admin, "confirm:"+id)
		if err != nil {
			return "Sorry, the confirmation link could not be made.", "failed", "store"
		}
		return fmt.Sprintf("This change weakens the policy (%s). Confirm it with a fresh multi-factor sign-in on this one-time page: %s\n"+
			"Then a second bot admin must approve it with \"policy approve %s\". Nothing changed yet.", strings.Join(w, "; "), link, id), "pending", change
	}
	nv, err := e.d.Policies.PutPolicy(ctx, next, v)
	if errors.Is(err, ErrStale) {
		return "Not changed: another bot admin changed the policy at the same time. Run policy show and try again.", "refused", "stale"
	}
	if err != nil {
		return "Sorry, the change could not be saved.", "failed", "store"
	}
	e.forgetPolicy()
	return fmt.Sprintf("Done: %s (policy version %d).", change, nv), "ok", change
}

func (e *Engine) policyApprove(ctx context.Context, in Inbound, admin Account, id string) (string, string, string) {
	if e.o.AdminAuthContext == "" {
		return "Not approved: " + stepUpMissing, "refused", "no_auth_context"
	}
	pc, err := e.d.Pending.PeekChange(ctx, id)
	switch {
	case err != nil:
		return "There is no pending change " + strconvQuote(id) + " (it may have been approved already or expired).", "refused", "unknown_pending"
	case pc.By == admin.ID:
		return "A different bot admin must approve a change you asked for.", "refused", "same_admin"
	case !pc.Confirmed:
		return "That change is not confirmed yet: the bot admin who asked for it must first sign in on their confirmation page.", "refused", "unconfirmed"
	}
	link, err := e.adminLink(ctx, in, admin, "approve:"+id)
	if err != nil {
		return "Sorry, the confirmation link could not be made.", "failed", "store"
	}
	return fmt.Sprintf("To approve %s, confirm with a fresh multi-factor sign-in on this one-time page: %s", pc.Change, link), "pending", pc.Change
}

// ErrNeedMFA: a bot admin's confirmation needs a multi-factor sign-in.
var ErrNeedMFA = errors.New("multi-factor sign-in required")

// stepUpMissing tells a bot admin why an action that needs a multi-factor confirmation cannot be
// done, and how the deployment enables it (README: "Bot-admin step-up").
const stepUpMissing = "It needs a confirmation with a fresh multi-factor sign-in, and this deployment has no " +
	"Conditional Access authentication context for it. To enable it, a tenant admin creates an authentication context " +
	"(e.g. c1) and a Conditional Access policy for it that requires multi-factor authentication with sign-in frequency " +
	"\"every time\", adds the acrs optional claim to the bot's app registration, and the deployment sets ADMIN_AUTH_CONTEXT=c1 " +
	"(README, \"Bot-admin step-up\")."

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
		e.announceAdmins(ctx, "Policy change waiting for approval", fmt.Sprintf("%s asked to weaken the self-service policy: %s. "+
			"Another bot admin can apply it with: policy approve %s", acct.DisplayName, pc.Change, arg))
		msg = "Confirmed. A second bot admin must now approve it with \"policy approve " + arg + "\"; all bot admins were told."
	case "approve":
		pc, err := e.d.Pending.TakeChange(ctx, arg, acct.ID)
		if err != nil {
			return "", ErrLinkGone
		}
		nv, err := e.d.Policies.PutPolicy(ctx, pc.Policy, pc.BaseVersion)
		if errors.Is(err, ErrStale) {
			return "Not applied: the policy changed since this was asked for. Ask again with policy set.", nil
		}
		if err != nil {
			return "", err
		}
		e.forgetPolicy()
		e.announceAdmins(ctx, "Policy weakened", fmt.Sprintf("%s approved a weakening policy change: %s (policy version %d).", acct.DisplayName, pc.Change, nv))
		msg = fmt.Sprintf("Approved and applied: %s (policy version %d).", pc.Change, nv)
	case "unblock":
		target, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: arg})
		if err != nil {
			return "", ErrLinkGone
		}
		if err := e.Unblock(ctx, ws.ChatKey, target.ID); err != nil {
			return "", err
		}
		pol := e.policyOrDefault(ctx, "unblock notice")
		e.mailUser(ctx, target, "You can use password self-service again",
			fmt.Sprintf("Hello %s,\n\na bot admin cleared the block on your password self-service. You can ask the bot again.\n\n"+
				"If you did not ask for this, contact the helpdesk: %s\n", target.DisplayName, pol.HelpdeskURL))
		msg = target.DisplayName + " can use self-service again: the block and the attempt counters are cleared, and they were told by email."
	default:
		return "", ErrLinkGone
	}
	ev.Outcome = "ok"
	e.audit(ctx, ev)
	if e.d.Notifier != nil {
		if chat, ok := parseChatKey(ws.ChatKey); ok {
			_ = e.d.Notifier.Notify(ctx, chat, []Reply{{MsgID: MsgAdmin, Text: msg, Private: true}})
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

// announceAdmins tells every bot admin by email (the members of the admin groups) and logs.
func (e *Engine) announceAdmins(ctx context.Context, subject, body string) {
	e.d.Log.WarnContext(ctx, "bot admin notice", "subject", subject)
	if e.d.Alerts != nil {
		e.d.Alerts.Alert(ctx, AuditEvent{Time: e.d.Clock.Now(), Action: "policy", Outcome: "notice"}, body)
	}
	e.mailAdmins(ctx, subject, body)
}

// mailAdmins emails every bot admin (the members of the admin groups).
func (e *Engine) mailAdmins(ctx context.Context, subject, body string) {
	lister, ok := e.d.Directory.(GroupMembers)
	if !ok || e.d.Mailer == nil {
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
		return "Reminders are not set up in this deployment.", "refused", "no_reminders"
	}
	if len(words) == 1 && strings.EqualFold(words[0], "now") {
		n, err := e.d.Campaign(ctx)
		if err != nil {
			return "Sorry, the campaign could not be planned: the directory or chat platform did not answer.", "failed", "plan"
		}
		return fmt.Sprintf("Reminder campaign started: %d people have not registered (or must reconfirm) and will get a direct message, outside their quiet hours.", n), "ok", strconv.Itoa(n)
	}
	n, err := e.d.Reminders.Pending(ctx, ReminderQueueName)
	if err != nil {
		return "Sorry, the reminder queue could not be read.", "failed", "store"
	}
	return fmt.Sprintf("%d people are scheduled for a reminder. Type \"remind now\" to start a campaign.", n), "ok", ""
}

// bannedCommand edits the organisation's banned-password terms: banned add|remove <term>, list.
func (e *Engine) bannedCommand(ctx context.Context, in Inbound, admin Account, p Policy, v int64, words []string) (string, string, string) {
	if len(words) == 0 || strings.EqualFold(words[0], "list") {
		if len(p.BannedTerms) == 0 {
			return "No custom banned terms yet. Add one with: policy banned add <term>", "ok", "list"
		}
		return fmt.Sprintf("%d custom banned terms: %s", len(p.BannedTerms), strings.Join(p.BannedTerms, ", ")), "ok", "list"
	}
	if len(words) != 2 {
		return "Usage: policy banned add <term>, policy banned remove <term>, policy banned list.", "refused", "usage"
	}
	term := strings.ToLower(words[1])
	if n := len(term); n < 4 || n > 50 {
		return "A banned term needs 4 to 50 characters.", "refused", "bad_value"
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
			return "\"" + term + "\" is already banned.", "ok", term
		}
		if len(p.BannedTerms) >= 1000 {
			return "Not added: the list already has 1,000 terms, the most it can hold.", "refused", "full"
		}
		next.BannedTerms = append(next.BannedTerms, term)
	case "remove":
		if !found {
			return "\"" + term + "\" is not on the list.", "refused", term
		}
	default:
		return "Usage: policy banned add <term>, policy banned remove <term>, policy banned list.", "refused", "usage"
	}
	if len(Weakens(p, next)) > 0 {
		return e.changePolicy(ctx, in, admin, p, v, next, "banned "+strings.ToLower(words[0])+" "+term)
	}
	nv, err := e.d.Policies.PutPolicy(ctx, next, v)
	if errors.Is(err, ErrStale) {
		return "Not changed: another bot admin changed the policy at the same time. Try again.", "refused", "stale"
	}
	if err != nil {
		return "Sorry, the change could not be saved.", "failed", "store"
	}
	e.forgetPolicy()
	return fmt.Sprintf("Done: %d custom banned terms (policy version %d).", len(next.BannedTerms), nv), "ok", words[0] + " " + term
}
