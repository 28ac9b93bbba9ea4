package fakeslack

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// methods.json is a trimmed extract of Slack's published OpenAPI description of the Web API
// (slackapi/slack-api-specs, web-api/slack_web_openapi_v2.json; MIT licence in
// LICENSE-slack-api-specs): each method resetbot calls with the scopes its "security" lists.
// Methods newer than that file (files.getUploadURLExternal, files.completeUploadExternal,
// apps.connections.open) carry the scopes their method pages on api.slack.com name.
//
//go:embed methods.json
var methodsJSON []byte

type methodSpec struct {
	Scopes []string `json:"scopes"`
	Token  string   `json:"token"` // "app" for app-level tokens
	Doc    string   `json:"doc"`
}

var methodScopes = func() map[string]methodSpec {
	var f struct {
		Methods map[string]methodSpec `json:"methods"`
		Newer   map[string]methodSpec `json:"newer_methods"`
	}
	if err := json.Unmarshal(methodsJSON, &f); err != nil {
		panic("fakeslack: methods.json: " + err.Error())
	}
	for k, v := range f.Newer {
		f.Methods[k] = v
	}
	return f.Methods
}()

// granular maps the scope names of the spec (written before granular bot permissions) to the
// scope a bot token holds today: https://api.slack.com/scopes/chat:write replaces chat:write:bot
// and chat:write:user for bot tokens.
var granular = map[string]string{"chat:write:bot": "chat:write", "chat:write:user": "chat:write"}

// ScopesOf returns the scopes the extract lists for a method ("any of" them suffices where the
// method serves several conversation types), mapped to bot-token scope names.
func ScopesOf(method string) []string {
	spec, ok := methodScopes[method]
	if !ok {
		return nil
	}
	var out []string
	for _, s := range spec.Scopes {
		if g, ok := granular[s]; ok {
			s = g
		}
		if s != "none" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// needed narrows a method's scopes to the one its target needs, stricter than "any of": the
// conversations.* pages say each conversation type needs its own scope (im:* for direct
// messages, channels:* for public and groups:* for private channels).
func (s *Server) needed(method string, r *http.Request) []string {
	all := ScopesOf(method)
	kind := ""
	switch method {
	case "conversations.open":
		if len(strings.Split(r.FormValue("users"), ",")) > 1 {
			kind = "mpim"
		} else {
			kind = "im"
		}
	case "conversations.info":
		kind = s.kindOf(r.FormValue("channel"))
	}
	if kind == "" {
		return all
	}
	for _, sc := range all {
		if strings.HasPrefix(sc, kind+":") {
			return []string{sc}
		}
	}
	return all
}

func (s *Server) kindOf(channel string) string {
	if strings.HasPrefix(channel, "D") {
		return "im"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[channel]; ok && c.Private {
		return "groups"
	}
	return "channels"
}

// token is the bearer token of a call: the Authorization header, or the token form field.
func token(r *http.Request) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return t
	}
	return r.FormValue("token")
}

// denied answers as Slack does when the token lacks the method's scope:
// {"ok":false,"error":"missing_scope","needed":…,"provided":…} (https://api.slack.com/web#errors
// and each method page's "missing_scope" error). It also counts the call.
func (s *Server) denied(w http.ResponseWriter, r *http.Request, method string) bool {
	_ = r.ParseForm()
	spec, known := methodScopes[method]
	if !known {
		s.t.Errorf("fakeslack: %s is not in the committed method extract", method)
	}
	tok := token(r)
	if spec.Token == "app" {
		if !strings.HasPrefix(tok, "xapp-") {
			writeJSON(w, map[string]any{"ok": false, "error": "not_allowed_token_type"})
			return true
		}
		return false
	}
	if !strings.HasPrefix(tok, "xoxb-") {
		writeJSON(w, map[string]any{"ok": false, "error": "not_authed"})
		return true
	}
	need := s.needed(method, r)
	if len(need) == 0 {
		return false
	}
	s.mu.Lock()
	granted := s.scopes
	s.mu.Unlock()
	for _, n := range need {
		if slices.Contains(granted, n) {
			return false
		}
	}
	s.mu.Lock()
	s.missing = append(s.missing, method)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": false, "error": "missing_scope", "needed": strings.Join(need, ","), "provided": strings.Join(granted, ",")})
	return true
}

// Block Kit limits, from https://api.slack.com/reference/block-kit/blocks (50 blocks in a
// message, 100 in a home tab; section text 3,000 characters, 10 fields of 2,000; header text
// 150, plain text only; actions 25 elements; context 10 elements; block_id 255) and
// https://api.slack.com/reference/block-kit/block-elements#button (text 75, value 2,000,
// url 3,000, action_id 255).
const (
	maxMessageBlocks = 50
	maxHomeBlocks    = 100
)

type textObj struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type element struct {
	Type     string   `json:"type"`
	Text     *textObj `json:"text"`
	Value    string   `json:"value"`
	URL      string   `json:"url"`
	ActionID string   `json:"action_id"`
}

type block struct {
	Type     string          `json:"type"`
	BlockID  string          `json:"block_id"`
	Text     *textObj        `json:"text"`
	Fields   []textObj       `json:"fields"`
	Elements json.RawMessage `json:"elements"`
}

// validateBlocks returns Slack's messages for blocks that break a limit ("must be less than
// 3001 characters [json-pointer:/blocks/0/text/text]"), or nil.
func validateBlocks(raw string, max int) []string {
	if raw == "" {
		return nil
	}
	var blocks []block
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return []string{"invalid JSON [json-pointer:/blocks]"}
	}
	var errs []string
	tooLong := func(s string, n int, ptr string) {
		if utf8.RuneCountInString(s) > n {
			errs = append(errs, fmt.Sprintf("must be less than %d characters [json-pointer:%s]", n+1, ptr))
		}
	}
	if len(blocks) > max {
		errs = append(errs, fmt.Sprintf("no more than %d items allowed [json-pointer:/blocks]", max))
	}
	for i, b := range blocks {
		p := fmt.Sprintf("/blocks/%d", i)
		tooLong(b.BlockID, 255, p+"/block_id")
		switch b.Type {
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				errs = append(errs, "must provide text or fields [json-pointer:"+p+"]")
			}
			if b.Text != nil {
				if b.Text.Text == "" {
					errs = append(errs, "must be more than 0 characters [json-pointer:"+p+"/text/text]")
				}
				tooLong(b.Text.Text, 3000, p+"/text/text")
			}
			if len(b.Fields) > 10 {
				errs = append(errs, "no more than 10 items allowed [json-pointer:"+p+"/fields]")
			}
			for j, f := range b.Fields {
				tooLong(f.Text, 2000, fmt.Sprintf("%s/fields/%d/text", p, j))
			}
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" {
				errs = append(errs, "must be a plain_text object [json-pointer:"+p+"/text]")
			} else {
				tooLong(b.Text.Text, 150, p+"/text/text")
			}
		case "actions", "context":
			var els []element
			_ = json.Unmarshal(b.Elements, &els)
			limit := 25
			if b.Type == "context" {
				limit = 10
			}
			if len(els) > limit {
				errs = append(errs, fmt.Sprintf("no more than %d items allowed [json-pointer:%s/elements]", limit, p))
			}
			for j, e := range els {
				ep := fmt.Sprintf("%s/elements/%d", p, j)
				if e.Type != "button" {
					continue
				}
				if e.Text != nil {
					tooLong(e.Text.Text, 75, ep+"/text/text")
				}
				tooLong(e.Value, 2000, ep+"/value")
				tooLong(e.URL, 3000, ep+"/url")
				tooLong(e.ActionID, 255, ep+"/action_id")
			}
		case "divider", "image", "input", "rich_text", "file", "video":
		default:
			errs = append(errs, "unknown block type "+b.Type+" [json-pointer:"+p+"/type]")
		}
	}
	return errs
}

