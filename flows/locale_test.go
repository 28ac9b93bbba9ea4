package flows_test

import (
	"context"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// Once a chat has told a person's language and time zone, the bot remembers them (in Redis,
// under the person's hash tag); what is sent outside a conversation then speaks that language.
// For someone whose language was never told, the policy's default language is used
// ("/sspr policy set language fr").
func TestOutOfConversationLanguage(t *testing.T) {
	h := storetest.New(t)
	h.Deps.Locales = h.Store
	h.Rebuild()
	ctx := context.Background()

	// Alice chats in German from Berlin: remembered after the reply
	chat := storetest.Chat("UALICE")
	chat.Locale, chat.TimeZone = "de-DE", "Europe/Berlin"
	h.Dir.Add(storetest.Alice)
	if _, err := h.Send(flows.Inbound{Chat: chat, Claim: flows.Claim{Kind: flows.ClaimEmail, Value: storetest.Alice.Mail}, Text: "hallo", IdemKey: "i1"}); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain()
	if l, err := h.Store.PersonLocale(ctx, storetest.Alice.ID); err != nil || l.Lang != "de" || l.TimeZone != "Europe/Berlin" {
		t.Fatalf("remembered %+v %v", l, err)
	}
	if keys, _ := h.RDB.Keys(ctx, "{u:"+storetest.Alice.ID+"}:locale").Result(); len(keys) != 1 {
		t.Fatalf("not under the person's hash tag: %v", keys)
	}

	// the policy's default language for people not heard from yet
	pol, v, err := h.Store.GetPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pol.Language = "fr"
	if _, err := h.Store.PutPolicy(ctx, pol, v); err != nil {
		t.Fatal(err)
	}
	h.Rebuild()
	quiet := flows.Account{ID: "new-quiet", Mail: "quiet@contoso.test", Enabled: true, Groups: []string{storetest.Group}}
	h.Dir.Add(quiet)
	roster := storetest.ChatRoster{
		// platforms that do not say a locale leave it empty
		storetest.Alice.Mail: {Chat: flows.ChatRef{Platform: "test", Tenant: "T1", UserID: "UALICE"}},
		quiet.Mail:           {Chat: flows.ChatRef{Platform: "test", Tenant: "T1", UserID: "UQUIET"}},
	}
	r := flows.NewReminders(h.Engine, h.Store, h.Dir, roster)
	h.Clock.Advance(time.Hour) // 10:00 UTC: working hours
	if _, err := r.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := r.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	got := map[string]flows.Reply{}
	for i, rp := range h.Notes.Replies {
		if rp.MsgID == flows.MsgReminder {
			got[h.Notes.To[i].UserID] = rp
		}
	}
	if a := got["UALICE"]; !strings.Contains(a.Text, "Passwort-Selbstbedienung") || len(a.Choices) != 2 || a.Choices[0].Label != "Jetzt einrichten" {
		t.Errorf("Alice (remembered German): %+v", a)
	}
	if q := got["UQUIET"]; !strings.Contains(q.Text, "mot de passe en libre-service") || q.Choices[1].Label != "Me le rappeler dans 3 jours" {
		t.Errorf("never heard from (policy French): %+v", q)
	}
}

// The policy's language is one the bot speaks; anything else is refused with the list.
func TestPolicyLanguageSetting(t *testing.T) {
	p := flows.DefaultPolicy()
	p.Language = "de"
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	p.Language = "tlh"
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "pt-BR") {
		t.Fatalf("unknown language: %v", err)
	}
}

// A bot admin whose chat speaks German gets the admin replies in German: the policy heading and
// the settings' descriptions, a value refused, the policy problems, a change done; the setting
// names and values stay the command's words.
func TestAdminRepliesInTheAdminsLanguage(t *testing.T) {
	h := storetest.New(t)
	h.Dir.Add(flows.Account{ID: "bob", Mail: "bob@contoso.test", Enabled: true, Groups: []string{"admins"}})
	h.Opts.AdminGroups = []string{"admins"}
	h.Rebuild()
	chat := storetest.Chat("bob")
	chat.Locale = "de-DE"
	admin := func(text string) string {
		t.Helper()
		rs, err := h.Engine.Admin(context.Background(), flows.Inbound{Chat: chat, Claim: flows.Claim{Kind: flows.ClaimEmail, Value: "bob@contoso.test"}}, text)
		if err != nil || len(rs) == 0 {
			t.Fatalf("%q: %v %v", text, rs, err)
		}
		return rs[0].Text
	}
	for _, c := range []struct {
		cmd  string
		want []string
	}{
		{"policy show", []string{"Selbstbedienungs-Richtlinie, Version 1:", "• reconfirm_days = 180  — Tage, bis Personen erneut bestätigen müssen, 0 nie (0 bis 730)"}},
		{"policy set notify_user vielleicht", []string{"Nicht geändert: notify_user nimmt on oder off"}},
		{"policy set questions_answer 5", []string{"Nicht geändert: Die Richtlinie wäre ungültig:", "Zu beantwortende Fragen (5) dürfen nicht mehr sein als einzurichtende (3)"}},
		{"policy set reconfirm_days 90", []string{"Erledigt: reconfirm_days = 90 (Richtlinie Version 2)."}},
		{"hilfe", []string{"Befehle für Bot-Admins:"}},
		{"policy set remind_every_days 45", []string{"nimmt eine ganze Zahl von 1 bis 30"}},
	} {
		got := admin(c.cmd)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q: want %q in\n%s", c.cmd, w, got)
			}
		}
	}
}
