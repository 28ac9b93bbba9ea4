package flows_test

import (
	"context"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// Registered contact details never appear in clear in a chat reply, a log line or Redis.
func TestNoContactDetailsInClear(t *testing.T) {
	h := storetest.New(t)
	h.WithPhones = true
	h.Dir.Add(storetest.Alice)
	h.Enrol(storetest.Alice.ID)
	var replies []flows.Reply
	say := func(rs []flows.Reply) []flows.Reply { replies = append(replies, rs...); return rs }
	rs := say(h.Say("U1", aliceMail, "reset"))
	rs = say(h.Click("U1", aliceMail, storetest.Choice(t, rs, "Text message")))
	rs = say(h.Say("U1", aliceMail, "000000"))
	rs = say(h.Click("U1", aliceMail, storetest.Choice(t, rs, "Office phone")))
	rs = say(h.Say("U1", aliceMail, storetest.CodeIn(t, h.Phone.All()[1])))
	rs = say(h.Click("U1", aliceMail, storetest.Choice(t, rs, "Email")))
	say(h.Say("U1", aliceMail, "status"))
	secrets := []string{"4255550142", "4255550199", "555 0142", "private." + storetest.Alice.ID}
	var text strings.Builder
	for _, r := range replies {
		text.WriteString(r.Text)
		for _, c := range r.Choices {
			text.WriteString(c.Label)
		}
	}
	if !strings.Contains(text.String(), "+1 *** *** **42") {
		t.Fatal("the masked number is missing: the scan would prove nothing")
	}
	h.Audit.Close()
	ctx := context.Background()
	keys, _ := h.RDB.Keys(ctx, "*").Result()
	var dump strings.Builder
	for _, k := range keys {
		d, _ := h.RDB.Dump(ctx, k).Result()
		dump.WriteString(d)
	}
	for _, s := range secrets {
		if strings.Contains(text.String(), s) {
			t.Errorf("a chat reply shows %q", s)
		}
		if strings.Contains(h.LogText(), s) {
			t.Errorf("the log shows %q", s)
		}
		if strings.Contains(dump.String(), s) {
			t.Errorf("redis holds %q in clear", s)
		}
	}
}
