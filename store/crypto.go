package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// Keys are the secrets the store uses: sealing keys by id (AES-256) and the MAC key.
type Keys struct {
	SealKeys  map[string][]byte // key id → 32 bytes
	CurrentID string            // seals new values
	MACKey    []byte            // at least 32 bytes
	// OldMACKeys are former MAC keys, still accepted when checking or looking up a MAC (rotation
	// without downtime); new MACs always use MACKey.
	OldMACKeys [][]byte
}

// Validate reports every problem with the keys at once.
func (k Keys) Validate() error {
	var errs []error
	if len(k.SealKeys) == 0 {
		errs = append(errs, errors.New("no sealing key"))
	}
	for id, key := range k.SealKeys {
		if len(key) != 32 {
			errs = append(errs, fmt.Errorf("sealing key %q must be 32 bytes, is %d", id, len(key)))
		}
		if id == "" || strings.ContainsAny(id, ":|") {
			errs = append(errs, fmt.Errorf("sealing key id %q must be non-empty without ':' or '|'", id))
		}
	}
	if _, ok := k.SealKeys[k.CurrentID]; !ok && len(k.SealKeys) > 0 {
		errs = append(errs, fmt.Errorf("current sealing key %q is not among the keys", k.CurrentID))
	}
	if len(k.MACKey) < 32 {
		errs = append(errs, errors.New("MAC key must be at least 32 bytes"))
	}
	for i, old := range k.OldMACKeys {
		if len(old) < 32 {
			errs = append(errs, fmt.Errorf("old MAC key %d must be at least 32 bytes", i+1))
		}
		if hmac.Equal(old, k.MACKey) {
			errs = append(errs, fmt.Errorf("old MAC key %d is the current MAC key", i+1))
		}
	}
	return errors.Join(errs...)
}

// Crypto seals values with AES-256-GCM and MACs secrets with HMAC-SHA256.
type Crypto struct {
	aeads map[string]cipher.AEAD
	cur   string
	mac   []byte
	old   [][]byte
	macs  sync.Pool // HMAC-SHA256 states under mac, reset before each use
}

// NewCrypto builds the sealer and MACer from validated keys.
func NewCrypto(k Keys) (*Crypto, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	c := &Crypto{aeads: map[string]cipher.AEAD{}, cur: k.CurrentID, mac: append([]byte(nil), k.MACKey...)}
	for _, o := range k.OldMACKeys {
		c.old = append(c.old, append([]byte(nil), o...))
	}
	for id, key := range k.SealKeys {
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		g, err := cipher.NewGCM(b)
		if err != nil {
			return nil, err
		}
		c.aeads[id] = g
	}
	return c, nil
}

// Seal encrypts plain, bound to aad (user id and field name) so sealed values cannot be
// swapped between users or fields. The result names the key id for rotation.
func (c *Crypto) Seal(aad, plain string) (string, error) {
	g := c.aeads[c.cur]
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := g.Seal(nonce, nonce, []byte(plain), []byte(aad))
	return c.cur + ":" + base64.RawStdEncoding.EncodeToString(ct), nil
}

// ErrUnseal: a sealed value could not be opened (wrong key, field or user, or tampered).
var ErrUnseal = errors.New("store: cannot unseal value")

// Open decrypts a value sealed with the same aad.
func (c *Crypto) Open(aad, sealed string) (string, error) {
	pt, err := c.open(nil, []byte(aad), sealed)
	return string(pt), err
}

// open decrypts a value sealed with the same aad into the buffer its ciphertext was decoded
// into: buf when it is large enough, else one allocation. The caller owns the result (nothing
// keeps it).
func (c *Crypto) open(buf, aad []byte, sealed string) ([]byte, error) {
	id, b64, ok := strings.Cut(sealed, ":")
	if !ok {
		return nil, ErrUnseal
	}
	g, ok := c.aeads[id]
	if !ok {
		return nil, ErrUnseal
	}
	ct := buf[:0]
	if n := base64.RawStdEncoding.DecodedLen(len(b64)); cap(ct) < n {
		ct = make([]byte, n)
	} else {
		ct = ct[:n]
	}
	n, err := base64.RawStdEncoding.Decode(ct, []byte(b64))
	ct = ct[:n]
	ns := g.NonceSize()
	if err != nil || len(ct) < ns {
		return nil, ErrUnseal
	}
	pt, err := g.Open(ct[ns:ns], ct[:ns], ct[ns:], aad)
	if err != nil {
		return nil, ErrUnseal
	}
	return pt, nil
}

// MAC is HMAC-SHA256 over the parts, length-prefixed so parts cannot run into each other.
func (c *Crypto) MAC(parts ...string) string { return c.currentMAC(parts) }

// MACs returns the MAC of the parts under every accepted key, the current key first and then
// the old keys of a rotation. Without old keys it is MAC alone.
func (c *Crypto) MACs(parts ...string) []string {
	out := make([]string, 0, 1+len(c.old))
	out = append(out, c.currentMAC(parts))
	for _, k := range c.old {
		out = append(out, macWith(k, parts))
	}
	return out
}

// currentMAC is the MAC under the current key, with an HMAC state from the pool.
func (c *Crypto) currentMAC(parts []string) string {
	h, _ := c.macs.Get().(hash.Hash)
	if h == nil {
		h = hmac.New(sha256.New, c.mac)
	}
	s := macSum(h, parts)
	c.macs.Put(h)
	return s
}

func macWith(key []byte, parts []string) string { return macSum(hmac.New(sha256.New, key), parts) }

// macSum resets h and returns its hex sum over the parts, each written as its length in
// decimal, a colon, then the part.
func macSum(h hash.Hash, parts []string) string {
	h.Reset()
	n := 0
	for _, p := range parts {
		n += len(p) + 4
	}
	b := make([]byte, 0, n+16+3*sha256.Size) // the message, then room for the sum and its hex
	for _, p := range parts {
		b = strconv.AppendInt(b, int64(len(p)), 10)
		b = append(b, ':')
		b = append(b, p...)
	}
	h.Write(b)
	m := len(b)
	b = h.Sum(b)
	b = hex.AppendEncode(b, b[m:])
	return string(b[m+h.Size():])
}
