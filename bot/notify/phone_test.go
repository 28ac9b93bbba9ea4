package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/notify"
	"github.com/resetbot/resetbot/bot/notify/phonetest"
)

func TestTwilioAgainstAFakeProvider(t *testing.T) {
	p := phonetest.Start()
	defer p.Close()
	tw := &notify.Twilio{BaseURL: p.URL, AccountSID: p.SID, AuthToken: p.Token, From: "+14255550100"}
	ctx := context.Background()
	if err := tw.SendSMS(ctx, "+14255550142", "Your code is 123456"); err != nil {
		t.Fatal(err)
	}
	if err := tw.Call(ctx, "+14255550199", "Code: 1, 2 & 3 <again>"); err != nil {
		t.Fatal(err)
	}
	sent := p.Sent()
	if len(sent) != 2 || sent[0].Kind != "sms" || sent[0].To != "+14255550142" || sent[0].From != "+14255550100" || sent[0].Text != "Your code is 123456" {
		t.Fatalf("%+v", sent)
	}
	if sent[1].Kind != "call" || !strings.Contains(sent[1].Text, "<Say>Code: 1, 2 &amp; 3 &lt;again&gt;</Say>") {
		t.Fatalf("TwiML not escaped: %q", sent[1].Text)
	}
	bad := &notify.Twilio{BaseURL: p.URL, AccountSID: p.SID, AuthToken: "wrong", From: "+14255550100"}
	var pe *notify.ProviderError
	if err := bad.SendSMS(ctx, "+14255550142", "x"); !errors.As(err, &pe) || pe.Status != 401 || pe.Code != 20003 {
		t.Fatalf("wrong token: %v", err)
	}
	if len(p.Sent()) != 2 {
		t.Fatal("a refused request was recorded")
	}
}
