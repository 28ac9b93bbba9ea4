package flows

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors for expected outcomes; the engine maps them to replies in one place.
var (
	ErrNotFound   = errors.New("not found")
	ErrAmbiguous  = errors.New("more than one directory user matches")
	ErrStale      = errors.New("stale version")
	ErrLinkGone   = errors.New("link unknown, used or expired")
	ErrRefused    = errors.New("refused")
	ErrDirectory  = errors.New("directory refused the change")
	ErrBadRequest = errors.New("bad request")
)

// ClaimKind says which verified platform claim identifies a chat user.
type ClaimKind string

const (
	// ClaimEmail is a profile email the platform says is confirmed (Slack).
	ClaimEmail ClaimKind = "email"
	// ClaimObjectID is a directory object id asserted by the platform (Teams aadObjectId).
	ClaimObjectID ClaimKind = "oid"
	// ClaimUPN is a user principal name; only the local console adapter uses it.
	ClaimUPN ClaimKind = "upn"
	// ClaimSID is an on-premises security identifier: how the hybrid router finds the AD
	// account of a user synced to Entra (onPremisesSecurityIdentifier).
	ClaimSID ClaimKind = "sid"
)

// Claim is the verified identity assertion an adapter extracted from a platform request.
type Claim struct {
	Kind  ClaimKind
	Value string
	// Pinned, set by the engine on an email or UPN claim, is the directory user the chat
	// identity is pinned to (a hint, never a verification): a directory may read that user
	// and its privilege while it searches, so the person waits for one round trip. The search
	// still decides who the claim names, and the engine still refuses a mismatch.
	Pinned string
}

// Account is what the directory knows about one person, as far as self-service needs it.
type Account struct {
	ID          string // directory object id
	UPN         string
	Mail        string
	DisplayName string
	Enabled     bool
	Synced      bool     // mastered on-premises (onPremisesSyncEnabled)
	Groups      []string // transitive group ids
	Privileged  bool     // holds a directory role, or is protected in AD
	OnPremSID   string   // the on-premises security identifier (AD objectSid), when there is one
	Locked      bool     // locked out in AD now
	LockedAt    time.Time
}

// Directory is a user directory: Entra ID through Graph, or Active Directory.
type Directory interface {
	// Lookup finds exactly one user by the claim, with groups and privilege; ErrNotFound or
	// ErrAmbiguous otherwise.
	Lookup(ctx context.Context, c Claim) (Account, error)
	// SetPassword sets a new password; forceChange makes the user change it at next sign-in.
	SetPassword(ctx context.Context, userID, password string, forceChange bool) error
	// RevokeSessions signs the user out everywhere.
	RevokeSessions(ctx context.Context, userID string) error
	// Capabilities lists what else the directory can do; a nil field is what it cannot.
	Capabilities() Capabilities
}

// ContactSource is a directory that also holds verified contact methods (Entra's phone and
// email authentication methods); the policy may offer them as registered.
type ContactSource interface {
	ContactMethods(ctx context.Context, userID string) ([]Registered, error)
}

// Mail is one outgoing email.
type Mail struct {
	To      []string
	Subject string
	Body    string
}

// Mailer delivers email outside the chat.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// Notifier posts replies to a chat user outside of a request, e.g. after a web page finished.
type Notifier interface {
	Notify(ctx context.Context, chat ChatRef, replies []Reply) error
}

// Clock is the injected time source.
type Clock interface{ Now() time.Time }

// Random is the injected source of secret randomness (crypto/rand in production).
type Random interface{ Read(p []byte) (int, error) }

// MACer computes keyed MACs of secrets so only MACs are stored.
type MACer interface {
	// MAC is the MAC under the current key: what is stored or used as a key from now on.
	MAC(parts ...string) string
	// MACs is the MAC under every accepted key, the current one first, then the old keys of a
	// rotation: checks accept any of them, lookups try the next only on a miss.
	MACs(parts ...string) []string
}

