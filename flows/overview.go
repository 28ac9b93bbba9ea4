package flows

import (
	"context"
	"time"
)

// Overview is what a chat home page shows a user about their own account.
type Overview struct {
	Eligible     bool
	Registered   []string  // masked labels
	ReconfirmDue time.Time // zero when never
	HelpdeskURL  string
	RecoverHint  string // where to recover without chat (eligible people only), "" when there is no page
}

// Overview describes the chat user's own registration. An ineligible user learns nothing but the
// helpdesk link, whatever the reason.
func (e *Engine) Overview(ctx context.Context, in Inbound) (Overview, error) {
	pol, err := e.policy(ctx)
	if err != nil {
		return Overview{}, err
	}
	out := Overview{HelpdeskURL: pol.HelpdeskURL}
	acct, lerr := e.resolve(ctx, in)
	if lerr != nil && !isExpected(lerr) {
		return out, lerr
	}
	var en Enrollment
	if lerr == nil {
		if en, err = e.d.Enrollments.Get(ctx, acct.ID); err != nil {
			return out, err
		}
	}
	if e.ineligible(acct, lerr, pol, en, e.d.Clock.Now()) != "" {
		return out, nil
	}
	out.Eligible = true
	out.RecoverHint = e.RecoverHint(in.Chat.Locale)
	var oldest time.Time
	out.Registered = en.Described()
	for _, r := range en.Methods {
		if oldest.IsZero() || r.RegisteredAt.Before(oldest) {
			oldest = r.RegisteredAt
		}
	}
	if pol.ReconfirmDays > 0 && !oldest.IsZero() {
		out.ReconfirmDue = oldest.AddDate(0, 0, pol.ReconfirmDays)
	}
	return out, nil
}

func (e *Engine) isAdmin(a Account) bool {
	for _, g := range e.o.AdminGroups {
		for _, h := range a.Groups {
			if g == h {
				return true
			}
		}
	}
	return false
}

// PlatformRefusal is the polite reply for chat accounts an adapter will not map to anyone:
// guests, external users, unconfirmed emails.
func (e *Engine) PlatformRefusal(ctx context.Context, chat ChatRef, reason string) Reply {
	pol := e.policyOrDefault(ctx, "platform refusal")
	e.audit(ctx, AuditEvent{Time: e.d.Clock.Now(), Actor: chat.Key(), Platform: chat.Platform, Action: "identity", Outcome: "refused", Reason: reason})
	return Reply{MsgID: MsgPlatformRefused, Text: Text(chat.Locale, MsgPlatformRefused, pol.HelpdeskURL), Private: true}
}
