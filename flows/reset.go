package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// PasswordError says in plain words why a new password was refused: Parts are catalog
// messages, rendered in the reader's language by Text; Reason is the English text (logs, tests).
type PasswordError struct {
	Reason string
	Parts  []Msg
}

// Msg is a catalog message with its arguments, rendered later in the reader's language.
type Msg struct {
	ID   MsgID
	Args []any
}

// PasswordRefused makes a PasswordError of catalog messages, read one after the other.
func PasswordRefused(parts ...Msg) *PasswordError {
	return &PasswordError{Reason: joinMsgs("en", parts), Parts: parts}
}

// Text is the reason in the locale's language.
func (e *PasswordError) Text(locale string) string {
	if len(e.Parts) == 0 {
		return e.Reason
	}
	return joinMsgs(locale, e.Parts)
}

func joinMsgs(locale string, parts []Msg) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = Text(locale, p.ID, p.Args...)
	}
	return strings.Join(out, " ")
}

func (e *PasswordError) Error() string { return "password refused: " + e.Reason }

// The rules of the new-password page's checklist (data-rule): the page ticks the first four as
// the person types, by the same definitions as CheckPassword and CheckNewPassword; the server
// alone checks RuleCommon (banned terms, the person's name, the directory's history and rules).
const (
	RuleLength  = "length"  // the minimum (the bot's or the directory's) up to 256 characters
	RuleClasses = "classes" // three of lowercase, uppercase, digits, symbols
	RuleCharset = "charset" // only the characters Entra accepts
	RuleSame    = "same"    // the same in both boxes
	RuleCommon  = "common"  // not guessable, not the name, not a recent one: checked on submit
)

// Rule is the checklist rule the refusal is about.
func (e *PasswordError) Rule() string {
	if len(e.Parts) == 0 {
		return RuleCommon // the directory's own refusal
	}
	switch e.Parts[0].ID {
	case "pw.not_same":
		return RuleSame
	case "pw.min_length", "pw.min_length_of", "pw.max_length":
		return RuleLength
	case "pw.classes":
		return RuleClasses
	case "pw.charset", "pw.control":
		return RuleCharset
	}
	return RuleCommon
}

// CheckPassword applies the rules checked before the directory is called.
func CheckPassword(pw, confirm string) error {
	if pw != confirm {
		return PasswordRefused(Msg{ID: "pw.not_same"})
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength {
		return PasswordRefused(Msg{ID: "pw.min_length", Args: []any{MinPasswordLength}})
	}
	if n > 256 {
		return PasswordRefused(Msg{ID: "pw.max_length", Args: []any{256}})
	}
	classes := 0
	var lower, upper, digit, other bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case r < 0x20 || r == 0x7f:
			return PasswordRefused(Msg{ID: "pw.control"})
		default:
			other = true
		}
	}
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			classes++
		}
	}
	if classes < 3 {
		return PasswordRefused(Msg{ID: "pw.classes"})
	}
	return nil
}

// ResetView is what the new-password page may show for a live link.
type ResetView struct {
	Mode ResetMode // user_chosen: the user types a password; otherwise one is issued after a POST
	// Rules are the rules the new password must meet, shown before typing: the bot's own
	// (8 characters, three kinds) raised to the person's directory rules (AD: their
	// fine-grained policy or the domain's).
	Rules PasswordRules
}

// MinPasswordLength is the bot's own minimum, whatever the directory allows.
const MinPasswordLength = 8

// OpenReset checks a reset link for the page (GET); it consumes nothing.
func (e *Engine) OpenReset(ctx context.Context, token string) (ResetView, error) {
	v, err := e.OpenLink(ctx, token)
	if err != nil {
		return ResetView{}, ErrLinkGone
	}
	return e.ResetOf(ctx, v, true)
}

// ResetOf is what the new-password page may show for a link OpenLink opened in the same
// request, without reading the link again (it consumes nothing; the POST that sets or issues the
// password reads and consumes the link in one atomic step). Without withRules the view leaves
// the rules out: a POST needs only the mode, and an AD user's rules take a directory search.
func (e *Engine) ResetOf(ctx context.Context, v LinkView, withRules bool) (ResetView, error) {
	if v.Session == nil || v.Purpose != PurposeReset || v.Session.State != StateResetLink {
		return ResetView{}, ErrLinkGone
	}
	pol, err := e.policy(ctx)
	if err != nil {
		return ResetView{}, err
	}
	rv := ResetView{Mode: pol.ResetMode, Rules: PasswordRules{MinLength: MinPasswordLength, Complexity: true, Source: "resetbot"}}
	if pol.ResetMode == ResetUserChosen && withRules {
		rv.Rules = e.passwordRules(ctx, v.UserID)
	}
	return rv, nil
}

