package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// Authenticator flags (WebAuthn Level 3, 6.1).
const (
	FlagUP = 0x01 // user present
	FlagUV = 0x04 // user verified
	FlagBE = 0x08 // backup eligible
	FlagBS = 0x10 // backed up
	FlagAT = 0x40 // attested credential data included
)

// Key is one credential of the software authenticator.
type Key struct {
	ID     []byte
	Priv   *ecdsa.PrivateKey
	Count  uint32
	AAGUID [16]byte
	Flags  byte // FlagUP|FlagUV by default; add FlagBE for a synced passkey
	Handle []byte
	// Attester, when set, signs the registration with packed attestation (WebAuthn Level 3,
	// 8.2), as a vendor's security key does; nil: "none" attestation.
	Attester *Attester
}

// Attester is a vendor's attestation: a root certificate and an attestation certificate it
// issued for one authenticator model (its AAGUID in the id-fido-gen-ce-aaguid extension).
type Attester struct {
	Root    *x509.Certificate
	RootPEM []byte
	key     *ecdsa.PrivateKey
	cert    []byte // DER
}

// NewAttester makes a vendor root and an attestation certificate for the model aaguid, meeting
// the packed format's certificate requirements (WebAuthn Level 3, 8.2.1).
func NewAttester(vendor string, aaguid [16]byte) *Attester {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: vendor + " Attestation Root", Organization: []string{vendor}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		panic(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	ext, _ := asn1.Marshal(aaguid[:]) // an OCTET STRING holding the AAGUID
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject:   pkix.Name{Country: []string{"SE"}, Organization: []string{vendor}, OrganizationalUnit: []string{"Authenticator Attestation"}, CommonName: vendor + " key"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), BasicConstraintsValid: true,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}, Value: ext}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, &key.PublicKey, rootKey)
	if err != nil {
		panic(err)
	}
	return &Attester{Root: root, RootPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}), key: key, cert: der}
}

// attest is the packed attestation statement over authData and the client data.
func (a *Attester) attest(authData, clientDataJSON []byte) map[string]any {
	h := sha256.Sum256(clientDataJSON)
	digest := sha256.Sum256(append(append([]byte(nil), authData...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		panic(err)
	}
	return map[string]any{"alg": -7, "sig": sig, "x5c": []any{a.cert}}
}

// NewKey makes a P-256 credential that verifies its user.
func NewKey() *Key {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &Key{ID: id, Priv: priv, Flags: FlagUP | FlagUV}
}

// Ceremony is what a browser puts in the client data; Origin and RPID default to what the
// options ask for, so a test sets them only to make them wrong.
type Ceremony struct {
	Origin    string
	RPID      string
	Challenge string // base64url; default the options' challenge
	Type      string // default webauthn.create / webauthn.get
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rpHash(rpID string) []byte { h := sha256.Sum256([]byte(rpID)); return h[:] }

func (k *Key) cose() []byte {
	pub := k.Priv.PublicKey
	x, y := make([]byte, 32), make([]byte, 32)
	pub.X.FillBytes(x)
	pub.Y.FillBytes(y)
	b, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		panic(err)
	}
	return b
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

// Create answers creation options (the JSON of PublicKeyCredentialCreationOptions) with a
// "none" attestation of k.
func (k *Key) Create(options []byte, origin string, c Ceremony) []byte {
	var o struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		panic(err)
	}
	c = c.defaults(o.Challenge, o.RP.ID, origin, "webauthn.create")
	k.Handle, _ = base64.RawURLEncoding.DecodeString(o.User.ID)
	auth := append(rpHash(c.RPID), k.Flags|FlagAT)
	auth = binary.BigEndian.AppendUint32(auth, k.Count)
	auth = append(auth, k.AAGUID[:]...)
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(k.ID)))
	auth = append(append(auth, k.ID...), k.cose()...)
	cd := clientData(c.Type, c.Challenge, c.Origin)
	obj := map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth}
	if k.Attester != nil {
		obj["fmt"], obj["attStmt"] = "packed", k.Attester.attest(auth, cd)
	}
	att, err := webauthncbor.Marshal(obj)
	if err != nil {
		panic(err)
	}
	out, _ := json.Marshal(map[string]any{"id": b64(k.ID), "rawId": b64(k.ID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64(cd), "attestationObject": b64(att),
			"transports": []string{"internal"}}, "clientExtensionResults": map[string]any{}})
	return out
}

// Get answers request options (the JSON of PublicKeyCredentialRequestOptions) with an
// assertion by k; the count goes up by one first, as a real authenticator's does.
func (k *Key) Get(options []byte, origin string, c Ceremony) []byte {
	var o struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		panic(err)
	}
	c = c.defaults(o.Challenge, o.RPID, origin, "webauthn.get")
	k.Count++
	auth := append(rpHash(c.RPID), k.Flags)
	auth = binary.BigEndian.AppendUint32(auth, k.Count)
	cd := clientData(c.Type, c.Challenge, c.Origin)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte(nil), auth...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.Priv, digest[:])
	if err != nil {
		panic(err)
	}
	out, _ := json.Marshal(map[string]any{"id": b64(k.ID), "rawId": b64(k.ID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64(cd), "authenticatorData": b64(auth), "signature": b64(sig),
			"userHandle": b64(k.Handle)}, "clientExtensionResults": map[string]any{}})
	return out
}

func (c Ceremony) defaults(challenge, rpID, origin, typ string) Ceremony {
	if c.Challenge == "" {
		c.Challenge = challenge
	}
	if c.RPID == "" {
		c.RPID = rpID
	}
	if c.Origin == "" {
		c.Origin = origin
	}
	if c.Type == "" {
		c.Type = typ
	}
	return c
}

// ID64 is the key's credential id as the options and pages carry it (base64url).
func (k *Key) ID64() string { return b64(k.ID) }
