package passkey

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/resetbot/resetbot/flows"
)

// Config is the relying party.
type Config struct {
	// BaseURL is PUBLIC_BASE_URL: the origin every ceremony must come from; its host is the
	// RP ID (WebAuthn Level 3, 5.1.3 and 7.1 step 9: the origin is checked, 7.2 step 15: the
	// rpIdHash is checked).
	BaseURL string
	// AAGUIDs, when set, is the organisation's allow-list of authenticator models: a key
	// registers only with signed attestation naming one of them (not "none" or self
	// attestation, whose AAGUID any software can claim).
	AAGUIDs []uuid.UUID
	// Roots are the vendors' attestation root certificates (PASSKEY_ATTESTATION_ROOTS), needed
	// with an allow-list: an attestation counts only when its certificate chain (x5c) leads to
	// one of them, so a crafted authenticator cannot claim an allowed model (WebAuthn Level 3,
	// 7.1 step 23: assess the attestation's trustworthiness against acceptable trust anchors).
	Roots *x509.CertPool
	Rand  io.Reader // crypto/rand when nil
}

// Method implements flows.Method and flows.PasskeyCeremonies.
type Method struct {
	wa      *webauthn.WebAuthn
	rpID    string
	aaguids []uuid.UUID
	roots   *x509.CertPool
	rand    io.Reader
}

var (
	_ flows.Method            = (*Method)(nil)
	_ flows.PasskeyCeremonies = (*Method)(nil)
)

// ParseAAGUIDs reads a comma-separated list of AAGUIDs (PASSKEY_AAGUIDS).
func ParseAAGUIDs(s string) ([]uuid.UUID, error) {
	var out []uuid.UUID
	var errs []error
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, err := uuid.Parse(f)
		if err != nil || id == uuid.Nil {
			errs = append(errs, fmt.Errorf("%q is not an authenticator AAGUID (a UUID like cb69481e-8ff7-4039-93ec-0a2729a154a8)", f))
			continue
		}
		out = append(out, id)
	}
	return out, errors.Join(errs...)
}

// New builds the method for the relying party at c.BaseURL.
func New(c Config) (*Method, error) {
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("passkey: the base URL %q is not an http(s) origin", c.BaseURL)
	}
	if net.ParseIP(u.Hostname()) != nil {
		return nil, ErrNoDomain
	}
	if len(c.AAGUIDs) > 0 && c.Roots == nil {
		return nil, ErrNoRoots
	}
	att := protocol.PreferNoAttestation
	if len(c.AAGUIDs) > 0 {
		att = protocol.PreferDirectAttestation
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID: u.Hostname(), RPDisplayName: "resetbot", RPOrigins: []string{u.Scheme + "://" + u.Host},
		AttestationPreference: att,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			UserVerification: protocol.VerificationRequired,
			// a passkey where the device can keep one; a plain security key otherwise
			ResidentKey: protocol.ResidentKeyRequirementPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: flows.PasskeyChallengeTTL, TimeoutUVD: flows.PasskeyChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: flows.PasskeyChallengeTTL, TimeoutUVD: flows.PasskeyChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	r := c.Rand
	if r == nil {
		r = rand.Reader
	}
	return &Method{wa: wa, rpID: u.Hostname(), aaguids: c.AAGUIDs, roots: c.Roots, rand: r}, nil
}

// Kind is flows.MethodPasskey.
func (*Method) Kind() flows.MethodKind { return flows.MethodPasskey }

// user adapts a person to go-webauthn.
type user struct{ flows.PasskeyUser }

func (u user) WebAuthnID() []byte          { return u.Handle }
func (u user) WebAuthnName() string        { return u.Name }
func (u user) WebAuthnDisplayName() string { return u.DisplayName }
func (u user) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(u.Keys))
	for i, k := range u.Keys {
		out[i] = credential(k)
	}
	return out
}