// ResetPassword consumes a reset link (POST) and sets the password the user chose.
func (e *Engine) ResetPassword(ctx context.Context, token, pw, confirm string) error {
	if _, err := e.policy(ctx); err != nil {
		return err // never a link's answer when the policy is unknown
	}
	v, err := e.OpenLink(ctx, token)
	if err != nil {
		return ErrLinkGone
	}
	return e.ResetPasswordOf(ctx, v, token, pw, confirm)
}

// ResetPasswordOf is ResetPassword of the link v, read by OpenLink(token) earlier in the same
// request (the page's POST reads it once to learn its purpose): the link is consumed as read,
// in the atomic script that refuses it if anything changed since.
func (e *Engine) ResetPasswordOf(ctx context.Context, link LinkView, token, pw, confirm string) error {
	ctx = WithUserWaiting(ctx)
	pol, err := e.policy(ctx)
	if err != nil {
		return err
	}
	if pol.ResetMode != ResetUserChosen {
		return ErrBadRequest
	}
	if err := CheckPassword(pw, confirm); err != nil {
		return err
	}
	_, uid, err := parseToken(token)
	if err != nil || uid != link.UserID {
		return ErrLinkGone
	}
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: uid})
	if err != nil {
		return ErrLinkGone
	}
	if err := e.checkNewPassword(ctx, acct, pol, pw, confirm); err != nil {
		return err
	}
	// the link is consumed, and the new password's record kept, in one atomic step before the
	// directory is asked: two submissions never race; a refusal puts the record back
	v, kept, err := e.consumeKeeping(ctx, link, uid, pw)
	if err != nil {
		return err
	}
	if v.Session.State != StateResetLink {
		e.unkeep(ctx, kept, v.UserID)
		return ErrLinkGone
	}
	if err := e.d.Directory.SetPassword(ctx, v.UserID, pw, false); err != nil {
		e.unkeep(ctx, kept, v.UserID)
		e.audit(ctx, AuditEvent{Time: e.d.Clock.Now(), Actor: v.Session.Chat.Key(), Subject: v.UserID, Platform: v.Session.Chat.Platform,
			Action: string(v.Session.Flow), Outcome: "failed", Reason: "directory"})
		var pe *PasswordError
		if errors.As(err, &pe) {
			return e.keepLink(ctx, token, v, pol, pe)
		}
		return fmt.Errorf("%w: %v", ErrDirectory, err)
	}
	e.kept(ctx, kept, v.UserID, pw)
	// what the work after the reply needs, in one value: the closure capturing acct, pol and v
	// themselves put each on the heap from its declaration, on every path
	after := &struct {
		acct Account
		pol  Policy
		sess *Session
		mail *string
	}{acct, pol, v.Session, kept.registeredMail()}
	e.later(ctx, func(ctx context.Context) {
		e.afterReset(ctx, after.acct, after.sess, after.pol, string(ResetUserChosen), after.mail)
	})
	return nil
}

// MethodNewPassword names the tries of new passwords on the person's attempt counters.
const MethodNewPassword MethodKind = "new_password"

// keepLink gives a reset link back after the directory refused the new password (its history,
// or rules that changed since they were shown), so the person can choose another one until
// the link expires, without proving themselves again. Each refusal counts on the person's
// limits like a wrong code (the same counters, across every session): at the limit self-service
// is blocked and the link stays used. The link was consumed before the directory was asked,
// so two submissions never race; it comes back bound to the session saved again.
func (e *Engine) keepLink(ctx context.Context, token string, v LinkView, pol Policy, pe *PasswordError) error {
	now := e.d.Clock.Now()
	out, err := e.d.Sessions.Commit(ctx, Commit{Subject: v.UserID, ChatKey: v.Record.ChatKey, Now: now, KeepSession: true,
		Attempt: &Attempt{Method: MethodNewPassword, Limits: pol.Limits}})
	if err != nil {
		e.d.Log.ErrorContext(ctx, "a refused password was not counted; the link stays used", "err", err)
		return pe
	}
	if out.Status == Blocked || !out.BlockedUntil.IsZero() {
		return ErrBlocked
	}
	if !now.Before(v.Record.ExpiresAt) || v.Session.Expired(now) {
		return pe
	}
	sess := *v.Session
	sess.Version = 1 // consuming the link deleted the session: it is saved again from nothing
	out, err = e.d.Sessions.Commit(ctx, Commit{Subject: v.UserID, ChatKey: v.Record.ChatKey, Now: now, Session: &sess,
		Link: &LinkGrant{Purpose: PurposeReset, MAC: linkMAC(e.d.MAC, token), ExpiresAt: v.Record.ExpiresAt}})
	if err != nil || out.Status != Committed {
		e.d.Log.WarnContext(ctx, "the reset link could not be given back", "err", err, "status", out.Status)
	}
	return pe
}