// Snapshot is everything one chat step reads, fetched in one pipelined round trip.
type Snapshot struct {
	Session    *Session // nil when there is none
	Enrollment Enrollment
	Code       StoredCode // the pending code of the session, if any
	Pinned     string     // the directory user the chat identity is pinned to, or ""
	// Menu is the latest menu a notice posted to this chat outside a reply (a lockout alert,
	// "This wasn't me", a reminder, a helpdesk prompt) while it is live: a typed number or
	// label picks from it on any adapter and any replica
	Menu []Choice
	// NewPassword is the keyed hash of the password a page set for the person minutes ago
	// and when it stops counting (TypedPasswordLifetime), "" when none: a chat message that
	// hashes to it is refused
	NewPassword string
	// Repeated: the delivery LoadDelivered claimed was claimed before (a platform's retry)
	Repeated bool
}

// StoredCode is a pending one-time code: only its MAC is kept.
type StoredCode struct {
	MAC       string
	ExpiresAt time.Time
}

// Status is the outcome of a Commit.
type Status int

const (
	// Committed: every check passed and every write was applied.
	Committed Status = iota
	// Duplicate: the idempotency key was seen before; nothing was written.
	Duplicate
	// Stale: the session changed since it was read; nothing was written.
	Stale
	// Blocked: the user is blocked, or this attempt hit a limit and set the block.
	Blocked
	// Rejected: the proof was wrong, or its code or TOTP step was already used; it was counted.
	Rejected
	// LimitReached: a send limit refused this step; nothing else was written.
	LimitReached
)

// Attempt describes one proof attempt, counted atomically before it can be accepted.
type Attempt struct {
	Method   MethodKind
	Correct  bool   // what the constant-time comparison said
	CodeMAC  string // the stored code MAC that must still be present to accept (code methods)
	TOTPStep int64  // the step that matched; must be above the stored last step (TOTP)
	Limits   Limits // the policy's attempt limits
	Once     bool   // the stored challenge is deleted whatever the outcome (passkeys)
	// Update replaces the method's stored record when the attempt is accepted (a passkey's
	// signature count), in the same atomic step
	Update *Registered
}

// Commit is everything one chat step writes, applied by one atomic script.
type Commit struct {
	Subject       string // the person's hash tag id: directory object id, or a chat key when unknown
	ChatKey       string
	IdemKey       string
	ExpectVersion int64 // version read; 0 when there was no session
	Now           time.Time
	Attempt       *Attempt
	CountSend     *Limits // counts a code sent against Limits.SendMax
	PutCode       *StoredCode
	Link          *LinkGrant
	Session       *Session // saved with Version = ExpectVersion+1; nil deletes it
	KeepSession   bool     // leave the session untouched (only dedupe and counters)
	ForgetMenu    bool     // the notice's menu (Snapshot.Menu) was picked from or replaced
	// MenuWas is the notice's menu as the step read it: ForgetMenu drops that menu only, never
	// a newer one a notice kept meanwhile (another replica, between the read and the commit)
	MenuWas []Choice
	// Locale, when set, is kept as the person's language and time zone (what
	// PersonLocales.PersonLocale reads) in the same atomic step, whatever its outcome
	Locale *PersonLocale
}

// LinkGrant issues a one-time link inside a Commit; a new one voids the previous of its purpose.
type LinkGrant struct {
	Purpose   Purpose
	MAC       string
	ExpiresAt time.Time
	// IfFree grants the link only while the person has no link of its purpose (from any of
	// their chats); otherwise the whole commit is Stale. A link given back must never replace
	// a newer one.
	IfFree bool
}

// Outcome reports what a Commit did.
type Outcome struct {
	Status       Status
	Version      int64
	BlockedUntil time.Time
	// after a Rejected attempt: failed proofs in the window, and tries on the method
	Fails, Tries int
}

// TriesLeft is how many more wrong answers the limits allow before self-service is blocked.
func (o Outcome) TriesLeft(l Limits) int {
	return max(0, min(l.FailMax-o.Fails, l.TriesMax-o.Tries))
}

// Sessions stores chat sessions, pending codes and counters of one person.
type Sessions interface {
	Load(ctx context.Context, subject, chatKey string) (Snapshot, error)
	// LoadDelivered is Load that also claims a platform delivery (Inbound.Delivery) for
	// DeliveryTTL in the same round trip; Snapshot.Repeated says it was claimed before.
	LoadDelivered(ctx context.Context, subject, chatKey, delivery string) (Snapshot, error)
	Commit(ctx context.Context, c Commit) (Outcome, error)
}

