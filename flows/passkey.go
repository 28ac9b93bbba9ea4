package flows

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// MethodPasskey is a passkey or FIDO2 security key (WebAuthn), registered and used only on the
// bot's pages: a proof that cannot be phished or relayed, because the browser binds it to the
// bot's own origin.
const MethodPasskey MethodKind = "passkey"

// Passkey is one registered WebAuthn credential. Only public data: the private key never leaves
// the authenticator. The record is sealed with the other methods of the person all the same.
type Passkey struct {
	ID             []byte    `json:"id"`
	Name           string    `json:"name"` // what the person called it ("YubiKey", "iPhone")
	PublicKey      []byte    `json:"pk"`   // COSE key
	AAGUID         []byte    `json:"aaguid,omitempty"`
	Attestation    string    `json:"att,omitempty"` // attestation format ("none", "packed", …)
	SignCount      uint32    `json:"count"`
	BackupEligible bool      `json:"be"` // may be synced (a multi-device passkey); never changes
	BackupState    bool      `json:"bs"` // is synced now
	Transports     []string  `json:"tr,omitempty"`
	AddedAt        time.Time `json:"added"`
	LastUsed       time.Time `json:"used,omitzero"`
}

// PasskeyUser is the WebAuthn user entity of a person: a random handle (never the directory id,
// which authenticators may show or sync), a name for the authenticator's account picker, and
// the registered keys.
type PasskeyUser struct {
	Handle      []byte
	Name        string
	DisplayName string
	Keys        []Passkey
}

// PasskeyCeremonies is the passkey method's registration side and its page: the WebAuthn
// ceremonies for the relying party at PUBLIC_BASE_URL (its host is the RP ID). Options are the
// JSON the page hands to navigator.credentials; responses are the browser's JSON. User
// verification is required. (Proofs go through Method.Check like every method.)
type PasskeyCeremonies interface {
	CreationOptions(u PasskeyUser, challenge []byte) ([]byte, error)
	Create(u PasskeyUser, challenge, response []byte) (Passkey, error)
	RequestOptions(u PasskeyUser, challenge []byte) ([]byte, error)
}

// SingleUse keeps single-use tokens of a person in the store (registration challenges), each
// spent by the one write it allows.
type SingleUse interface {
	PutOnce(ctx context.Context, userID, mac string, ttl time.Duration) error
	// SpendOnce deletes the token; false when it was not there.
	SpendOnce(ctx context.Context, userID, mac string) (bool, error)
	// RegisterOnce stores m only if the token is still there, spending it in the same atomic
	// script; false, with nothing written, when it was spent or expired.
	RegisterOnce(ctx context.Context, userID, mac string, m Registered) (bool, error)
}

// PasskeyChallengeTTL bounds a passkey challenge: the browser asks at once, or not at all.
const PasskeyChallengeTTL = 5 * time.Minute

// passkeyCodePrefix marks a session's pending code that is a WebAuthn challenge (not secret:
// its job is to be fresh, single-use and bound to this session).
const passkeyCodePrefix = "pk:"

// PasskeyChallengeCode is the pending-code record of a passkey challenge.
func PasskeyChallengeCode(challenge []byte, now time.Time) StoredCode {
	return StoredCode{MAC: passkeyCodePrefix + base64.RawURLEncoding.EncodeToString(challenge), ExpiresAt: now.Add(PasskeyChallengeTTL)}
}

