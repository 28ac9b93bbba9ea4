package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PasswordError says in plain words why a new password was refused.
type PasswordError struct{ Reason string }

func (e *PasswordError) Error() string { return "password refused: " + e.Reason }

// CheckPassword applies the rules checked before the directory is called.
func CheckPassword(pw, confirm string) error {
	if pw != confirm {
		return &PasswordError{"The two passwords are not the same. Type the same password in both boxes."}
	}
	n := utf8.RuneCountInString(pw)
	if n < 8 {
		return &PasswordError{"Use at least 8 characters."}
	}
	if n > 256 {
		return &PasswordError{"Use at most 256 characters."}
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
			return &PasswordError{"Use only letters, digits, spaces and symbols (no control characters)."}
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
		return &PasswordError{"Use at least three of: lowercase letters, uppercase letters, digits, symbols."}
	}
	return nil
}

// ResetView is what the new-password page may show for a live link.
type ResetView struct {
	DisplayName string
}

// OpenReset checks a reset link for the page (GET); it consumes nothing.
func (e *Engine) OpenReset(ctx context.Context, token string) (ResetView, error) {
	v, err := e.OpenLink(ctx, token)
	if err != nil || v.Purpose != PurposeReset || v.Session.State != StateResetLink {
		return ResetView{}, ErrLinkGone
	}
	return ResetView{}, nil
}

// ResetPassword consumes a reset link (POST) and sets the password the user chose.
func (e *Engine) ResetPassword(ctx context.Context, token, pw, confirm string) error {
	ctx = WithUserWaiting(ctx)
	if err := CheckPassword(pw, confirm); err != nil {
		return err
	}
	_, uid, err := parseToken(token)
	if err != nil {
		return ErrLinkGone
	}
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: uid})
	if err != nil {
		return ErrLinkGone
	}
	if err := CheckNewPassword(pw, confirm, e.bannedLists(ctx), personalTerms(acct)); err != nil {
		return err
	}
	v, err := e.consumeLink(ctx, token, PurposeReset, nil)
	if err != nil {
		return err
	}
	if v.Session.State != StateResetLink {
		return ErrLinkGone
	}
	pol, _ := e.policy(ctx)
	now := e.d.Clock.Now()
	ev := AuditEvent{Time: now, Actor: v.Session.Chat.Key(), Subject: v.UserID, Platform: v.Session.Chat.Platform, Action: string(v.Session.Flow)}
	force := pol.ResetMode == ResetTemporary
	if err := e.d.Directory.SetPassword(ctx, v.UserID, pw, force); err != nil {
		ev.Outcome, ev.Reason = "failed", "directory"
		e.audit(ctx, ev)
		var pe *PasswordError
		if errors.As(err, &pe) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrDirectory, err)
	}
	ev.Outcome = "ok"
	e.audit(ctx, ev)
	if pol.RevokeSessions {
		if err := e.d.Directory.RevokeSessions(ctx, v.UserID); err != nil {
			e.d.Log.ErrorContext(ctx, "revoke sessions failed", "err", err, "user", v.UserID)
		}
	}
	if pol.NotifyUser {
		e.noticeReset(ctx, acct, pol)
	}
	if e.d.Notifier != nil {
		r := Reply{MsgID: MsgPasswordChanged, Text: Text(v.Session.Chat.Locale, MsgPasswordChanged), Private: true}
		if err := e.d.Notifier.Notify(ctx, v.Session.Chat, []Reply{r}); err != nil {
			e.d.Log.ErrorContext(ctx, "chat notice failed", "err", err)
		}
	}
	return nil
}

func (e *Engine) noticeReset(ctx context.Context, a Account, pol Policy) {
	e.mailUser(ctx, a, "Your password was reset",
		fmt.Sprintf("Hello %s,\n\nyour password was reset through resetbot on %s.\n\n"+
			"If this wasn't you, contact the helpdesk now: %s\n", a.DisplayName,
			e.d.Clock.Now().UTC().Format("2 Jan 2006 15:04 MST"), pol.HelpdeskURL))
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
func (e *Engine) bannedLists(ctx context.Context) []*BannedList {
	pol, _ := e.policy(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.custom == nil || strings.Join(e.customOf, "\x00") != strings.Join(pol.BannedTerms, "\x00") {
		e.custom, e.customOf = NewBannedList(pol.BannedTerms), pol.BannedTerms
	}
	return []*BannedList{e.d.Banned, e.custom}
}