// checkNewPassword applies the rules a new password must meet after CheckPassword: the
// directory's minimum, the characters, then the banned terms and the person's name. The rules
// the page's checklist ticks come first, so a password that misses one of them is refused for
// one of them, as the page shows it.
func (e *Engine) checkNewPassword(ctx context.Context, acct Account, pol Policy, pw, confirm string) error {
	if err := CheckPassword(pw, confirm); err != nil {
		return err
	}
	if err := e.directoryRules(ctx, acct.ID, pw); err != nil {
		return err
	}
	return CheckNewPassword(pw, confirm, e.bannedLists(pol), personalTerms(acct))
}

// directoryRules applies the directory's own password rules (AD's domain policy), so a password
// it would refuse gets a plain reason before the directory is asked.
func (e *Engine) directoryRules(ctx context.Context, userID, pw string) error {
	src := e.caps.Rules
	if src == nil {
		return nil
	}
	r, err := src.PasswordRules(ctx, userID)
	if err != nil {
		e.d.Log.WarnContext(ctx, "directory password rules unknown; the directory will judge", "err", err)
		return nil
	}
	if n := utf8.RuneCountInString(pw); r.MinLength > 0 && n < r.MinLength {
		return PasswordRefused(Msg{ID: "pw.min_length_of", Args: []any{r.MinLength, r.Source}})
	}
	return nil
}

// afterReset runs after the page answered: it audits, signs the user out everywhere (when the policy says so), tells them by
// email and in chat (with a "This wasn't me" button) and tells the bot admins when a privileged
// user reset. registered, when not nil, is the email address registered as a method, read
// earlier in the same request (with the link's consumption).
func (e *Engine) afterReset(ctx context.Context, acct Account, sess *Session, pol Policy, how string, registered *string) {
	e.audit(ctx, AuditEvent{Time: e.d.Clock.Now(), Actor: sess.Chat.Key(), Subject: acct.ID, Platform: sess.Chat.Platform,
		Action: string(sess.Flow), Outcome: "ok", Reason: how})
	if pol.RevokeSessions {
		if err := e.d.Directory.RevokeSessions(ctx, acct.ID); err != nil {
			e.d.Log.ErrorContext(ctx, "revoke sessions failed", "err", err, "user", acct.ID)
		}
	}
	var n noticeFacts
	if pol.NotifyUser {
		n = e.resetNotices(ctx, acct, pol, sess.Chat, registered)
		e.noticeReset(ctx, acct, pol, sess.Flow == FlowChange, n)
	}
	if acct.Privileged && pol.NotifyAdmins {
		e.announceAdmins(ctx, "privileged_reset", acct.DisplayName, acct.UPN, how)
	}
	if e.d.Notifier != nil {
		for _, chat := range e.noticeChats(ctx, acct.ID, sess.Chat) {
			if chat.Locale == "" {
				if n.lang == "" {
					n.lang, n.loc = e.noticeLocale(ctx, acct, pol)
				}
				chat.Locale = n.lang
			}
			r := Reply{MsgID: MsgPasswordChanged, Text: Text(chat.Locale, MsgPasswordChanged), Private: true,
				Choices: []Choice{{ID: "x:notme|" + acct.ID + "|0", Label: Text(chat.Locale, "button.not_me")}}}
			if err := e.notify(ctx, acct.ID, chat, []Reply{r}); err != nil {
				e.d.Log.ErrorContext(ctx, "chat notice failed", "err", err)
			}
		}
	}
}

// ChatIndex lists the chat identities pinned to a directory user (the Redis store has it).
type ChatIndex interface {
	ChatsOf(ctx context.Context, userID string) ([]string, error)
}

// noticeChats is where a reset is announced in chat: the chat it happened in, or, for the web
// recovery page, every chat identity the person has used with the bot (none: email only).
func (e *Engine) noticeChats(ctx context.Context, userID string, from ChatRef) []ChatRef {
	if from.Platform != RecoverPlatform {
		return []ChatRef{from}
	}
	idx, ok := e.d.Enrollments.(ChatIndex)
	if !ok {
		return nil
	}
	keys, err := idx.ChatsOf(ctx, userID)
	if err != nil {
		e.d.Log.WarnContext(ctx, "chats of a user unknown: the reset is announced by email only", "err", err, "user", userID)
		return nil
	}
	var out []ChatRef
	for _, k := range keys {
		if c, ok := parseChatKey(k); ok && c.Platform != RecoverPlatform {
			c.Locale = from.Locale
			out = append(out, c)
		}
	}
	return out
}

