package flows

import "time"

// MethodKind names a verification method.
type MethodKind string

// The verification methods.
const (
	MethodTOTP      MethodKind = "totp"
	MethodEmail     MethodKind = "email"
	MethodSMS       MethodKind = "sms"
	MethodVoice     MethodKind = "voice"
	MethodQuestions MethodKind = "questions"
)

// AllMethods lists every method in display order.
var AllMethods = []MethodKind{MethodTOTP, MethodEmail, MethodSMS, MethodVoice, MethodQuestions, MethodPasskey}

// Registered is one method a user registered. Secret and Address are plain in memory; the
// store seals them before they reach Redis.
type Registered struct {
	Kind         MethodKind
	Secret       string // TOTP secret (base32)
	Address      string // email address or E.164 phone number
	Questions    []QA   // security questions with Argon2id hashes of the answers
	RegisteredAt time.Time
	Passkeys     []Passkey `json:",omitempty"` // passkeys and security keys (passkey.go)
	Handle       []byte    `json:",omitempty"` // the person's WebAuthn user handle: random, never their id
	// Stored is the record as the store read it (sealed); an Attempt's Update replaces the
	// record only if it is still this, so a change made meanwhile (a key added) is not lost
	Stored string `json:"-"`
}

// QA is one registered security question; only a hash of the answer is kept.
type QA struct {
	Question string `json:"q"`
	Hash     string `json:"h"`
}

// Window is a fixed-window counter.
type Window struct {
	Count int
	Start time.Time
}

// Enrollment is what a user registered plus the counters that guard it.
type Enrollment struct {
	Methods      map[MethodKind]Registered
	Fails        Window
	Tries        map[MethodKind]Window
	Sent         Window
	BlockedUntil time.Time
	LastTOTPStep int64
}

// Has reports whether m is registered.
func (e Enrollment) Has(m MethodKind) bool { _, ok := e.Methods[m]; return ok }

// Describe names a registered method for people, with its destination masked.
func Describe(r Registered) string {
	l := methodLabel(r.Kind)
	switch r.Kind {
	case MethodEmail:
		l += " to " + MaskEmail(r.Address)
	case MethodSMS, MethodVoice:
		l += " to " + MaskPhone(r.Address)
	case MethodPasskey:
		l += passkeyNames(r.Passkeys)
	}
	return l
}

// Described lists the registered methods of e in display order.
func (e Enrollment) Described() []string {
	var out []string
	for _, m := range AllMethods {
		if r, ok := e.Methods[m]; ok {
			r.Kind = m
			out = append(out, Describe(r))
		}
	}
	return out
}
