package totp_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
)

// RFC 6238 appendix B, SHA-1, 8 digits truncated to our 6: the secret is "12345678901234567890".
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestRFC6238Vectors(t *testing.T) {
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		got, err := totp.Code(rfcSecret, time.Unix(unix, 0))
		if err != nil || got != want {
			t.Errorf("t=%d: %s %v, want %s", unix, got, err, want)
		}
	}
}

func TestMatchSkew(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for d, ok := range map[time.Duration]bool{-60 * time.Second: false, -30 * time.Second: true, 0: true, 30 * time.Second: true, 60 * time.Second: false} {
		code, _ := totp.Code(rfcSecret, now.Add(d))
		step, got := totp.Match(rfcSecret, code, now)
		if got != ok {
			t.Errorf("offset %s: %v", d, got)
		}
		if got && step != now.Add(d).Unix()/30 {
			t.Errorf("offset %s: step %d", d, step)
		}
	}
	if _, ok := totp.Match(rfcSecret, "", now); ok {
		t.Fatal("empty code")
	}
}

func TestCheckRefusesUsedStep(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	code, _ := totp.Code(rfcSecret, now)
	en := flows.Enrollment{Methods: map[flows.MethodKind]flows.Registered{flows.MethodTOTP: {Secret: rfcSecret}}}
	p := totp.Method{}.Check(flows.Account{}, en, "", flows.StoredCode{}, code, now)
	if !p.Correct {
		t.Fatal("fresh code refused")
	}
	en.LastTOTPStep = p.Step
	if p := (totp.Method{}).Check(flows.Account{}, en, "", flows.StoredCode{}, code, now); p.Correct {
		t.Fatal("used step accepted")
	}
}

func TestGenerate(t *testing.T) {
	k, err := totp.Generate("resetbot", "alice@contoso.test", rand.Reader)
	if err != nil || len(k.Secret) != 32 || !strings.HasPrefix(k.URL, "otpauth://totp/resetbot:alice@contoso.test?") ||
		!strings.Contains(k.URL, "period=30") || !strings.HasPrefix(k.QRPNG, "data:image/png;base64,") {
		t.Fatalf("%+v %v", k, err)
	}
	now := time.Now()
	m := totp.Method{Issuer: "resetbot", Rand: rand.Reader}
	p, err := m.BeginEnrol(context.Background(), flows.Account{UPN: "a@b.c"}, "", flows.DefaultPolicy(), now)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.Code(p.Secret, now)
	wrong := string('0'+(code[0]-'0'+1)%10) + code[1:]
	if _, _, ok := m.ConfirmEnrol(flows.Account{}, p, wrong, now); ok {
		t.Fatal("wrong first code accepted")
	}
	if reg, step, ok := m.ConfirmEnrol(flows.Account{}, p, code, now); !ok || reg.Secret != p.Secret || step != now.Unix()/30 {
		t.Fatal("right first code refused")
	}
	if _, _, ok := m.ConfirmEnrol(flows.Account{}, p, code, p.ExpiresAt); ok {
		t.Fatal("expired enrolment accepted")
	}
}