// notMe handles "This wasn't me" after a reset: sessions revoked again, self-service blocked,
// bot admins alerted.
func (e *Engine) notMe(ctx context.Context, s *step) {
	now := s.now
	if err := e.d.Directory.RevokeSessions(ctx, s.acct.ID); err != nil {
		e.d.Log.ErrorContext(ctx, "revoke sessions failed", "err", err, "user", s.acct.ID)
	}
	if err := e.d.Enrollments.Block(ctx, s.acct.ID, now.Add(s.pol.Limits.BlockFor)); err != nil {
		e.d.Log.ErrorContext(ctx, "block failed", "err", err, "user", s.acct.ID)
	}
	s.audit("not_me", "ok", "reset disowned")
	e.announceAdmins(ctx, "not_me", s.acct.DisplayName, s.acct.UPN)
	s.say(MsgNotMe, s.pol.HelpdeskURL)
}

// noticeFacts is what the notices after a reset say and where: their language and time zone,
// and the email address the person registered as a method (the email goes there too).
type noticeFacts struct {
	lang       string
	loc        *time.Location
	registered string
}

// resetNotices reads what the email notice after a reset needs, in one round trip at most, none
// when the registered address was read already (registered not nil). A reset that began in a
// chat that says its language takes that language and the chat's time zone (UTC when the
// platform says none): they are the pair the chat's own steps keep for notices (Commit.Locale),
// so reading the kept pair back would only repeat them. Otherwise (the change page, the web
// recovery page, a platform that says no language) the kept pair is read, with the enrollment
// when the store can read both at once.
func (e *Engine) resetNotices(ctx context.Context, a Account, pol Policy, from ChatRef, registered *string) noticeFacts {
	var n noticeFacts
	readMail := e.d.Mailer != nil && registered == nil // the registered address is still to read
	if registered != nil {
		n.registered = *registered
	}
	if from.Platform != RecoverPlatform && from.Locale != "" {
		if n.lang = LangFrom(ctx); n.lang == "" {
			n.lang = Lang(from.Locale)
		}
		n.loc = from.Location()
	} else if both, ok := e.d.Locales.(EnrolledLocales); ok && readMail && a.ID != "" {
		en, l, err := both.EnrollmentAndLocale(ctx, a.ID)
		if err != nil {
			e.d.Log.WarnContext(ctx, "person's language or registered address unknown", "err", err, "user", a.ID)
		}
		n.registered = registeredMail(en, err)
		n.lang, n.loc = e.localeOf(ctx, l, pol)
		return n
	} else {
		n.lang, n.loc = e.noticeLocale(ctx, a, pol)
	}
	if readMail {
		en, err := e.d.Enrollments.Get(ctx, a.ID)
		n.registered = registeredMail(en, err)
	}
	return n
}

// noticeReset mails the person that their password was reset, or changed (the expiry page's
// "Change it now", where they chose it knowing the old one).
func (e *Engine) noticeReset(ctx context.Context, a Account, pol Policy, changed bool, n noticeFacts) {
	key := "mail.reset"
	if changed {
		key = "mail.change"
	}
	e.mailUserAt(ctx, a, n.registered, Text(n.lang, MsgID(key+".subject")), Text(n.lang, MsgID(key+".body"), a.DisplayName,
		FormatWhen(n.lang, e.d.Clock.Now(), n.loc), pol.HelpdeskURL))
}

