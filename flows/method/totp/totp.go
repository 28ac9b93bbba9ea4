package totp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image/png"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/resetbot/resetbot/flows"
)

const (
	period = 30
	skew   = 1
	digits = otp.DigitsSix
)

var opts = pqtotp.ValidateOpts{Period: period, Skew: 0, Digits: digits, Algorithm: otp.AlgorithmSHA1}

// Method implements flows.Method and flows.Enroller for authenticator apps.
type Method struct {
	Issuer string    // shown in the app
	Rand   io.Reader // crypto/rand in production
}

var (
	_ flows.Method        = Method{}
	_ flows.Enroller      = Method{}
	_ flows.PendingShower = Method{}
)

// Kind is flows.MethodTOTP.
func (Method) Kind() flows.MethodKind { return flows.MethodTOTP }

// Challenge only asks for the code: nothing is sent.
func (Method) Challenge(context.Context, flows.Account, flows.Enrollment, flows.Policy, string, time.Time) (flows.Challenge, error) {
	return flows.Challenge{Msg: flows.MsgEnterTOTP}, nil
}

// Check accepts a code of the current step or one step either side, above the last accepted.
func (Method) Check(_ flows.Account, e flows.Enrollment, _ string, _ flows.StoredCode, answer string, now time.Time) flows.Proof {
	reg, ok := e.Methods[flows.MethodTOTP]
	if !ok {
		return flows.Proof{}
	}
	step, ok := Match(reg.Secret, flows.CodeDigits(answer), now)
	if !ok {
		return flows.Proof{Step: step}
	}
	if step <= e.LastTOTPStep {
		return flows.Proof{Step: step, Reused: true}
	}
	return flows.Proof{Correct: true, Step: step}
}

// Match returns the step within one step of now whose code equals code. Every candidate is
// computed and compared in constant time so the timing does not depend on which matched. The
// codes are pquerna/otp's (Code; TestMatchIsTheLibrarysCodes compares them), with the secret
// decoded and the HMAC keyed once for the three steps instead of once for each.
func Match(secret, code string, now time.Time) (int64, bool) {
	key, err := decodeSecret(secret)
	if err != nil {
		return 0, false
	}
	mac := hmac.New(sha1.New, key)
	buf := make([]byte, 8, 8+sha1.Size) // the counter, then the HMAC
	cur := now.Unix() / period
	var found int64
	hit := 0
	for d := int64(-skew); d <= skew; d++ {
		s := cur + d
		binary.BigEndian.PutUint64(buf, uint64(s))
		mac.Reset()
		mac.Write(buf[:8])
		want := hotpDigits(mac.Sum(buf[:8])[8:])
		if len(want) == len(code) && subtle.ConstantTimeCompare(want[:], []byte(code)) == 1 {
			found = s
			hit = 1
		}
	}
	return found, hit == 1
}

// decodeSecret reads a base32 secret as pquerna/otp does: spaces around it trimmed, its
// padding optional, lower case accepted.
func decodeSecret(secret string) ([]byte, error) {
	secret = strings.TrimSpace(secret)
	if n := len(secret) % 8; n != 0 {
		secret += "========"[:8-n]
	}
	return base32.StdEncoding.DecodeString(strings.ToUpper(secret))
}

// hotpDigits is RFC 4226's dynamic truncation of an HMAC-SHA-1 sum to six decimal digits (digits
// is six).
func hotpDigits(sum []byte) [digits]byte {
	o := sum[len(sum)-1] & 0xf
	v := (uint32(sum[o])&0x7f)<<24 | uint32(sum[o+1])<<16 | uint32(sum[o+2])<<8 | uint32(sum[o+3])
	v %= 1_000_000
	var out [digits]byte
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return out
}

// Code returns the code of the step at t; tests and the demo helper use it.
func Code(secret string, t time.Time) (string, error) {
	return pqtotp.GenerateCodeCustom(secret, t, opts)
}

// Key is a freshly generated authenticator key.
type Key struct {
	Secret string // base32, shown for manual entry
	URL    string // otpauth:// URL
	QRPNG  string // data: URI of the QR code
}

// Generate makes a new 160-bit key from rand.
func Generate(issuer, account string, rand io.Reader) (Key, error) {
	return key(pqtotp.GenerateOpts{Issuer: issuer, AccountName: account, Period: period, Digits: digits,
		Algorithm: otp.AlgorithmSHA1, SecretSize: 20, Rand: rand})
}

// key makes the key (its QR code too) of the options.
func key(o pqtotp.GenerateOpts) (Key, error) {
	k, err := pqtotp.Generate(o)
	if err != nil {
		return Key{}, fmt.Errorf("totp: generate: %w", err)
	}
	img, err := k.Image(240, 240)
	if err != nil {
		return Key{}, fmt.Errorf("totp: qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Key{}, fmt.Errorf("totp: png: %w", err)
	}
	return Key{Secret: k.Secret(), URL: k.URL(), QRPNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// account is the name the app lists the key under.
func account(a flows.Account) string {
	if a.UPN != "" {
		return a.UPN
	}
	return a.Mail
}

// BeginEnrol generates a new key for the account; the page shows it after the POST.
func (m Method) BeginEnrol(_ context.Context, a flows.Account, _ string, _ flows.Policy, now time.Time) (flows.PendingEnrol, error) {
	k, err := Generate(m.Issuer, account(a), m.Rand)
	if err != nil {
		return flows.PendingEnrol{}, err
	}
	return flows.PendingEnrol{Secret: k.Secret, ExpiresAt: now.Add(flows.WebLifetime),
		Show: flows.EnrolShow{Secret: k.Secret, URL: k.URL, QR: k.QRPNG}}, nil
}

// ShowPending shows the pending key again (QR code and manual entry) after a wrong code: the
// same key, so an app that already scanned it keeps working.
func (m Method) ShowPending(a flows.Account, p flows.PendingEnrol) (flows.EnrolShow, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(p.Secret, "=")))
	if err != nil || len(raw) == 0 {
		return flows.EnrolShow{}, fmt.Errorf("totp: pending secret: %w", err)
	}
	k, err := key(pqtotp.GenerateOpts{Issuer: m.Issuer, AccountName: account(a), Period: period, Digits: digits,
		Algorithm: otp.AlgorithmSHA1, Secret: raw})
	if err != nil {
		return flows.EnrolShow{}, err
	}
	return flows.EnrolShow{Secret: k.Secret, URL: k.URL, QR: k.QRPNG}, nil
}

// ConfirmEnrol accepts the first code from the app and returns the step it used.
func (m Method) ConfirmEnrol(_ flows.Account, p flows.PendingEnrol, code string, now time.Time) (flows.Registered, int64, bool) {
	if p.Secret == "" || !now.Before(p.ExpiresAt) {
		return flows.Registered{}, 0, false
	}
	step, ok := Match(p.Secret, flows.CodeDigits(code), now)
	if !ok {
		return flows.Registered{}, 0, false
	}
	return flows.Registered{Kind: flows.MethodTOTP, Secret: p.Secret}, step, true
}
