package emailcode

import (
	"context"
	"net/mail"
	"strings"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/sentcode"
)

// New is the email method: codes mailed through m.
func New(m flows.Mailer, mac flows.MACer, rand flows.Random) *sentcode.Method {
	return &sentcode.Method{Ch: Channel{Mailer: m}, MAC: mac, Rand: rand}
}

// Channel mails codes.
type Channel struct{ Mailer flows.Mailer }

// Kind is flows.MethodEmail.
func (Channel) Kind() flows.MethodKind { return flows.MethodEmail }

// Parse accepts one plain address.
func (Channel) Parse(input string, _ flows.Policy) (string, error) { return ParseAddress(input) }

// Mask shows j***@c****.com.
func (Channel) Mask(dest string) string { return flows.MaskEmail(dest) }

// Sent is the chat message after sending.
func (Channel) Sent() flows.MsgID { return flows.MsgEmailSent }

// Deliver mails the code.
func (c Channel) Deliver(ctx context.Context, dest, code string, enrol bool) error {
	lang := flows.LangFrom(ctx)
	m := flows.Mail{To: []string{dest}, Subject: flows.Text(lang, "mail.code.subject"), Body: flows.Text(lang, "mail.code.body", code)}
	if enrol {
		m.Subject, m.Body = flows.Text(lang, "mail.confirm.subject"), flows.Text(lang, "mail.confirm.body", code)
	}
	return c.Mailer.Send(ctx, m)
}

// ErrBadAddress: the text is not one plain email address.
var ErrBadAddress = flows.BadInput("input.email")

// ParseAddress accepts one plain address (no display name), at most 254 characters.
func ParseAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > 254 {
		return "", ErrBadAddress
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || strings.Count(s, "@") != 1 {
		return "", ErrBadAddress
	}
	at := strings.LastIndexByte(s, '@')
	if !strings.Contains(s[at+1:], ".") {
		return "", ErrBadAddress
	}
	return strings.ToLower(s), nil
}