// DeliveryTTL is how long a claimed platform delivery is remembered: longer than any
// platform retries one (Slack retries three times within minutes).
const DeliveryTTL = time.Hour

// Menus keeps the latest menu a notice posted to a chat, so a number typed on any adapter and
// any replica picks from it (the Redis store has it; Sessions.Load reads it back).
type Menus interface {
	// KeepMenu makes menu the live one of the person's chat for ttl; an empty menu forgets it.
	KeepMenu(ctx context.Context, subject, chatKey string, menu []Choice, ttl time.Duration) error
}

// NewPasswords keeps, for minutes, the keyed hash of the password a page just set, so a chat
// message repeating it is refused (Sessions.Load reads it back as Snapshot.NewPassword).
type NewPasswords interface {
	// KeepNewPassword stores rec (the keyed hash and when it stops counting, never the
	// password) as the person's, for ttl.
	KeepNewPassword(ctx context.Context, userID, rec string, ttl time.Duration) error
	// SpendPasswordChecks counts n comparisons against the person's kept hash (across
	// replicas, before they are made) and returns how many were counted since it was kept.
	SpendPasswordChecks(ctx context.Context, userID string, n int) (int64, error)
}

// KeepingLinks is optional on Links, with NewPasswords: the reset page consumes its link and
// keeps the new password's record (NewPasswords.KeepNewPassword) in one atomic step, before
// the directory is asked; when the directory does not take the password, UnkeepNewPassword puts
// back what the step replaced.
type KeepingLinks interface {
	// ConsumeKeeping is Links.ConsumePeeked that, once the link is consumed, keeps kept for ttl
	// as KeepNewPassword does (with a count of checks of its own), and returns what it replaced
	// and the email address registered as a method, read in the same step. now is as for
	// Links.Consume.
	ConsumeKeeping(ctx context.Context, rec LinkRecord, mac string, next *Session, kept string, ttl time.Duration, now time.Time) (Consumed, error)
	// UnkeepNewPassword puts before back, unless a record other than kept was kept since.
	UnkeepNewPassword(ctx context.Context, userID, kept string, before KeptBefore) error
}

// Consumed is what ConsumeKeeping replaced and read.
type Consumed struct {
	Before KeptBefore
	// RegisteredMail is the email address the person registered as a method ("" when none or
	// when it cannot be opened), as Enrollments.Get would read it: the reset's email goes there too.
	RegisteredMail string
}

// KeptBefore is the new password's record and count of checks that ConsumeKeeping replaced
// ("" when none) and the time each had left.
type KeptBefore struct {
	Record    string
	RecordTTL time.Duration
	Checks    string
	ChecksTTL time.Duration
}

// Block is one blocked user.
type Block struct {
	UserID string
	Until  time.Time
}

// LinkRecord is a one-time link as stored: bound to user, purpose and session version.
type LinkRecord struct {
	UserID         string
	Purpose        Purpose
	SessionID      string
	SessionVersion int64
	ChatKey        string
	ExpiresAt      time.Time
	// Stored is the link as Peek read it; ConsumePeeked consumes the link only if it is still this
	Stored string
}

// Links checks and consumes one-time link tokens (by MAC).
type Links interface {
	// Peek returns the live link for the MAC without consuming it.
	Peek(ctx context.Context, userID string, p Purpose, mac string) (LinkRecord, *Session, error)
	// Consume removes the link if it is still the current one and its session still has the
	// bound version; it saves next (when not nil) with a version compare, kept until its
	// expiry counted from now (the engine's clock, as the expiry is). ErrLinkGone otherwise.
	Consume(ctx context.Context, userID string, p Purpose, mac string, next *Session, now time.Time) error
	// ConsumePeeked is Consume of a link Peek returned, without reading it again: the same
	// atomic step removes it only if it is still what Peek read (rec.Stored) and its session
	// still has the bound version.
	ConsumePeeked(ctx context.Context, rec LinkRecord, mac string, next *Session, now time.Time) error
}

