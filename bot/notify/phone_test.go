package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/notify"
	"github.com/resetbot/resetbot/bot/notify/phonetest"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/voicecall"
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
	if sent[1].Kind != "call" || !strings.Contains(sent[1].Text, `<Say language="en-US">Code: 1, 2 &amp; 3 &lt;again&gt;</Say>`) ||
		sent[1].Say != "Code: 1, 2 & 3 <again>" {
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

// A call speaks the language of the person it is for, with that language's voice locale.
func TestCallSpeaksThePersonsLanguage(t *testing.T) {
	p := phonetest.Start()
	defer p.Close()
	tw := &notify.Twilio{BaseURL: p.URL, AccountSID: p.SID, AuthToken: p.Token, From: "+14255550100"}
	for lang, want := range map[string]string{"de": "de-DE", "ja-JP": "ja-JP", "pt": "pt-BR", "fr-CA": "fr-FR", "": "en-US"} {
		ctx := flows.WithLang(context.Background(), lang)
		if err := tw.Call(ctx, "+14255550199", voicecall.Speech(flows.LangFrom(ctx), "123456")); err != nil {
			t.Fatal(err)
		}
		got := p.Last()
		if got.Language != want || !strings.Contains(got.Say, "1, 2, 3, 4, 5, 6") {
			t.Errorf("%q: %s %q", lang, got.Language, got.Say)
		}
		if lang == "de" && !strings.Contains(got.Say, "Bestätigungscode") || lang == "ja-JP" && !strings.Contains(got.Say, "確認コード") {
			t.Errorf("%q speaks %q", lang, got.Say)
		}
	}
}
