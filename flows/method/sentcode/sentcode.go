// Package sentcode is the shared core of the methods that send a one-time code to a registered
// destination (email, SMS, voice call): 6 digits from crypto/rand, valid 10 minutes, stored
// only as a MAC bound to user, session and method, single use.
package sentcode

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/resetbot/resetbot/flows"
)

// TTL is how long a code works.
const TTL = 10 * time.Minute

// Digits is the length of a code.
const Digits = 6

// Channel is how one kind of destination is validated, masked and reached.
type Channel interface {
	Kind() flows.MethodKind
	// Parse validates what the user typed on the page under the policy; it returns the
	// destination in canonical form.
	Parse(input string, pol flows.Policy) (string, error)
	Mask(dest string) string
	// Deliver sends the code; enrol says it confirms a new destination.
	Deliver(ctx context.Context, dest, code string, enrol bool) error
	// Sent is the chat message that says where the code went.
	Sent() flows.MsgID
}

// Phone is what the two phone methods share: a number is parsed (E.164, in a calling code the
// policy allows) and masked (+1 *** *** **42) the same way for a text message and a call.
type Phone struct{}

// Parse accepts an E.164 number in an allowed country.
func (Phone) Parse(input string, pol flows.Policy) (string, error) {
	return flows.ParsePhone(input, pol.PhoneCountries)
}

// Mask shows +1 *** *** **42.
func (Phone) Mask(dest string) string { return flows.MaskPhone(dest) }

// Method implements flows.Method and flows.Enroller over a Channel.
type Method struct {
	Ch   Channel
	MAC  flows.MACer
	Rand flows.Random
}

var (
	_ flows.Method        = (*Method)(nil)
	_ flows.Enroller      = (*Method)(nil)
	_ flows.PendingShower = (*Method)(nil)
)

// Kind is the channel's method.
func (m *Method) Kind() flows.MethodKind { return m.Ch.Kind() }

// NewCode draws a uniform code of Digits digits from r (rejection sampling).
func NewCode(r flows.Random) (string, error) {
	const max = 1_000_000
	for {
		var b [4]byte
		if _, err := r.Read(b[:]); err != nil {
			return "", fmt.Errorf("sentcode: random: %w", err)
		}
		v := binary.BigEndian.Uint32(b[:])
		if v < (1<<32)/max*max {
			return fmt.Sprintf("%06d", v%max), nil
		}
	}
}

// CodeMAC binds a code to its method, user and session (or "enrol").
func CodeMAC(mac flows.MACer, kind flows.MethodKind, userID, sessionID, code string) string {
	return mac.MAC("code", string(kind), userID, sessionID, code)
}

// Challenge draws a code for the registered destination; Send delivers it after the commit.
func (m *Method) Challenge(_ context.Context, a flows.Account, e flows.Enrollment, _ flows.Policy, sessionID string, now time.Time) (flows.Challenge, error) {
	reg, ok := e.Methods[m.Kind()]
	if !ok || reg.Address == "" {
		return flows.Challenge{}, fmt.Errorf("sentcode %s: %w", m.Kind(), flows.ErrNotFound)
	}
	code, err := NewCode(m.Rand)
	if err != nil {
		return flows.Challenge{}, err
	}
	return flows.Challenge{
		Code:    &flows.StoredCode{MAC: CodeMAC(m.MAC, m.Kind(), a.ID, sessionID, code), ExpiresAt: now.Add(TTL)},
		Send:    func(ctx context.Context) error { return m.Ch.Deliver(ctx, reg.Address, code, false) },
		Msg:     m.Ch.Sent(),
		MsgArgs: []any{m.Ch.Mask(reg.Address)},
	}, nil
}

// codeMatches compares the stored MAC with the code's MAC under every accepted key (the old
// keys of a MAC_KEY rotation too), each in constant time.
func codeMatches(mac flows.MACer, kind flows.MethodKind, userID, sessionID, code, stored string) bool {
	ok := 0
	for _, got := range mac.MACs("code", string(kind), userID, sessionID, code) {
		ok |= subtle.ConstantTimeCompare([]byte(got), []byte(stored))
	}
	return ok == 1
}

// Check compares the MAC of the answer with the stored one in constant time.
func (m *Method) Check(a flows.Account, _ flows.Enrollment, sessionID string, stored flows.StoredCode, answer string, now time.Time) flows.Proof {
	if stored.MAC == "" {
		return flows.Proof{}
	}
	ok := codeMatches(m.MAC, m.Kind(), a.ID, sessionID, flows.CodeDigits(answer), stored.MAC)
	if !now.Before(stored.ExpiresAt) {
		return flows.Proof{Expired: true}
	}
	return flows.Proof{Correct: ok, CodeMAC: stored.MAC}
}

// BeginEnrol validates the destination typed on the page and sends it a code.
func (m *Method) BeginEnrol(_ context.Context, a flows.Account, input string, pol flows.Policy, now time.Time) (flows.PendingEnrol, error) {
	dest, err := m.Ch.Parse(input, pol)
	if err != nil {
		return flows.PendingEnrol{}, err
	}
	code, err := NewCode(m.Rand)
	if err != nil {
		return flows.PendingEnrol{}, err
	}
	return flows.PendingEnrol{
		Address: dest, MAC: CodeMAC(m.MAC, m.Kind(), a.ID, "enrol", code), ExpiresAt: now.Add(TTL),
		Show: flows.EnrolShow{Masked: m.Ch.Mask(dest)},
		Send: func(ctx context.Context) error { return m.Ch.Deliver(ctx, dest, code, true) },
	}, nil
}

// ShowPending shows where the pending code went (masked), after a wrong code.
func (m *Method) ShowPending(_ flows.Account, p flows.PendingEnrol) (flows.EnrolShow, error) {
	return flows.EnrolShow{Masked: m.Ch.Mask(p.Address)}, nil
}

// ConfirmEnrol checks the code sent to the new destination: only then is it usable.
func (m *Method) ConfirmEnrol(a flows.Account, p flows.PendingEnrol, code string, now time.Time) (flows.Registered, int64, bool) {
	if p.MAC == "" || !now.Before(p.ExpiresAt) {
		return flows.Registered{}, 0, false
	}
	if !codeMatches(m.MAC, m.Kind(), a.ID, "enrol", flows.CodeDigits(code), p.MAC) {
		return flows.Registered{}, 0, false
	}
	return flows.Registered{Kind: m.Kind(), Address: p.Address}, 0, true
}