// Enrollments stores registered methods (secrets sealed by the implementation).
type Enrollments interface {
	Get(ctx context.Context, userID string) (Enrollment, error)
	// Register stores or replaces one method; totpStep, when above zero, becomes the last
	// accepted TOTP step so the code that proved the enrolment cannot be replayed.
	Register(ctx context.Context, userID string, m Registered, totpStep int64) error
	// Remove deletes one registered method.
	Remove(ctx context.Context, userID string, kind MethodKind) error
	// Blocked lists the users whose self-service is blocked at now.
	Blocked(ctx context.Context, now time.Time) ([]Block, error)
	// Block blocks a user's self-service until a time.
	Block(ctx context.Context, userID string, until time.Time) error
	// Unblock clears a user's block and failure counters.
	Unblock(ctx context.Context, userID string) error
	// CountSend counts a code sent outside a chat step; false when the limit is reached.
	CountSend(ctx context.Context, userID string, l Limits, now time.Time) (bool, error)
	// JudgeAttempt counts one code entered outside a chat step (the registration pages) in the
	// same per-user counters as a chat attempt, atomically, before it can be accepted: Committed,
	// Rejected (a failure, counted) or Blocked. a.CodeMAC is not used.
	JudgeAttempt(ctx context.Context, userID string, a Attempt, now time.Time) (Outcome, error)
	// Pin pins a chat identity to a directory object id; ErrRefused when pinned to another.
	Pin(ctx context.Context, chatKey, userID string) error
	// Pinned returns the object id a chat identity is pinned to, or "".
	Pinned(ctx context.Context, chatKey string) (string, error)
}

// WebState is the server-side state of one browser session on the bot's pages.
type WebState struct {
	UserID    string
	ChatKey   string
	Purpose   Purpose
	SessionID string
	CSRF      string
	// sign-in
	OIDCState  string
	Nonce      string
	Verifier   string
	SignedInAt time.Time
	StartedAt  time.Time // when the sign-in was asked for: a sign-in must authenticate after it
	// enrolment in progress (sealed by the store)
	PendingTOTP   string
	PendingEmail  string
	PendingMAC    string
	PendingKind   MethodKind
	Reconfirm     bool   // the pending enrolment re-proves an existing method
	Action        string // PurposeAdmin: what the bot admin confirms by signing in
	PendingExpiry time.Time
	ExpiresAt     time.Time
	// the link that opened the session (its stored MAC, expiry and the session version its
	// consumption saved), so a sign-in by the wrong person can give it back to the right one
	LinkMAC       string
	LinkExpiresAt time.Time
	LinkVersion   int64
}

// WebStates stores browser sessions, keyed by the MAC of their cookie.
type WebStates interface {
	// PutWeb stores s until its expiry, counted from now (the engine's clock, as the expiry is).
	PutWeb(ctx context.Context, key string, s WebState, now time.Time) error
	GetWeb(ctx context.Context, key string) (WebState, error)
	DeleteWeb(ctx context.Context, key string) error
}

// PolicyStore keeps the versioned policy document.
type PolicyStore interface {
	GetPolicy(ctx context.Context) (Policy, int64, error)
	PutPolicy(ctx context.Context, p Policy, expectVersion int64) (int64, error)
}

// AuditEvent is one security event.
type AuditEvent struct {
	Time     time.Time
	Actor    string // chat key or directory id of who acted
	Subject  string // directory id acted on
	Platform string
	Action   string
	Outcome  string
	Reason   string
}

// Auditor records security events; implementations write asynchronously.
type Auditor interface {
	Audit(ctx context.Context, e AuditEvent)
}

// Alerter tells bot admins about a security event that needs a person (e.g. a chat identity that
// now maps to another directory user). Optional.
type Alerter interface {
	Alert(ctx context.Context, e AuditEvent, text string)
}

// PersonLocale is a person's language (a catalog language, "de") and IANA time zone.
type PersonLocale struct {
	Lang     string
	TimeZone string
}

// PersonLocales reads each person's language and time zone, which a step keeps once a chat has
// told them (Commit.Locale), for what is sent to them outside a conversation (reminders, lockout
// alerts, notices by email, text or call). With none, nothing is kept.
type PersonLocales interface {
	PersonLocale(ctx context.Context, userID string) (PersonLocale, error)
}

// EnrolledLocales is optional on PersonLocales: a person's enrollment (where else to mail them)
// and their kept language and time zone (in what words), read in one round trip for a notice
// that needs both. What could be read is returned with the first error.
type EnrolledLocales interface {
	EnrollmentAndLocale(ctx context.Context, userID string) (Enrollment, PersonLocale, error)
}
