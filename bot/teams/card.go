package teams

import "github.com/resetbot/resetbot/flows"

// Message renders replies as one message activity: the text as an Adaptive Card with the
// choices as Action.Submit (their data carry the session id and version) and one-time links as
// Action.OpenUrl. Secrets never go in cards.
func Message(replies []flows.Reply, ref Ref) map[string]any {
	var body []map[string]any
	var actions []map[string]any
	for _, r := range replies {
		body = append(body, map[string]any{"type": "TextBlock", "text": r.Text, "wrap": true})
		if r.Link != "" {
			actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": flows.Text(ref.Locale, "button.open_page"), "url": r.Link})
		}
		for _, c := range r.Choices {
			actions = append(actions, map[string]any{"type": "Action.Submit", "title": c.Title(), "data": map[string]any{"choice": c.ID}})
		}
	}
	card := map[string]any{"type": "AdaptiveCard", "version": "1.4", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"body": body}
	if len(actions) > 0 {
		card["actions"] = actions
	}
	return map[string]any{
		"type": "message", "from": map[string]any{"id": ref.BotID}, "recipient": map[string]any{"id": ref.UserID},
		"conversation": map[string]any{"id": ref.ConversationID},
		"attachments":  []map[string]any{{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}},
	}
}