// PasskeyChallengeOf returns the challenge of a pending-code record, if it is one.
func PasskeyChallengeOf(c StoredCode) ([]byte, bool) {
	v, ok := strings.CutPrefix(c.MAC, passkeyCodePrefix)
	if !ok {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	return b, err == nil && len(b) >= 16
}

// passkeyNames lists the names of a person's keys for a method label.
func passkeyNames(keys []Passkey) string {
	if len(keys) == 0 {
		return ""
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// validatePasskey: a passkey alone may finish a reset only where passkeys are offered, and only
// under a policy that otherwise asks for two methods (it is then the one single method that
// suffices).
func (p Policy) validatePasskey() []error {
	if !p.PasskeyAlone {
		return nil
	}
	var errs []error
	if !p.Allows(MethodPasskey) {
		errs = append(errs, errors.New("passkey alone needs passkeys among the methods"))
	}
	if p.Required != 2 {
		errs = append(errs, errors.New("passkey alone needs 2 methods required (otherwise any single method would do)"))
	}
	return errs
}

// Enough reports whether the proven methods complete a verification of a: the number
// required, never security questions alone; or, when the policy says so, one passkey (always
// user-verifying) for anyone who is not privileged. Privileged users always need two.
func (p Policy) Enough(a Account, proven []MethodKind) bool {
	if p.PasskeyAlone && !a.Privileged && p.Allows(MethodPasskey) {
		for _, m := range proven {
			if m == MethodPasskey {
				return true
			}
		}
	}
	return Complete(proven, p.RequiredFor(a))
}

// passkeys returns the ceremonies when the deployment offers passkeys.
func (e *Engine) passkeys() (PasskeyCeremonies, bool) {
	c, ok := e.methods[MethodPasskey].(PasskeyCeremonies)
	return c, ok
}

// PasskeyView is one registered key as the page lists it.
type PasskeyView struct {
	ID     string // base64url credential id (public)
	Name   string
	Synced bool // a multi-device passkey (backup eligible)
	Added  time.Time
}

// PasskeyViews lists the signed-in person's passkeys.
func (e *Engine) PasskeyViews(ctx context.Context, userID string) ([]PasskeyView, error) {
	en, err := e.d.Enrollments.Get(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []PasskeyView
	for _, k := range en.Methods[MethodPasskey].Passkeys {
		out = append(out, PasskeyView{ID: base64.RawURLEncoding.EncodeToString(k.ID), Name: k.Name, Synced: k.BackupEligible, Added: k.AddedAt})
	}
	return out, nil
}

// MaxPasskeys bounds how many keys one person registers.
const MaxPasskeys = 10

// passkeyUser builds the WebAuthn user entity of the person, with a new random handle when
// they have none yet.
func (e *Engine) passkeyUser(a Account, reg Registered) (PasskeyUser, error) {
	h := reg.Handle
	if len(h) == 0 {
		h = make([]byte, 32)
		if _, err := e.d.Rand.Read(h); err != nil {
			return PasskeyUser{}, err
		}
	}
	name := a.UPN
	if name == "" {
		name = a.Mail
	}
	return PasskeyUser{Handle: h, Name: name, DisplayName: a.DisplayName, Keys: reg.Passkeys}, nil
}

// CleanPasskeyName checks the name a person gives a key: 1 to 40 printable characters.
func CleanPasskeyName(name string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	n := utf8.RuneCountInString(name)
	if n == 0 || n > 40 || !validText(name) {
		return "", fmt.Errorf("%w: give the key a name of 1 to 40 characters, like YubiKey or iPhone", ErrBadRequest)
	}
	return name, nil
}

// BeginPasskey starts registering a passkey for the signed-in person: ws keeps the name, the
// challenge (single use, PasskeyChallengeTTL) and the handle; the page gets the options.
func (e *Engine) BeginPasskey(ctx context.Context, ws *WebState, name string) ([]byte, error) {
	if err := e.signedIn(ws); err != nil {
		return nil, err
	}
	c, ok := e.passkeys()
	pol, err := e.policy(ctx)
	if err != nil {
		return nil, err
	}
	if !ok || !pol.Allows(MethodPasskey) {
		return nil, ErrBadRequest
	}
	if name, err = CleanPasskeyName(name); err != nil {
		return nil, err
	}
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: ws.UserID})
	if err != nil {
		return nil, fmt.Errorf("flows: passkey lookup: %w", err)
	}
	en, err := e.d.Enrollments.Get(ctx, ws.UserID)
	if err != nil {
		return nil, err
	}
	reg := en.Methods[MethodPasskey]
	if len(reg.Passkeys) >= MaxPasskeys {
		return nil, fmt.Errorf("%w: you have %d keys already; remove one first", ErrBadRequest, MaxPasskeys)
	}
	u, err := e.passkeyUser(acct, reg)
	if err != nil {
		return nil, err
	}
	once, ok := e.d.Enrollments.(SingleUse)
	if !ok {
		return nil, errors.New("flows: the enrollment store keeps no single-use challenges")
	}
	challenge := make([]byte, 32)
	if _, err := e.d.Rand.Read(challenge); err != nil {
		return nil, err
	}
	if err := once.PutOnce(ctx, ws.UserID, e.passkeyMAC(challenge), PasskeyChallengeTTL); err != nil {
		return nil, err
	}
	opts, err := c.CreationOptions(u, challenge)
	if err != nil {
		return nil, fmt.Errorf("flows: passkey options: %w", err)
	}
	ws.Purpose, ws.Reconfirm = PurposeRegister, false
	// the pending fields of the (sealed) browser session carry the name, and the challenge
	// with the user handle it was issued for
	ws.PendingKind, ws.PendingTOTP, ws.PendingEmail = MethodPasskey, "", name
	ws.PendingMAC = base64.RawURLEncoding.EncodeToString(challenge) + "." + base64.RawURLEncoding.EncodeToString(u.Handle)
	ws.PendingExpiry = e.d.Clock.Now().Add(PasskeyChallengeTTL)
	return opts, nil
}

func (e *Engine) passkeyMAC(challenge []byte) string {
	return e.d.MAC.MAC("passkey-register", base64.RawURLEncoding.EncodeToString(challenge))
}

// ErrPasskeyRefused: the browser's answer was not a valid passkey for this person and page.
var ErrPasskeyRefused = errors.New("passkey refused")

// FinishPasskey checks the browser's new credential against the pending challenge (spent
// whatever the outcome), adds it to the person's keys and announces it outside the chat.
func (e *Engine) FinishPasskey(ctx context.Context, ws *WebState, response []byte) (string, error) {
	if err := e.signedIn(ws); err != nil {
		return "", err
	}
	now := e.d.Clock.Now()
	pending, name := ws.PendingMAC, ws.PendingEmail
	live := ws.PendingKind == MethodPasskey && now.Before(ws.PendingExpiry)
	ws.PendingKind, ws.PendingMAC, ws.PendingEmail, ws.PendingExpiry = "", "", "", time.Time{}
	cs, h, ok := strings.Cut(pending, ".")
	challenge, err1 := base64.RawURLEncoding.DecodeString(cs)
	handle, err2 := base64.RawURLEncoding.DecodeString(h)
	c, have := e.passkeys()
	once, single := e.d.Enrollments.(SingleUse)
	if !live || !ok || err1 != nil || err2 != nil || !have || !single {
		return "", ErrBadRequest
	}
	spend := func() { _, _ = once.SpendOnce(ctx, ws.UserID, e.passkeyMAC(challenge)) }
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: ws.UserID})
	if err != nil {
		return "", fmt.Errorf("flows: passkey lookup: %w", err)
	}
	en, err := e.d.Enrollments.Get(ctx, ws.UserID)
	if err != nil {
		return "", err
	}
	reg := en.Methods[MethodPasskey]
	if len(reg.Handle) > 0 && !bytes.Equal(reg.Handle, handle) {
		return "", ErrBadRequest // a key was registered meanwhile under another handle
	}
	reg.Kind, reg.Handle = MethodPasskey, handle
	u := PasskeyUser{Handle: handle, Name: acct.UPN, DisplayName: acct.DisplayName, Keys: reg.Passkeys}
	ev := AuditEvent{Time: now, Actor: ws.ChatKey, Subject: ws.UserID, Action: "register", Reason: string(MethodPasskey)}
	key, err := c.Create(u, challenge, response)
	if err != nil {
		spend()
		ev.Outcome = "failed"
		ev.Reason += ": " + err.Error()
		e.audit(ctx, ev)
		return "", fmt.Errorf("%w: %v", ErrPasskeyRefused, err)
	}
	for _, k := range reg.Passkeys {
		if bytes.Equal(k.ID, key.ID) {
			spend()
			return "", fmt.Errorf("%w: this key is registered already", ErrBadRequest)
		}
	}
	key.Name, key.AddedAt = name, now
	reg.Passkeys = append(reg.Passkeys, key)
	reg.RegisteredAt = now
	// the challenge is spent by the write it allows: of two posts of one answer, one registers
	switch stored, err := once.RegisterOnce(ctx, ws.UserID, e.passkeyMAC(challenge), reg); {
	case err != nil:
		return "", fmt.Errorf("flows: register passkey: %w", err)
	case !stored:
		return "", fmt.Errorf("%w: this passkey request was used already; please start again", ErrBadRequest)
	}
	ev.Outcome = "ok"
	e.audit(ctx, ev)
	e.mailUser(ctx, acct, "A passkey was added to your account",
		fmt.Sprintf("Hello %s,\n\na passkey or security key named %q was set up for password self-service on %s.\n\n"+
			"If this wasn't you, contact the helpdesk now: %s\n", acct.DisplayName, name,
			now.UTC().Format("2 Jan 2006 15:04 MST"), e.policyOrDefault(ctx, "passkey notice").HelpdeskURL))
	return name, nil
}