func credential(k flows.Passkey) webauthn.Credential {
	tr := make([]protocol.AuthenticatorTransport, len(k.Transports))
	for i, t := range k.Transports {
		tr[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{ID: k.ID, PublicKey: k.PublicKey, AttestationFormat: k.Attestation, Transport: tr,
		Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: k.BackupEligible, BackupState: k.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: k.AAGUID, SignCount: k.SignCount}}
}

// session is what go-webauthn checks a response against: our own single-use challenge, the RP
// ID, user verification required.
func (m *Method) session(u flows.PasskeyUser, challenge []byte, allow bool) webauthn.SessionData {
	s := webauthn.SessionData{Challenge: protocol.URLEncodedBase64(challenge).String(), RelyingPartyID: m.rpID,
		UserID: u.Handle, UserVerification: protocol.VerificationRequired, CredParams: webauthn.CredentialParametersDefault()}
	if allow {
		for _, k := range u.Keys {
			s.AllowedCredentialIDs = append(s.AllowedCredentialIDs, k.ID)
		}
	}
	return s
}

// CreationOptions are the options of navigator.credentials.create: the person's keys are
// excluded so one authenticator is not registered twice.
func (m *Method) CreationOptions(u flows.PasskeyUser, challenge []byte) ([]byte, error) {
	var excl []protocol.CredentialDescriptor
	for _, k := range u.Keys {
		c := credential(k)
		excl = append(excl, c.Descriptor())
	}
	c, _, err := m.wa.BeginRegistration(user{u}, webauthn.WithExclusions(excl))
	if err != nil {
		return nil, err
	}
	c.Response.Challenge = challenge
	return json.Marshal(c.Response)
}

// ErrNoDomain: browsers offer passkeys only to a domain name (the RP ID), never to an IP
// address; a deployment reached by address offers no passkeys.
var ErrNoDomain = errors.New("passkeys need PUBLIC_BASE_URL to name a domain (like localhost), not an IP address")

// ErrNotAllowed: the key's model is not on the organisation's allow-list.
var ErrNotAllowed = errors.New("this kind of key is not allowed here")

// ErrNoRoots: an allow-list of models means nothing without the vendors' roots to check the
// attestation against.
var ErrNoRoots = errors.New("PASSKEY_AAGUIDS needs PASSKEY_ATTESTATION_ROOTS: the attestation root certificates of the allowed keys' vendors")

// trusted checks that an attestation's certificate chain (x5c: the attestation certificate,
// then any intermediates) leads to one of the configured roots.
func (m *Method) trusted(stmt map[string]any) bool {
	x5c, _ := stmt["x5c"].([]any)
	var certs []*x509.Certificate
	for _, raw := range x5c {
		b, ok := raw.([]byte)
		if !ok {
			return false
		}
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return false
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 || m.roots == nil {
		return false
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: m.roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err == nil
}

// Create checks a new credential (origin, RP ID, challenge, user presence and verification,
// attestation when an allow-list is set) and returns it for storing.
func (m *Method) Create(u flows.PasskeyUser, challenge, response []byte) (flows.Passkey, error) {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return flows.Passkey{}, fmt.Errorf("unreadable response: %w", err)
	}
	c, err := m.wa.CreateCredential(user{u}, m.session(u, challenge, false), parsed)
	if err != nil {
		return flows.Passkey{}, describe(err)
	}
	if len(m.aaguids) > 0 {
		id, err := uuid.FromBytes(c.Authenticator.AAGUID)
		if err != nil || c.AttestationFormat == "none" || c.AttestationType == "self" || !slices.Contains(m.aaguids, id) ||
			!m.trusted(parsed.Response.AttestationObject.AttStatement) {
			return flows.Passkey{}, ErrNotAllowed
		}
	}
	k := flows.Passkey{ID: c.ID, PublicKey: c.PublicKey, AAGUID: c.Authenticator.AAGUID, Attestation: c.AttestationFormat,
		SignCount: c.Authenticator.SignCount, BackupEligible: c.Flags.BackupEligible, BackupState: c.Flags.BackupState}
	for _, t := range c.Transport {
		k.Transports = append(k.Transports, string(t))
	}
	return k, nil
}

// RequestOptions are the options of navigator.credentials.get: the person's keys only.
func (m *Method) RequestOptions(u flows.PasskeyUser, challenge []byte) ([]byte, error) {
	a, _, err := m.wa.BeginLogin(user{u}, webauthn.WithChallenge(challenge), webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	return json.Marshal(a.Response)
}

// Challenge makes a fresh challenge, kept as the session's pending code (spent by the attempt
// that uses it) and answered on a one-time page.
func (m *Method) Challenge(_ context.Context, _ flows.Account, e flows.Enrollment, _ flows.Policy, _ string, now time.Time) (flows.Challenge, error) {
	if len(e.Methods[flows.MethodPasskey].Passkeys) == 0 {
		return flows.Challenge{}, fmt.Errorf("passkey: %w", flows.ErrNotFound)
	}
	b := make([]byte, 32)
	if _, err := io.ReadFull(m.rand, b); err != nil {
		return flows.Challenge{}, err
	}
	code := flows.PasskeyChallengeCode(b, now)
	return flows.Challenge{Code: &code, Msg: flows.MsgPasskeyLink, Link: flows.PurposePasskey}, nil
}

// Check judges an assertion (WebAuthn Level 3, 7.2): one of the person's keys, the pending
// challenge, this origin and RP ID, user presence and verification, a valid signature, an
// unchanged backup eligibility and a signature count that moved forward (or stays zero for
// authenticators without a counter). A count that went backwards is a clone: refused, and
// reported. The accepted key's new count and backup state come back as the record to store.
func (m *Method) Check(_ flows.Account, e flows.Enrollment, _ string, stored flows.StoredCode, answer string, now time.Time) flows.Proof {
	challenge, ok := flows.PasskeyChallengeOf(stored)
	if !ok {
		return flows.Proof{Reason: "no pending challenge"}
	}
	p := flows.Proof{CodeMAC: stored.MAC, Once: true}
	if !now.Before(stored.ExpiresAt) {
		p.Expired = true
		return p
	}
	reg := e.Methods[flows.MethodPasskey]
	u := flows.PasskeyUser{Handle: reg.Handle, Keys: reg.Passkeys}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(answer))
	if err != nil {
		p.Reason = "unreadable assertion"
		return p
	}
	c, err := m.wa.ValidateLogin(user{u}, m.session(u, challenge, true), parsed)
	if err != nil {
		p.Reason = describe(err).Error()
		return p
	}
	if c.Authenticator.CloneWarning {
		p.Clone, p.Reason = true, "signature count went backwards"
		return p
	}
	next := reg
	next.Passkeys = slices.Clone(reg.Passkeys)
	for i, k := range next.Passkeys {
		if bytes.Equal(k.ID, c.ID) {
			k.SignCount, k.BackupState, k.LastUsed = c.Authenticator.SignCount, c.Flags.BackupState, now
			next.Passkeys[i] = k
		}
	}
	p.Correct, p.Update = true, &next
	return p
}

// describe keeps go-webauthn's reason for the audit log (its details name the failed check).
func describe(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		if pe.DevInfo != "" {
			return fmt.Errorf("%s: %s (%s)", pe.Type, pe.Details, pe.DevInfo)
		}
		return fmt.Errorf("%s: %s", pe.Type, pe.Details)
	}
	return err
}
