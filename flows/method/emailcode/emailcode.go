package emailcode

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/resetbot/resetbot/flows"
)

// TTL is how long a code works.
const TTL = 10 * time.Minute

// Digits is the length of a code.
const Digits = 6

// Method implements flows.Method for email codes.
type Method struct {
	Mailer flows.Mailer
	MAC    flows.MACer
	Rand   flows.Random
}

var (
	_ flows.Method   = (*Method)(nil)
	_ flows.Enroller = (*Method)(nil)
)

// Kind is flows.MethodEmail.
func (*Method) Kind() flows.MethodKind { return flows.MethodEmail }

// NewCode draws a uniform code of Digits digits from r.
func NewCode(r flows.Random) (string, error) {
	const max = 1_000_000
	// rejection sampling keeps the distribution uniform
	for {
		var b [4]byte
		if _, err := r.Read(b[:]); err != nil {
			return "", fmt.Errorf("emailcode: random: %w", err)
		}
		v := binary.BigEndian.Uint32(b[:])
		if v < (1<<32)/max*max {
			return fmt.Sprintf("%06d", v%max), nil
		}
	}
}

// CodeMAC binds a code to its user, session and purpose.
func CodeMAC(m flows.MACer, userID, sessionID, code string) string {
	return m.MAC("code", "email", userID, sessionID, code)
}

// Challenge draws a code, returns its MAC for storage and a Send that mails it.
func (m *Method) Challenge(_ context.Context, a flows.Account, e flows.Enrollment, sessionID string, now time.Time) (flows.Challenge, error) {
	reg, ok := e.Methods[flows.MethodEmail]
	if !ok {
		return flows.Challenge{}, fmt.Errorf("emailcode: %w", flows.ErrNotFound)
	}
	code, err := NewCode(m.Rand)
	if err != nil {
		return flows.Challenge{}, err
	}
	mail := flows.Mail{
		To:      []string{reg.Address},
		Subject: "Your resetbot verification code",
		Body: "Your code is " + code + ". It works for 10 minutes, once.\n\n" +
			"If you did not ask to reset your password, ignore this email and tell your helpdesk.",
	}
	return flows.Challenge{
		Code:    &flows.StoredCode{MAC: CodeMAC(m.MAC, a.ID, sessionID, code), ExpiresAt: now.Add(TTL)},
		Send:    func(ctx context.Context) error { return m.Mailer.Send(ctx, mail) },
		Msg:     flows.MsgEmailSent,
		MsgArgs: []any{flows.MaskEmail(reg.Address)},
	}, nil
}

// Check compares the MAC of the answer with the stored one in constant time.
func (m *Method) Check(a flows.Account, _ flows.Enrollment, sessionID string, stored flows.StoredCode, answer string, now time.Time) flows.Proof {
	if stored.MAC == "" {
		return flows.Proof{}
	}
	got := CodeMAC(m.MAC, a.ID, sessionID, flows.CodeDigits(answer))
	ok := subtle.ConstantTimeCompare([]byte(got), []byte(stored.MAC)) == 1
	if !now.Before(stored.ExpiresAt) {
		return flows.Proof{Expired: true}
	}
	return flows.Proof{Correct: ok, CodeMAC: stored.MAC}
}

// BeginEnrol validates the address the user typed on the page and mails it a code.
func (m *Method) BeginEnrol(_ context.Context, a flows.Account, input string, now time.Time) (flows.PendingEnrol, error) {
	addr, err := ParseAddress(input)
	if err != nil {
		return flows.PendingEnrol{}, err
	}
	code, err := NewCode(m.Rand)
	if err != nil {
		return flows.PendingEnrol{}, err
	}
	mail := flows.Mail{To: []string{addr}, Subject: "Confirm your email for password reset",
		Body: "Your confirmation code is " + code + ". It works for 10 minutes.\n\n" +
			"If you did not ask for this, ignore this email."}
	return flows.PendingEnrol{
		Address: addr, MAC: CodeMAC(m.MAC, a.ID, "enrol", code), ExpiresAt: now.Add(TTL),
		Show: flows.EnrolShow{Masked: flows.MaskEmail(addr)},
		Send: func(ctx context.Context) error { return m.Mailer.Send(ctx, mail) },
	}, nil
}

// ConfirmEnrol checks the code mailed to the new address.
func (m *Method) ConfirmEnrol(a flows.Account, p flows.PendingEnrol, code string, now time.Time) (flows.Registered, int64, bool) {
	if p.MAC == "" || !now.Before(p.ExpiresAt) {
		return flows.Registered{}, 0, false
	}
	got := CodeMAC(m.MAC, a.ID, "enrol", flows.CodeDigits(code))
	if subtle.ConstantTimeCompare([]byte(got), []byte(p.MAC)) != 1 {
		return flows.Registered{}, 0, false
	}
	return flows.Registered{Kind: flows.MethodEmail, Address: p.Address}, 0, true
}

// ErrBadAddress: the text is not one plain email address.
var ErrBadAddress = fmt.Errorf("%w: not a valid email address", flows.ErrBadRequest)

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