// personalTerms are the user's own names, which a password may not be built from.
func personalTerms(a Account) []string {
	out := strings.Fields(a.DisplayName)
	for _, addr := range []string{a.UPN, a.Mail} {
		if local, _, ok := strings.Cut(addr, "@"); ok {
			out = append(out, local)
			out = append(out, strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' })...)
		}
	}
	return out
}

// bannedLists are the built-in list and the policy's own terms.
func (e *Engine) bannedLists(pol Policy) []*BannedList {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.custom == nil || strings.Join(e.customOf, "\x00") != strings.Join(pol.BannedTerms, "\x00") {
		e.custom, e.customOf = NewBannedList(pol.BannedTerms), pol.BannedTerms
	}
	return []*BannedList{e.d.Banned, e.custom}
}

// TAPIssuer issues Temporary Access Passes (Entra ID); optional.
type TAPIssuer interface {
	IssueTAP(ctx context.Context, userID string, lifetime time.Duration) (string, error)
}

// TAPLifetime is how long an issued Temporary Access Pass works.
const TAPLifetime = time.Hour

// tempAlphabet avoids look-alike characters.
const tempAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// TemporaryPassword draws a 16-character password with all four kinds of character.
func TemporaryPassword(r Random) (string, error) {
	for {
		b := make([]byte, 14)
		if _, err := r.Read(b); err != nil {
			return "", err
		}
		out := make([]byte, 0, 16)
		for _, c := range b {
			out = append(out, tempAlphabet[int(c)%len(tempAlphabet)])
		}
		pw := string(out[:7]) + "-" + string(out[7:]) + "!"
		if CheckPassword(pw, pw) == nil && strings.IndexAny(pw, "23456789") >= 0 {
			return pw, nil
		}
	}
}

// IssueTemporary consumes a reset link (POST) and, by the policy's reset mode, sets a generated
// temporary password that must be changed at the next sign-in, or issues a Temporary Access
// Pass. The secret is returned for the page to show once; it is never stored or sent to chat.
func (e *Engine) IssueTemporary(ctx context.Context, token string) (secret string, mode ResetMode, err error) {
	ctx = WithUserWaiting(ctx)
	pol, err := e.policy(ctx)
	if err != nil {
		return "", "", err
	}
	if pol.ResetMode == ResetUserChosen {
		return "", pol.ResetMode, ErrBadRequest
	}
	v, err := e.consumeLink(ctx, token, PurposeReset, nil)
	if err != nil {
		return "", pol.ResetMode, err
	}
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: v.UserID})
	if err != nil {
		return "", pol.ResetMode, fmt.Errorf("flows: lookup: %w", err)
	}
	switch pol.ResetMode {
	case ResetTAP:
		tap := e.caps.TAPs
		if tap == nil {
			return "", pol.ResetMode, fmt.Errorf("flows: the directory cannot issue a Temporary Access Pass")
		}
		if secret, err = tap.IssueTAP(ctx, v.UserID, TAPLifetime); err != nil {
			return "", pol.ResetMode, err
		}
	default:
		if secret, err = TemporaryPassword(e.d.Rand); err != nil {
			return "", pol.ResetMode, err
		}
		if err := e.d.Directory.SetPassword(ctx, v.UserID, secret, true); err != nil {
			return "", pol.ResetMode, fmt.Errorf("%w: %v", ErrDirectory, err)
		}
	}
	// a temporary password or pass shown on the page is as secret as a chosen one
	e.keepNewPassword(ctx, v.UserID, secret)
	e.later(ctx, func(ctx context.Context) { e.afterReset(ctx, acct, v.Session, pol, string(pol.ResetMode), nil) })
	return secret, pol.ResetMode, nil
}

// InputError is a bad request whose reason a person can act on, in the catalog's words; it
// wraps ErrBadRequest. Field names the form field it is about ("address", "q", "a"), Slot
// which of a numbered field's entries (from 0), so a page can say which and keep the rest.
type InputError struct {
	Msg
	Field string
	Slot  int
}

func (e *InputError) Error() string {
	s := strings.TrimSuffix(Text("en", e.ID, e.Args...), ".")
	if r := []rune(s); len(r) > 1 && unicode.IsUpper(r[0]) && !unicode.IsUpper(r[1]) {
		s = string(unicode.ToLower(r[0])) + string(r[1:]) // "Choose …" → "choose …", but "SMS …" stays
	}
	return ErrBadRequest.Error() + ": " + s
}

func (e *InputError) Unwrap() error { return ErrBadRequest }

// BadInput is an InputError of one catalog message.
func BadInput(id MsgID, args ...any) error { return &InputError{Msg: Msg{ID: id, Args: args}} }

// BadField is an InputError about one field (slot: which of a numbered field's entries).
func BadField(field string, slot int, id MsgID, args ...any) error {
	return &InputError{Msg: Msg{ID: id, Args: args}, Field: field, Slot: slot}
}

// InputField says which field (and which of its entries) an InputError is about; ok is false
// when it names none.
func InputField(err error) (field string, slot int, ok bool) {
	var ie *InputError
	if !errors.As(err, &ie) || ie.Field == "" {
		return "", 0, false
	}
	return ie.Field, ie.Slot, true
}

// InputText says what to fix in the locale's language; ok is false for other errors.
func InputText(err error, locale string) (string, bool) {
	var ie *InputError
	if !errors.As(err, &ie) {
		return "", false
	}
	return Text(locale, ie.ID, ie.Args...), true
}