// invalidBlocks is the answer chat.postMessage documents (https://api.slack.com/methods/chat.postMessage#errors).
func invalidBlocks(errs []string) map[string]any {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = "[ERROR] " + e
	}
	return map[string]any{"ok": false, "error": "invalid_blocks", "errors": errs, "response_metadata": map[string]any{"messages": msgs}}
}

// Channel is a conversation of the fake workspace other than direct messages.
type Channel struct {
	ID        string
	Name      string
	Private   bool
	BotMember bool
}

// AddChannel adds a public or private channel; BotMember says whether the bot was invited.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	s.channels[c.ID] = c
	s.mu.Unlock()
}

// SetScopes replaces the scopes granted to the bot token (Start grants those the app
// manifest asks for).
func (s *Server) SetScopes(scopes ...string) {
	s.mu.Lock()
	s.scopes = append([]string(nil), scopes...)
	s.mu.Unlock()
}

// Missing lists the methods refused with missing_scope so far.
func (s *Server) Missing() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.missing...)
}

// Refused lists the errors ("invalid_blocks", "not_in_channel", …) answered to posts so far.
func (s *Server) Refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refused...)
}

// postable answers as chat.postMessage does for a channel the bot cannot post to: a private
// channel it is not in is not visible to it (channel_not_found); a public one needs membership
// or chat:write.public (not_in_channel). https://api.slack.com/methods/chat.postMessage#errors
// and https://api.slack.com/scopes/chat:write.public
func (s *Server) postable(channel string) string {
	if strings.HasPrefix(channel, "D") {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channel]
	switch {
	case !ok, c.Private && !c.BotMember:
		return "channel_not_found"
	case !c.BotMember && !slices.Contains(s.scopes, "chat:write.public"):
		return "not_in_channel"
	}
	return ""
}

// conversationsInfo answers with is_member, as https://api.slack.com/methods/conversations.info
// describes; private channels the bot is not in are not found.
func (s *Server) conversationsInfo(w http.ResponseWriter, r *http.Request) {
	if s.denied(w, r, "conversations.info") || s.limited(w, "conversations.info") {
		return
	}
	id := r.FormValue("channel")
	s.mu.Lock()
	c, ok := s.channels[id]
	s.mu.Unlock()
	if !ok || (c.Private && !c.BotMember) {
		writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	writeJSON(w, map[string]any{"ok": true, "channel": map[string]any{"id": c.ID, "name": c.Name, "is_channel": !c.Private,
		"is_group": c.Private, "is_private": c.Private, "is_member": c.BotMember}})
}

// authTest answers https://api.slack.com/methods/auth.test with the granted scopes in the
// X-OAuth-Scopes header, as every Web API response carries them (https://api.slack.com/legacy/oauth-scopes
// "Checking scopes": the X-OAuth-Scopes response header).
func (s *Server) authTest(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	if !strings.HasPrefix(token(r), "xoxb-") {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	s.mu.Lock()
	scopes := strings.Join(s.scopes, ",")
	s.mu.Unlock()
	w.Header().Set("X-OAuth-Scopes", scopes)
	writeJSON(w, map[string]any{"ok": true, "url": "https://contoso.slack.com/", "team": "Contoso", "user": "resetbot",
		"team_id": "T0CONTOSO", "user_id": "U0RESETBOT", "bot_id": "B0RESETBOT"})
}
