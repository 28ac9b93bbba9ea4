package console_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot/console"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

// Every pair of methods the default policy allows completes a reset through the console.
func TestResetWithEveryMethodPairOfTheDefaultPolicy(t *testing.T) {
	h := storetest.New(t)
	h.WithPhones = true
	allowed := flows.DefaultPolicy().Methods
	n := 0
	for i := 0; i < len(allowed); i++ {
		for j := 0; j < len(allowed); j++ {
			if i == j {
				continue
			}
			first, second := allowed[i], allowed[j]
			t.Run(string(first)+"+"+string(second), func(t *testing.T) {
				n++
				user := flows.Account{ID: fmt.Sprintf("user-%d", n), Mail: fmt.Sprintf("user%d@contoso.test", n), Enabled: true, Groups: []string{storetest.Group}}
				user.UPN = user.Mail
				h.Dir.Add(user)
				secret := h.Enrol(user.ID)
				h.Clock.Advance(time.Minute)
				var out bytes.Buffer
				c := console.New(h.Engine, nil, &out)
				c.As(user.UPN)
				say := func(line string) []flows.Reply {
					rs, _, err := c.Say(context.Background(), line)
					if err != nil {
						t.Fatal(err)
					}
					return rs
				}
				pick := func(rs []flows.Reply, kind flows.MethodKind) []flows.Reply {
					label := map[flows.MethodKind]string{flows.MethodTOTP: "Authenticator", flows.MethodEmail: "Email",
						flows.MethodSMS: "Text message", flows.MethodVoice: "Office phone"}[kind]
					for _, r := range rs {
						for _, ch := range r.Choices {
							if strings.Contains(ch.Label, label) {
								return say(ch.Key) // the number the menu shows
							}
						}
					}
					t.Fatalf("no %s among %v", kind, rs)
					return nil
				}
				code := func(kind flows.MethodKind) string {
					switch kind {
					case flows.MethodTOTP:
						c, _ := totp.Code(secret, h.Clock.Now())
						return c
					case flows.MethodEmail:
						return storetest.CodeFrom(t, h.Mail.Last())
					}
					all := h.Phone.All()
					return storetest.CodeIn(t, all[len(all)-1])
				}
				rs := pick(say("I forgot my password"), first)
				rs = pick(say(code(first)), second)
				rs = say(code(second))
				link := storetest.Link(t, rs)
				pw := "Sunny-Meadow-" + strconv.Itoa(n)
				if err := h.Engine.ResetPassword(context.Background(), link[strings.LastIndex(link, "/")+1:], pw, pw); err != nil {
					t.Fatal(err)
				}
				if h.Dir.Passwords[user.ID] != pw {
					t.Fatal("password not set")
				}
			})
		}
	}
	if n != len(allowed)*(len(allowed)-1) {
		t.Fatalf("%d combinations ran", n)
	}
}
