package passkey_test

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/passkey"
	"github.com/resetbot/resetbot/flows/method/passkey/passkeytest"
	"github.com/resetbot/resetbot/internal/pemcerts"
)

const origin = "https://bot.test"

func newMethod(t *testing.T, aaguids ...uuid.UUID) *passkey.Method {
	t.Helper()
	m, err := passkey.New(passkey.Config{BaseURL: origin, AAGUIDs: aaguids})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func challenge() []byte { b := make([]byte, 32); _, _ = rand.Read(b); return b }

var person = flows.PasskeyUser{Handle: []byte("0123456789abcdef0123456789abcdef"), Name: "alice@contoso.test", DisplayName: "Alice"}

// register registers k for person and returns the enrollment that holds it.
func register(t *testing.T, m *passkey.Method, k *passkeytest.Key) flows.Enrollment {
	t.Helper()
	ch := challenge()
	opts, err := m.CreationOptions(person, ch)
	if err != nil {
		t.Fatal(err)
	}
	key, err := m.Create(person, ch, k.Create(opts, origin, passkeytest.Ceremony{}))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return flows.Enrollment{Methods: map[flows.MethodKind]flows.Registered{flows.MethodPasskey: {Kind: flows.MethodPasskey,
		Handle: person.Handle, Passkeys: []flows.Passkey{key}}}}
}

func TestRegistrationChecks(t *testing.T) {
	m := newMethod(t)
	for _, c := range []struct {
		name  string
		edit  func(k *passkeytest.Key)
		cer   passkeytest.Ceremony
		other []byte // answer another challenge than the one stored
		want  string
	}{
		{name: "good"},
		{name: "no user verification", edit: func(k *passkeytest.Key) { k.Flags = passkeytest.FlagUP }, want: "verification"},
		{name: "no user presence", edit: func(k *passkeytest.Key) { k.Flags = passkeytest.FlagUV }, want: "presen"},
		{name: "wrong origin", cer: passkeytest.Ceremony{Origin: "https://bot.test.evil.example"}, want: "origin"},
		{name: "wrong RP ID", cer: passkeytest.Ceremony{RPID: "evil.example"}, want: "RP"},
		{name: "wrong challenge", other: challenge(), want: "challenge"},
		{name: "an assertion instead", cer: passkeytest.Ceremony{Type: "webauthn.get"}, want: "type"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := passkeytest.NewKey()
			if c.edit != nil {
				c.edit(k)
			}
			ch := challenge()
			opts, err := m.CreationOptions(person, ch)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(opts), `"userVerification":"required"`) {
				t.Fatalf("options do not require user verification: %s", opts)
			}
			if c.other != nil {
				ch = c.other
			}
			key, err := m.Create(person, ch, k.Create(opts, origin, c.cer))
			if c.want == "" {
				if err != nil || string(key.ID) != string(k.ID) || len(key.PublicKey) == 0 {
					t.Fatalf("refused a good key: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.want)) {
				t.Errorf("refused with %v, expected it to name %q", err, c.want)
			}
		})
	}
}

// With an allow-list, a key registers only with signed attestation naming a listed model: a
// "none" attestation (whose AAGUID anyone can write) is refused even with a listed AAGUID.
// With an allow-list, a key registers only with packed attestation that names a listed model
// and whose certificate chain leads to a configured vendor root: "none" attestation, an
// unlisted model, and a listed model attested under an unknown root (what a crafted
// authenticator would send) are refused; an allow-list without roots does not start.
func TestAAGUIDAllowList(t *testing.T) {
	listed, other := uuid.New(), uuid.New()
	vendor, forger := passkeytest.NewAttester("Yubico", listed), passkeytest.NewAttester("Evil", listed)
	roots, err := pemcerts.Parse(vendor.RootPEM)
	if err != nil {
		t.Fatal(err)
	}
	m, err := passkey.New(passkey.Config{BaseURL: origin, AAGUIDs: []uuid.UUID{listed}, Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	ch := challenge()
	opts, err := m.CreationOptions(person, ch)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(opts), `"attestation":"direct"`) {
		t.Fatalf("an allow-list asks for attestation: %s", opts)
	}
	key := func(aaguid uuid.UUID, a *passkeytest.Attester) *passkeytest.Key {
		k := passkeytest.NewKey()
		k.AAGUID, k.Attester = aaguid, a
		return k
	}
	if _, err := m.Create(person, ch, key(listed, vendor).Create(opts, origin, passkeytest.Ceremony{})); err != nil {
		t.Fatalf("a listed model attested under the vendor's root: %v", err)
	}
	for name, k := range map[string]*passkeytest.Key{
		"unsigned AAGUID":                        key(listed, nil),
		"a listed model under an unknown root":   key(listed, forger),
		"an unlisted model under the known root": key(other, passkeytest.NewAttester("Yubico", other)),
	} {
		if _, err := m.Create(person, ch, k.Create(opts, origin, passkeytest.Ceremony{})); !errors.Is(err, passkey.ErrNotAllowed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := passkey.New(passkey.Config{BaseURL: origin, AAGUIDs: []uuid.UUID{listed}}); !errors.Is(err, passkey.ErrNoRoots) {
		t.Fatalf("an allow-list without roots: %v", err)
	}
	if _, err := pemcerts.Parse([]byte("not a certificate")); err == nil {
		t.Fatal("roots without a certificate were accepted")
	}
	if opts, _ := newMethod(t).CreationOptions(person, ch); !strings.Contains(string(opts), `"attestation":"none"`) {
		t.Fatalf("without a list, no attestation is asked for: %s", opts)
	}
	if _, err := passkey.ParseAAGUIDs("cb69481e-8ff7-4039-93ec-0a2729a154a8, nope"); err == nil {
		t.Fatal("a bad AAGUID was accepted")
	}
}

func TestNoPasskeysOnAnIPAddress(t *testing.T) {
	if _, err := passkey.New(passkey.Config{BaseURL: "http://127.0.0.1:8080"}); !errors.Is(err, passkey.ErrNoDomain) {
		t.Fatalf("IP address: %v", err)
	}
	if _, err := passkey.New(passkey.Config{BaseURL: "http://localhost:8080"}); err != nil {
		t.Fatalf("localhost: %v", err)
	}
}

func TestAssertionChecks(t *testing.T) {
	m := newMethod(t)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		edit   func(k *passkeytest.Key)
		cer    passkeytest.Ceremony
		stored func(flows.StoredCode) flows.StoredCode
		clone  bool
		want   string // a word of the audited reason; "" accepted
	}{
		{name: "good"},
		{name: "wrong challenge", cer: passkeytest.Ceremony{Challenge: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, want: "challenge"},
		{name: "wrong origin", cer: passkeytest.Ceremony{Origin: "https://login.bot.test.evil.example"}, want: "origin"},
		{name: "wrong RP ID", cer: passkeytest.Ceremony{RPID: "evil.example"}, want: "RP"},
		{name: "registration data instead", cer: passkeytest.Ceremony{Type: "webauthn.create"}, want: "type"},
		{name: "no user verification", edit: func(k *passkeytest.Key) { k.Flags = passkeytest.FlagUP }, want: "verification"},
		{name: "backup eligibility changed", edit: func(k *passkeytest.Key) { k.Flags |= passkeytest.FlagBE }, want: "Backup Eligible"},
		{name: "backed up but not eligible", edit: func(k *passkeytest.Key) { k.Flags |= passkeytest.FlagBS }, want: "Backup"},
		{name: "count went backwards", edit: func(k *passkeytest.Key) { k.Count = 2 }, clone: true, want: "backwards"},
		{name: "another key", edit: func(k *passkeytest.Key) { o := passkeytest.NewKey(); o.Handle = k.Handle; *k = *o }, want: "not owned"},
		{name: "bad signature", edit: func(k *passkeytest.Key) { k.Priv = passkeytest.NewKey().Priv }, want: "signature"},
		{name: "expired", stored: func(s flows.StoredCode) flows.StoredCode { s.ExpiresAt = now; return s }},
		{name: "no challenge", stored: func(flows.StoredCode) flows.StoredCode { return flows.StoredCode{} }, want: "challenge"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := passkeytest.NewKey()
			k.Count = 5
			en := register(t, m, k)
			stored := en.Methods[flows.MethodPasskey]
			ch := challenge()
			code := flows.PasskeyChallengeCode(ch, now.Add(-time.Minute))
			opts, err := m.RequestOptions(flows.PasskeyUser{Handle: stored.Handle, Keys: stored.Passkeys}, ch)
			if err != nil {
				t.Fatal(err)
			}
			if c.edit != nil {
				c.edit(k)
			}
			if c.stored != nil {
				code = c.stored(code)
			}
			p := m.Check(flows.Account{}, en, "s1", code, string(k.Get(opts, origin, c.cer)), now)
			if c.name == "expired" {
				if !p.Expired || p.Correct {
					t.Fatalf("expired challenge: %+v", p)
				}
				return
			}
			if c.want == "" {
				if !p.Correct || p.Update == nil || p.Update.Passkeys[0].SignCount != 6 || p.CodeMAC != code.MAC || !p.Once {
					t.Fatalf("good assertion: %+v", p)
				}
				return
			}
			if p.Correct || p.Update != nil || p.Clone != c.clone {
				t.Fatalf("accepted or misjudged: %+v", p)
			}
			if !strings.Contains(p.Reason, c.want) {
				t.Errorf("reason %q does not name %q", p.Reason, c.want)
			}
		})
	}
}
