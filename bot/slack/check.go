package slack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/bot"
)

// ScopeUse is one bot scope and the feature that needs it.
type ScopeUse struct{ Scope, Feature string }

// ScopeUses are the scopes the bot needs, each with what stops working without it. The app
// manifest asks for the same list (a test keeps them equal).
var ScopeUses = []ScopeUse{
	{"chat:write", "replies in direct messages and security alerts in SLACK_ADMIN_CHANNEL"},
	{"im:write", "opening the direct message with a person (home tab buttons, /sspr)"},
	{"im:history", "receiving the direct messages people send the bot (message.im events)"},
	{"commands", "the /sspr command"},
	{"users:read", "telling who writes (guests, bots and external users are refused) and the registration reminders"},
	{"users:read.email", "mapping a person to their directory account by their confirmed email"},
	{"files:write", "/sspr report csv (the file is uploaded into the bot admin's direct messages)"},
	{"channels:read", "checking that the bot is in SLACK_ADMIN_CHANNEL (public channel)"},
	{"groups:read", "checking that the bot is in SLACK_ADMIN_CHANNEL (private channel)"},
}

// Check asks Slack what the bot token may do and returns every problem at once: each missing
// scope with the feature that needs it (from auth.test's X-OAuth-Scopes header), and whether
// the bot is a member of the admin channel (conversations.info's is_member), since a bot with
// chat:write can only post to channels it was invited to.
func Check(ctx context.Context, cfg Config) []string {
	opts := []slackapi.Option{slackapi.OptionHTTPClient(bot.PooledClient(10 * time.Second))}
	if cfg.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(cfg.APIURL))
	}
	api := slackapi.New(cfg.BotToken, opts...)
	res, err := api.AuthTestContext(ctx)
	if err != nil {
		return []string{fmt.Sprintf("the bot token was refused by auth.test (%v): reinstall the app and copy its Bot User OAuth Token into SLACK_BOT_TOKEN", err)}
	}
	var problems []string
	if len(cfg.TeamIDs) > 0 && res.TeamID != "" && !slices.Contains(cfg.TeamIDs, res.TeamID) {
		problems = append(problems, fmt.Sprintf("the bot token belongs to workspace %s, which SLACK_TEAM_IDS (%s) does not list",
			res.TeamID, strings.Join(cfg.TeamIDs, ",")))
	}
	granted := map[string]bool{}
	for _, s := range strings.Split(res.Header.Get("X-OAuth-Scopes"), ",") {
		granted[strings.TrimSpace(s)] = true
	}
	for _, u := range ScopeUses {
		if granted[u.Scope] {
			continue
		}
		if (u.Scope == "channels:read" || u.Scope == "groups:read") && cfg.AdminChannel == "" {
			continue
		}
		problems = append(problems, fmt.Sprintf("the app lacks the scope %s, needed for %s: add it under OAuth & Permissions (or paste bot/slack/manifest.yaml again) and reinstall the app",
			u.Scope, u.Feature))
	}
	if cfg.AdminChannel != "" {
		if p := checkChannel(ctx, api, cfg.AdminChannel); p != "" {
			problems = append(problems, p)
		}
	}
	return problems
}

func checkChannel(ctx context.Context, api *slackapi.Client, id string) string {
	ch, err := api.GetConversationInfoContext(ctx, &slackapi.GetConversationInfoInput{ChannelID: id})
	var se slackapi.SlackErrorResponse
	switch {
	case errors.As(err, &se) && se.Err == "missing_scope":
		return "" // reported with the scopes
	case errors.As(err, &se) && se.Err == "channel_not_found":
		return fmt.Sprintf("SLACK_ADMIN_CHANNEL %s is not a channel the bot can see: use the channel id (channel details, at the bottom), and for a private channel invite the bot first (/invite @resetbot in the channel)", id)
	case err != nil:
		return fmt.Sprintf("SLACK_ADMIN_CHANNEL %s cannot be checked: %v", id, err)
	case !ch.IsMember:
		return fmt.Sprintf("the bot is not a member of SLACK_ADMIN_CHANNEL #%s (%s), so security alerts would be refused (not_in_channel): type /invite @resetbot in that channel", ch.Name, id)
	}
	return ""
}
