package flows

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// MenuLifetime is how long a menu a notice posted (a lockout alert, "This wasn't me", a
// reminder, a helpdesk prompt) answers to a typed number. The choice it names is checked like
// a button press, so a late pick of a request that is over gets that request's own answer.
const MenuLifetime = 24 * time.Hour

// notify posts replies to a person's chat outside a request. A menu among them becomes the
// chat's live menu first (kept with the conversation in the store, not in an adapter), so a
// number or label typed on any adapter and any replica picks from it. A method menu is the
// session's own, which typed picks already follow: it only forgets an older notice's menu.
func (e *Engine) notify(ctx context.Context, userID string, chat ChatRef, replies []Reply) error {
	if e.d.Notifier == nil {
		return nil
	}
	if m := lastMenu(replies); m != nil && userID != "" {
		if k, ok := e.d.Sessions.(Menus); ok {
			if methodMenu(m) {
				m = nil
			}
			if err := k.KeepMenu(ctx, userID, chat.Key(), m, MenuLifetime); err != nil {
				// the buttons still work; only typing their number does not
				e.d.Log.WarnContext(ctx, "menu not kept for typing", "err", err, "user", userID)
			}
		}
	}
	return e.d.Notifier.Notify(ctx, chat, replies)
}

// lastMenu is the choices of the last reply that has some.
func lastMenu(replies []Reply) []Choice {
	for i := len(replies) - 1; i >= 0; i-- {
		if len(replies[i].Choices) > 0 {
			return replies[i].Choices
		}
	}
	return nil
}

// methodMenu reports whether every choice picks a method of the session.
func methodMenu(m []Choice) bool {
	for _, c := range m {
		if !strings.HasPrefix(c.ID, "m:") {
			return false
		}
	}
	return true
}

// pickMenu finds the choice typed text names in a notice's menu: its key ("2"), its place in
// the menu as shown when it has no key, or its label ("Unlock it now", a helpdesk number).
func pickMenu(menu []Choice, text string) (string, bool) {
	t := strings.TrimSpace(text)
	if n := strings.TrimRight(t, ".)"); n != "" && len(n) <= 3 {
		if _, err := strconv.Atoi(n); err == nil {
			for i, c := range menu {
				if c.Key == n || c.Key == "" && strconv.Itoa(i+1) == n {
					return c.ID, true
				}
			}
		}
	}
	want := labelWords(t)
	if want == "" {
		return "", false
	}
	for _, c := range menu {
		if labelWords(c.Label) == want {
			return c.ID, true
		}
	}
	return "", false
}

// labelWords is a label or a typed text reduced to its lower-case letters and digits, one space
// between words, apostrophes dropped, so "unlock it now!" names "Unlock it now" and "this
// wasnt me" names "This wasn't me".
func labelWords(s string) string {
	s = strings.NewReplacer("'", "", "’", "").Replace(strings.ToLower(s))
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	}), " ")
}

// pickNoticeMenu turns a number or label typed for the live notice menu into that choice, as if
// its button was pressed; the menu is then spent.
func (e *Engine) pickNoticeMenu(s *step) {
	if s.in.Choice != "" || len(s.snap.Menu) == 0 {
		return
	}
	if id, ok := pickMenu(s.snap.Menu, s.in.Text); ok {
		s.in.Choice, s.in.Text = id, ""
		s.commit.ForgetMenu = true
	}
}

// menuReplaced forgets the notice's menu once a reply shows another one: the newest menu is
// the one a typed number picks from. The commit forgets it when the step already knew (a pick
// or a menu said before the commit); a menu decided by the commit's outcome costs a write.
func (e *Engine) menuReplaced(ctx context.Context, s *step) {
	if len(s.snap.Menu) == 0 || s.commit.ForgetMenu || lastMenu(s.replies) == nil {
		return
	}
	if k, ok := e.d.Sessions.(Menus); ok {
		if err := k.KeepMenu(ctx, s.subject, s.in.Chat.Key(), nil, 0); err != nil {
			e.d.Log.WarnContext(ctx, "replaced menu not forgotten", "err", err, "user", s.subject)
		}
	}
}