// RemovePasskey removes one of the signed-in person's keys (the method goes with the last one)
// and announces it outside the chat.
func (e *Engine) RemovePasskey(ctx context.Context, ws *WebState, id string) (string, error) {
	if err := e.signedIn(ws); err != nil {
		return "", err
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) == 0 {
		return "", ErrBadRequest
	}
	en, err := e.d.Enrollments.Get(ctx, ws.UserID)
	if err != nil {
		return "", err
	}
	reg, ok := en.Methods[MethodPasskey]
	if !ok {
		return "", ErrBadRequest
	}
	name := ""
	keep := reg.Passkeys[:0:0]
	for _, k := range reg.Passkeys {
		if bytes.Equal(k.ID, raw) {
			name = k.Name
			continue
		}
		keep = append(keep, k)
	}
	if name == "" {
		return "", ErrBadRequest
	}
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: ws.UserID})
	if err != nil {
		return "", fmt.Errorf("flows: passkey lookup: %w", err)
	}
	now := e.d.Clock.Now()
	e.mailUser(ctx, acct, "A passkey was removed from your account",
		fmt.Sprintf("Hello %s,\n\nthe passkey or security key named %q was removed from self-service password reset on %s.\n\n"+
			"If this wasn't you, contact the helpdesk now: %s\n", acct.DisplayName, name,
			now.UTC().Format("2 Jan 2006 15:04 MST"), e.policyOrDefault(ctx, "removal notice").HelpdeskURL))
	if len(keep) == 0 {
		err = e.d.Enrollments.Remove(ctx, ws.UserID, MethodPasskey)
	} else {
		reg.Passkeys = keep
		err = e.d.Enrollments.Register(ctx, ws.UserID, reg, 0)
	}
	if err != nil {
		return "", fmt.Errorf("flows: remove passkey: %w", err)
	}
	e.audit(ctx, AuditEvent{Time: now, Actor: ws.ChatKey, Subject: ws.UserID, Action: "remove", Outcome: "ok", Reason: string(MethodPasskey)})
	return name, nil
}

