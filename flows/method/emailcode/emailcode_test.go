package emailcode_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/emailcode"
)

type macer struct{}

func (macer) MAC(parts ...string) string {
	h := hmac.New(sha256.New, []byte("k"))
	h.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h.Sum(nil))
}

type mailbox struct{ got []flows.Mail }

func (m *mailbox) Send(_ context.Context, x flows.Mail) error { m.got = append(m.got, x); return nil }

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		c, err := emailcode.NewCode(rand.Reader)
		if err != nil || len(c) != 6 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("%q %v", c, err)
		}
		seen[c] = true
	}
	if len(seen) < 1990 {
		t.Fatalf("only %d distinct codes of 2000", len(seen))
	}
}

func TestChallengeAndCheck(t *testing.T) {
	mb := &mailbox{}
	m := &emailcode.Method{Mailer: mb, MAC: macer{}, Rand: rand.Reader}
	now := time.Unix(1_800_000_000, 0)
	a := flows.Account{ID: "u1"}
	en := flows.Enrollment{Methods: map[flows.MethodKind]flows.Registered{flows.MethodEmail: {Address: "me@mail.test"}}}
	ch, err := m.Challenge(context.Background(), a, en, "s1", now)
	if err != nil || ch.Code == nil || ch.Send == nil {
		t.Fatalf("%+v %v", ch, err)
	}
	if err := ch.Send(context.Background()); err != nil || len(mb.got) != 1 {
		t.Fatal(err)
	}
	body := mb.got[0].Body
	code := body[strings.Index(body, "is ")+3 : strings.Index(body, "is ")+9]
	if strings.Contains(ch.Code.MAC, code) {
		t.Fatal("the stored record holds the code")
	}
	if p := m.Check(a, en, "s1", *ch.Code, code, now); !p.Correct {
		t.Fatal("right code refused")
	}
	if p := m.Check(a, en, "s2", *ch.Code, code, now); p.Correct {
		t.Fatal("code accepted in another session")
	}
	if p := m.Check(flows.Account{ID: "u2"}, en, "s1", *ch.Code, code, now); p.Correct {
		t.Fatal("code accepted for another user")
	}
	if p := m.Check(a, en, "s1", *ch.Code, code, now.Add(emailcode.TTL)); p.Correct || !p.Expired {
		t.Fatal("expired code accepted")
	}
}

func TestParseAddress(t *testing.T) {
	for in, ok := range map[string]bool{
		"a@b.co": true, " Me@Mail.Test ": true, "Name <a@b.co>": false, "a@b": false, "a@@b.co": false, "": false,
		strings.Repeat("a", 250) + "@b.co": false, "a@b.co\r\nBcc: x@y.z": false, "a,b@c.de": false,
	} {
		_, err := emailcode.ParseAddress(in)
		if (err == nil) != ok {
			t.Errorf("%q: %v", in, err)
		}
	}
}
