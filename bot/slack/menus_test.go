package slack_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

// lockedOut is a directory's list of lockouts for the lockout watch.
type lockedOut []flows.Account

func (l lockedOut) LockedOutSince(context.Context, time.Time) ([]flows.Account, error) { return l, nil }

// replica is another bot process over the same Redis: a fresh engine (empty caches) and a
// fresh adapter, posting its notices through that adapter.
func (e *env) replica(t *testing.T) {
	t.Helper()
	via := &notifyVia{}
	e.h.Deps.Notifier = via
	e.h.Rebuild()
	e.a = e.adapter(t, false)
	via.a = e.a
	e.srv.Config.Handler = e.a.HTTPHandler()
}

// posted is the text of the last message the bot posted, with its blocks.
func posted(t *testing.T, e *env) string {
	t.Helper()
	p := lastPost(t, e.fake, "chat.postMessage")
	return p.Text + "\n" + p.Blocks
}

// A menu the bot posts outside a request (the lockout alert's "Unlock it now", the "This
// wasn't me" under the password-changed notice) answers to its typed number and its label in
// Slack, on whichever replica the typed message reaches, and the method menu that follows
// takes the methods' names.
func TestNoticeMenusAreLiveInSlack(t *testing.T) {
	e := setup(t, false)
	e.replica(t)
	ctx := context.Background()
	chat := flows.ChatRef{Platform: slack.Platform, Tenant: team, UserID: "UALICE"}
	if err := e.h.Store.Pin(ctx, chat.Key(), storetest.Alice.ID); err != nil {
		t.Fatal(err)
	}
	locked := storetest.Alice
	locked.Locked, locked.LockedAt = true, e.h.Clock.Now().Add(-time.Minute)
	w := flows.NewLockoutWatch(e.h.Engine, lockedOut{locked}, e.h.Store, e.h.Store, "replica-1")
	if n, err := w.Poll(ctx); err != nil || n != 1 {
		t.Fatalf("alerts: %d %v", n, err)
	}
	if got := posted(t, e); !strings.Contains(got, "Unlock it now") {
		t.Fatalf("alert: %s", got)
	}
	// the typed number reaches another replica
	e.replica(t)
	e.say(t, "EvM1", "1")
	if got := posted(t, e); !strings.Contains(got, "Choose a method") {
		t.Fatalf(`"1" under the alert: %s`, got)
	}
	// the method menu that follows takes a method's name, then its number
	e.say(t, "EvM2", "email")
	if got := posted(t, e); !strings.Contains(got, "p***@m****.test") {
		t.Fatalf(`"email": %s`, got)
	}
	e.say(t, "EvM3", storetest.CodeFrom(t, e.h.Mail.Last()))
	e.say(t, "EvM4", "1")
	if got := posted(t, e); !strings.Contains(got, "authenticator app") {
		t.Fatalf(`"1" for the authenticator: %s`, got)
	}
	e.h.Clock.Advance(30 * time.Second)
	code, _ := totp.Code(e.totp, e.h.Clock.Now())
	e.say(t, "EvM5", code)
	link := linkIn(t, lastPost(t, e.fake, "chat.postMessage").Blocks)
	finish(t, e, link)
	e.h.Engine.Drain() // the notice is posted after the page answered
	if got := posted(t, e); !strings.Contains(got, "This wasn't me") {
		t.Fatalf("notice: %s", got)
	}
	e.replica(t)
	e.say(t, "EvM6", "this wasnt me")
	if got := posted(t, e); !strings.Contains(got, "Thank you for telling us") {
		t.Fatalf(`"this wasn't me" typed under the notice: %s`, got)
	}
	// the menu is spent: its number is an ordinary message again
	e.say(t, "EvM7", "1")
	if got := posted(t, e); strings.Contains(got, "Thank you for telling us") {
		t.Fatalf("a spent menu answered again: %s", got)
	}
}

// linkIn is the URL of the link button in a message's blocks.
func linkIn(t *testing.T, blocksJSON string) string {
	t.Helper()
	var blocks []map[string]any
	_ = json.Unmarshal([]byte(blocksJSON), &blocks)
	for _, b := range blocks {
		for _, el := range asList(b["elements"]) {
			if u, ok := el.(map[string]any)["url"].(string); ok {
				return u
			}
		}
	}
	t.Fatalf("no link button: %s", blocksJSON)
	return ""
}