// OpenPasskey returns the request options of a live passkey link (GET: nothing is consumed;
// the challenge is not a secret, only fresh and single-use).
func (e *Engine) OpenPasskey(ctx context.Context, token string) ([]byte, error) {
	v, err := e.OpenLink(ctx, token)
	if err != nil || v.Purpose != PurposePasskey || v.Session.State != StateAwaitCode || v.Session.Method != MethodPasskey {
		return nil, ErrLinkGone
	}
	c, ok := e.passkeys()
	if !ok {
		return nil, ErrLinkGone
	}
	snap, err := e.d.Sessions.Load(ctx, v.UserID, v.Session.Chat.Key())
	if err != nil {
		return nil, err
	}
	challenge, ok := PasskeyChallengeOf(snap.Code)
	if !ok || !e.d.Clock.Now().Before(snap.Code.ExpiresAt) {
		return nil, ErrLinkGone
	}
	reg, ok := snap.Enrollment.Methods[MethodPasskey]
	if !ok || len(reg.Passkeys) == 0 {
		return nil, ErrLinkGone
	}
	return c.RequestOptions(PasskeyUser{Handle: reg.Handle, Keys: reg.Passkeys}, challenge)
}

// ProvePasskey consumes a passkey link (POST) and judges the browser's assertion as one counted
// attempt, exactly as a code typed in chat: the challenge is spent by the same atomic step that
// counts the attempt and stores the key's new signature count. The chat is told what comes
// next; true when the proof was accepted.
func (e *Engine) ProvePasskey(ctx context.Context, token string, response []byte) (bool, error) {
	r, err := e.ProvePasskeyOnPage(ctx, token, response)
	return r.OK, err
}

// ProvePasskeyOnPage is ProvePasskey for the page: a chat is told what comes next, the
// recovery page is given it.
func (e *Engine) ProvePasskeyOnPage(ctx context.Context, token string, response []byte) (PageResult, error) {
	return e.answerOnPage(ctx, token, PurposePasskey, MethodPasskey, string(response), "passkey:")
}

// refusedProof audits why a method refused a proof, when it says; a cloned passkey also
// alerts the bot admins.
func (e *Engine) refusedProof(ctx context.Context, s *step, p Proof) {
	if p.Reason != "" {
		s.audit(string(s.sess.Method), "refused", p.Reason)
	}
	if !p.Clone {
		return
	}
	ev := AuditEvent{Time: s.now, Actor: s.in.Chat.Key(), Subject: s.acct.ID, Platform: s.in.Chat.Platform,
		Action: "passkey_clone", Outcome: "refused", Reason: "signature count went backwards"}
	s.audits = append(s.audits, ev)
	if e.d.Alerts != nil {
		e.d.Alerts.Alert(ctx, ev, fmt.Sprintf("A passkey of %s (%s) signed with a signature count lower than before: "+
			"the key may have been cloned. The proof was refused. Check with the person and have them remove and replace that key.",
			s.acct.DisplayName, s.acct.UPN))
	}
}
