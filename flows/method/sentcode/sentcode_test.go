package sentcode_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/emailcode"
	"github.com/resetbot/resetbot/flows/method/sentcode"
	"github.com/resetbot/resetbot/flows/method/smscode"
	"github.com/resetbot/resetbot/flows/method/voicecall"
)

type macer struct{}

func (macer) MAC(parts ...string) string {
	h := hmac.New(sha256.New, []byte("k"))
	h.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h.Sum(nil))
}

func (m macer) MACs(parts ...string) []string { return []string{m.MAC(parts...)} }

type outbox struct{ got []string }

func (o *outbox) Send(_ context.Context, m flows.Mail) error {
	o.got = append(o.got, m.Body)
	return nil
}
func (o *outbox) SendSMS(_ context.Context, to, body string) error {
	o.got = append(o.got, body)
	return nil
}
func (o *outbox) Call(_ context.Context, to, speech string) error {
	o.got = append(o.got, speech)
	return nil
}

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		c, err := sentcode.NewCode(rand.Reader)
		if err != nil || len(c) != 6 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("%q %v", c, err)
		}
		seen[c] = true
	}
	if len(seen) < 1990 {
		t.Fatalf("only %d distinct codes of 2000", len(seen))
	}
}

// codeOf finds the six digits in what was delivered (the call spells them out).
func codeOf(s string) string { d := flows.CodeDigits(s[strings.Index(s, "code is"):]); return d[:6] }

func TestEveryCodeMethod(t *testing.T) {
	pol := flows.DefaultPolicy()
	now := time.Unix(1_800_000_000, 0)
	a := flows.Account{ID: "u1"}
	ob := &outbox{}
	cases := []struct {
		m       *sentcode.Method
		input   string
		mask    string
		badIn   []string
		sentMsg flows.MsgID
	}{
		{emailcode.New(ob, macer{}, rand.Reader), "Me@Mail.test", "m***@m****.test", []string{"x", "a@b", "Name <a@b.co>"}, flows.MsgEmailSent},
		{smscode.New(ob, macer{}, rand.Reader), "+1 (425) 555-0142", "+1 *** *** **42", []string{"4255550142", "+44 20 7946 0958", "+1 555", "+1 425 555 0142 ext 9"}, flows.MsgSMSSent},
		{voicecall.New(ob, macer{}, rand.Reader), "001 425 555 0142", "+1 *** *** **42", []string{"+0123456789", "call me"}, flows.MsgCallPlaced},
	}
	for _, c := range cases {
		t.Run(string(c.m.Kind()), func(t *testing.T) {
			for _, in := range c.badIn {
				if _, err := c.m.BeginEnrol(context.Background(), a, in, pol, now); !errors.Is(err, flows.ErrBadRequest) {
					t.Errorf("%q accepted: %v", in, err)
				}
			}
			p, err := c.m.BeginEnrol(context.Background(), a, c.input, pol, now)
			if err != nil || p.Show.Masked != c.mask {
				t.Fatalf("%+v %v", p, err)
			}
			if err := p.Send(context.Background()); err != nil {
				t.Fatal(err)
			}
			code := codeOf(ob.got[len(ob.got)-1])
			wrong := string('0'+(code[0]-'0'+1)%10) + code[1:]
			if _, _, ok := c.m.ConfirmEnrol(a, p, wrong, now); ok {
				t.Fatal("wrong enrolment code accepted")
			}
			reg, _, ok := c.m.ConfirmEnrol(a, p, code, now)
			if !ok || reg.Kind != c.m.Kind() {
				t.Fatal("right enrolment code refused")
			}
			en := flows.Enrollment{Methods: map[flows.MethodKind]flows.Registered{reg.Kind: reg}}
			ch, err := c.m.Challenge(context.Background(), a, en, pol, "s1", now)
			if err != nil || ch.Msg != c.sentMsg || ch.MsgArgs[0] != c.mask {
				t.Fatalf("%+v %v", ch, err)
			}
			if err := ch.Send(context.Background()); err != nil {
				t.Fatal(err)
			}
			code = codeOf(ob.got[len(ob.got)-1])
			if strings.Contains(ch.Code.MAC, code) {
				t.Fatal("the stored record holds the code")
			}
			if p := c.m.Check(a, en, "s1", *ch.Code, code, now); !p.Correct {
				t.Fatal("right code refused")
			}
			if p := c.m.Check(a, en, "s2", *ch.Code, code, now); p.Correct {
				t.Fatal("code accepted in another session")
			}
			if p := c.m.Check(flows.Account{ID: "u2"}, en, "s1", *ch.Code, code, now); p.Correct {
				t.Fatal("code accepted for another user")
			}
			if p := c.m.Check(a, en, "s1", *ch.Code, code, now.Add(sentcode.TTL)); p.Correct || !p.Expired {
				t.Fatal("expired code accepted")
			}
		})
	}
}

func TestVoiceReadsTheCodeTwice(t *testing.T) {
	s := voicecall.Speech("en", "042917")
	if strings.Count(s, "0, 4, 2, 9, 1, 7") != 2 {
		t.Fatalf("%q", s)
	}
}

func TestParsePhoneCountryAllowList(t *testing.T) {
	for in, ok := range map[string]bool{"+14255550142": true, "+442079460958": false, "+4420 7946 0958": false, "+1425": false, "": false} {
		_, err := flows.ParsePhone(in, []string{"1"})
		if (err == nil) != ok {
			t.Errorf("%q: %v", in, err)
		}
	}
	if got, err := flows.ParsePhone("0044 20 7946 0958", []string{"1", "44"}); err != nil || got != "+442079460958" {
		t.Fatalf("%q %v", got, err)
	}
}

// The two phone methods take and show numbers alike: one parse and one mask, shared.
func TestPhoneMethodsParseAndMaskAlike(t *testing.T) {
	pol := flows.DefaultPolicy()
	pol.PhoneCountries = []string{"1", "44"}
	sms, voice := smscode.Channel{}, voicecall.Channel{}
	for _, in := range []string{"+1 (425) 555-0142", "+44 20 7946 0958", "+33 1 23 45 67 89", "555-0142", ""} {
		a, errA := sms.Parse(in, pol)
		b, errB := voice.Parse(in, pol)
		if a != b || (errA == nil) != (errB == nil) {
			t.Errorf("%q: sms %q %v, voice %q %v", in, a, errA, b, errB)
		}
		if errA == nil && (sms.Mask(a) != voice.Mask(b) || sms.Mask(a) == a) {
			t.Errorf("%q: masked %q and %q", in, sms.Mask(a), voice.Mask(b))
		}
	}
}
