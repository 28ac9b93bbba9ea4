package flows

import (
	"context"
	"time"
)

// Method is one verification method, as a strategy the verify flow drives.
type Method interface {
	Kind() MethodKind
	// Challenge starts a proof. Code methods return the code's record (only a MAC) and a Send
	// function the engine calls after the commit that counted the send.
	Challenge(ctx context.Context, a Account, e Enrollment, pol Policy, sessionID string, now time.Time) (Challenge, error)
	// Check judges an answer in constant time; it never writes.
	Check(a Account, e Enrollment, sessionID string, stored StoredCode, answer string, now time.Time) Proof
}

// Challenge is what starting a proof produced.
type Challenge struct {
	Code    *StoredCode // nil for methods without a sent code
	Send    func(ctx context.Context) error
	Msg     MsgID
	MsgArgs []any
	Link    Purpose // answered on a one-time page instead of in chat
}

// Proof is the judgement of one answer.
type Proof struct {
	Correct bool
	Expired bool
	Reused  bool   // TOTP: the right code of a step already accepted
	Step    int64  // TOTP: the step that matched
	CodeMAC string // code methods: the stored MAC that must still be there
	// Once: the stored challenge is spent by this attempt whatever its outcome (passkeys)
	Once bool
	// Update is the method's record as it must be stored when the attempt is accepted (a
	// passkey's new signature count and flags), written by the same atomic step
	Update *Registered
	Clone  bool   // passkey: the signature count went backwards (a cloned authenticator)
	Reason string // why a proof was refused, for the audit log (never secret)
}
