package flows

import (
	"context"
	"fmt"
)

// unlockNotice explains that, for a cloud-only account, unlocking means a reset: Entra ID has
// no unlock operation and clears its smart lockout when the password is reset.
func unlockNotice(s *step) {
	if !s.acct.Synced {
		s.say(MsgUnlockIsReset)
	}
}

// unlockable reports whether the directory keeps this account's lockout itself (AD), so it can
// be unlocked without a reset.
func (e *Engine) unlockable(a Account) bool {
	return e.caps.Unlocker != nil && a.Synced && e.o.ADConfigured
}

// unlockNow runs after the commit that accepted the last proof of an unlock: it unlocks the
// account when it is locked and offers the reset link, if any, for a forgotten password too.
func (e *Engine) unlockNow(ctx context.Context, s *step, link string) error {
	u := e.caps.Unlocker
	locked, _, err := u.LockedOut(ctx, s.acct.ID)
	if err != nil {
		return fmt.Errorf("flows: lockout state: %w", err)
	}
	if !locked {
		s.replies = append(s.replies, s.reply(MsgNotLocked))
		s.audit(string(FlowUnlock), "ok", "not_locked")
		if link != "" {
			r := s.reply(MsgResetLink)
			r.Link = link
			s.replies = append(s.replies, r)
			s.audit("link_issued", "ok", string(PurposeReset))
		}
		return nil
	}
	if err := u.Unlock(ctx, s.acct.ID); err != nil {
		s.audit(string(FlowUnlock), "failed", "directory")
		return fmt.Errorf("flows: unlock: %w", err)
	}
	s.audit(string(FlowUnlock), "ok", "unlocked")
	s.replies = append(s.replies, s.reply(MsgUnlocked))
	if link != "" {
		r := s.reply(MsgUnlockedResetToo)
		r.Link = link
		s.replies = append(s.replies, r)
		s.audit("link_issued", "ok", string(PurposeReset))
	}
	if s.pol.NotifyUser {
		lang, loc := e.noticeLocale(ctx, s.acct, s.pol)
		e.mailUser(ctx, s.acct, Text(lang, "mail.unlocked.subject"), Text(lang, "mail.unlocked.body", s.acct.DisplayName,
			FormatWhen(lang, s.now, loc), s.pol.HelpdeskURL))
	}
	return nil
}
