package slack

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/flows"
)

// publishHome shows the App Home tab: what is registered (masked), when reconfirmation is due,
// and buttons to register, reset or unlock.
func (a *Adapter) publishHome(ctx context.Context, team, user string) {
	chat, claim, refusal, err := a.identify(ctx, user, team)
	if err != nil {
		a.log.ErrorContext(ctx, "home: identify failed", "err", err)
		return
	}
	var ov flows.Overview
	if refusal == "" {
		ov, err = a.eng.Overview(ctx, flows.Inbound{Chat: chat, Claim: claim})
		if err != nil {
			a.log.ErrorContext(ctx, "home: overview failed", "err", err)
			return
		}
	} else {
		ov.HelpdeskURL = ""
	}
	view := HomeView(chat, ov)
	err = a.call(ctx, "views.publish", func() error {
		_, err := a.api.PublishViewContext(ctx, slackapi.PublishViewContextRequest{UserID: user, View: view})
		return err
	})
	if err != nil {
		a.log.ErrorContext(ctx, "views.publish failed", "err", err)
	}
}

// HomeView renders the home tab.
func HomeView(chat flows.ChatRef, ov flows.Overview) slackapi.HomeTabViewRequest {
	locale := chat.Locale
	text := func(s string) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(slackapi.MarkdownType, mrkdwnEscaper.Replace(s), false, false)
	}
	blocks := []slackapi.Block{slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, flows.Text(locale, "home.title"), false, false))}
	if !ov.Eligible {
		msg := flows.Text(locale, "home.unavailable")
		if ov.HelpdeskURL != "" {
			msg += " " + ov.HelpdeskURL
		}
		blocks = append(blocks, slackapi.NewSectionBlock(text(msg), nil, nil))
		return slackapi.HomeTabViewRequest{Type: slackapi.VTHomeTab, Blocks: slackapi.Blocks{BlockSet: blocks}}
	}
	reg := flows.Text(locale, "home.nothing")
	if len(ov.Registered) > 0 {
		reg = flows.Text(locale, "home.registered", strings.Join(ov.Registered, ", "))
	}
	if !ov.ReconfirmDue.IsZero() {
		reg += " " + flows.Text(locale, "home.reconfirm_by", flows.FormatDate(locale, ov.ReconfirmDue, chat.Location()))
	}
	blocks = append(blocks, slackapi.NewSectionBlock(text(reg), nil, nil),
		slackapi.NewActionBlock("home",
			slackapi.NewButtonBlockElement("home:register", "register", slackapi.NewTextBlockObject(slackapi.PlainTextType, flows.Text(locale, "button.register"), false, false)),
			slackapi.NewButtonBlockElement("home:reset", "reset", slackapi.NewTextBlockObject(slackapi.PlainTextType, flows.Text(locale, "button.reset"), false, false)),
			slackapi.NewButtonBlockElement("home:unlock", "unlock", slackapi.NewTextBlockObject(slackapi.PlainTextType, flows.Text(locale, "button.unlock"), false, false)),
		))
	if ov.RecoverHint != "" {
		blocks = append(blocks, slackapi.NewSectionBlock(text(ov.RecoverHint), nil, nil))
	}
	return slackapi.HomeTabViewRequest{Type: slackapi.VTHomeTab, Blocks: slackapi.Blocks{BlockSet: blocks}}
}

// Targets implements flows.ChatRoster: the workspace's people by confirmed email, from one walk
// of users.list, with their time zones. Guests, external users, bots and deleted users are left
// out.
func (a *Adapter) Targets(ctx context.Context) (map[string]flows.ChatTarget, error) {
	out := map[string]flows.ChatTarget{}
	page := a.api.GetUsersPaginated(slackapi.GetUsersOptionLimit(200), slackapi.GetUsersOptionIncludeLocale(true))
	for {
		err := a.call(ctx, "users.list", func() error {
			var err error
			page, err = page.Next(ctx)
			return err
		})
		if page.Done(err) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("slack: users.list: %w", err)
		}
		a.addTargets(out, page.Users)
	}
}

// addTargets keeps the members that can be reminded: one page at a time, so a large workspace
// is never held in memory as a whole.
func (a *Adapter) addTargets(out map[string]flows.ChatTarget, users []slackapi.User) {
	for _, u := range users {
		if u.Deleted || u.IsBot || u.IsRestricted || u.IsUltraRestricted || u.IsStranger || !u.IsEmailConfirmed || u.Profile.Email == "" ||
			!contains(a.cfg.TeamIDs, u.TeamID) {
			continue
		}
		tz := zone(u.TZ)
		locale := u.Locale // empty when unknown: the reminder uses the remembered or the policy's language
		out[strings.ToLower(u.Profile.Email)] = flows.ChatTarget{TZ: tz,
			Chat: flows.ChatRef{Platform: Platform, Tenant: u.TeamID, UserID: u.ID, Locale: locale}}
	}
}

var (
	zonesMu sync.Mutex
	zones   = map[string]*time.Location{}
)

// zone loads an IANA time zone once; unknown zones are UTC.
func zone(name string) *time.Location {
	zonesMu.Lock()
	defer zonesMu.Unlock()
	if l, ok := zones[name]; ok {
		return l
	}
	l, err := time.LoadLocation(name)
	if err != nil || name == "" {
		l = time.UTC
	}
	if len(zones) < 1000 {
		zones[name] = l
	}
	return l
}
