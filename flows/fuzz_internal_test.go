package flows

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// One-time tokens: any string parses without a panic, to a purpose and user id or to
// ErrLinkGone; a token the bot made parses back to what it was made for.
func FuzzParseToken(f *testing.F) {
	for _, p := range []Purpose{PurposeRegister, PurposeReset, PurposeQuestions, PurposeAdmin} {
		tok, _ := newToken(rand.Reader, p, "a11ce-0001")
		f.Add(tok, string(p), "a11ce-0001")
	}
	f.Add("", "reset", "")
	f.Add("UgA", "reset", "x")
	f.Fuzz(func(t *testing.T, tok, purpose, uid string) {
		p, id, err := parseToken(tok)
		if err != nil && err != ErrLinkGone {
			t.Fatalf("error %v", err)
		}
		if err == nil && (id == "" || len(id) > 255 || p == "") {
			t.Fatalf("accepted %q as %q for %q", tok, p, id)
		}
		made, err := newToken(bytes.NewReader(bytes.Repeat([]byte{7}, 64)), Purpose(purpose), uid)
		if err != nil {
			return // an over-long user id is refused
		}
		gp, gid, err := parseToken(made)
		if uid == "" {
			if err != ErrLinkGone {
				t.Fatalf("a token without a user parsed: %v", err)
			}
			return
		}
		if err != nil || gid != uid || gp != purposeOf(Purpose(purpose)) {
			t.Fatalf("round trip %q/%q: %q %q %v", purpose, uid, gp, gid, err)
		}
	})
}

// purposeOf is the purpose a token can carry (unknown purposes are registration links).
func purposeOf(p Purpose) Purpose {
	switch p {
	case PurposeReset, PurposeQuestions, PurposeAdmin:
		return p
	}
	return PurposeRegister
}
