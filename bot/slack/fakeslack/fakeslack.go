// Package fakeslack extends slack-go's slacktest server with what resetbot calls
// (users.info per user with is_email_confirmed and guests, conversations.open, chat.update,
// views.publish, 429s on demand) and a scripted Socket Mode websocket, for tests.
package fakeslack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/resetbot/resetbot/bot/slack"
)

// User is one Slack user of the fake workspace.
type User struct {
	ID             string
	TeamID         string
	Email          string
	EmailConfirmed bool
	Guest          bool
	Stranger       bool
	Bot            bool
	Deleted        bool
	TZ             string // IANA zone, e.g. Europe/Berlin
	Locale         string // the user's Slack locale, e.g. de-DE; en-US when empty
}

// Post is one message the bot posted or updated.
type Post struct {
	Method  string // chat.postMessage or chat.update
	Channel string
	Text    string
	Blocks  string // the blocks JSON
	Form    map[string]string
	TS      string // the message's ts: the one answered to chat.postMessage, the updated one for chat.update
}

// Server is the fake Slack.
type Server struct {
	*slacktest.Server
	t testing.TB

	mu      sync.Mutex
	users   map[string]User
	posts   []Post
	views   []string
	uploads map[string][]byte // file id → content
	shared  []File
	calls   map[string]int
	limit   map[string]string // method → Retry-After seconds for its next call
	notify  chan struct{}
	envs    chan []byte
	acks    chan string
	sockets int
	closed  int // Socket Mode connections the bot closed
	hook    func(Post)

	scopes   []string // granted to the bot token
	missing  []string // methods refused for a missing scope
	refused  []string // errors answered to posts
	channels map[string]Channel
}

// OnPost calls f with every recorded post, as it arrives (load tests route replies with it).
func (s *Server) OnPost(f func(Post)) {
	s.mu.Lock()
	s.hook = f
	s.mu.Unlock()
}

// wakeUp wakes the waiters; a wake already pending is enough.
func (s *Server) wakeUp() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Start runs the fake until the test ends. The bot token holds the scopes the app manifest
// (bot/slack/manifest.yaml) asks for; every call is checked against the committed extract of
// Slack's method reference (contract.go).
func Start(t testing.TB) *Server {
	s := &Server{t: t, users: map[string]User{}, calls: map[string]int{}, limit: map[string]string{}, uploads: map[string][]byte{},
		notify: make(chan struct{}, 10000), envs: make(chan []byte, 100), acks: make(chan string, 1000),
		scopes: slack.ManifestScopes(), channels: map[string]Channel{}}
	s.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/users.info", s.usersInfo)
		c.Handle("/users.list", s.usersList)
		c.Handle("/conversations.open", s.conversationsOpen)
		c.Handle("/chat.postMessage", s.record("chat.postMessage"))
		c.Handle("/chat.update", s.record("chat.update"))
		c.Handle("/views.publish", s.viewsPublish)
		c.Handle("/files.getUploadURLExternal", s.uploadURL)
		c.Handle("/upload/", s.upload)
		c.Handle("/files.completeUploadExternal", s.completeUpload)
		c.Handle("/apps.connections.open", s.connectionsOpen)
		c.Handle("/auth.test", s.authTest)
		c.Handle("/conversations.info", s.conversationsInfo)
		c.Handle("/socket", slacktest.Websocket(s.socket))
	})
	s.Server.Start()
	t.Cleanup(s.Server.Stop)
	return s
}

// AddUser adds a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	s.users[u.ID] = u
	s.mu.Unlock()
}

// RateLimitNext makes the next call of method answer 429 with Retry-After seconds.
func (s *Server) RateLimitNext(method, seconds string) {
	s.mu.Lock()
	s.limit[method] = seconds
	s.mu.Unlock()
}

// Calls returns how often method was called.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// CallCounts returns how often each method was called.
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		m[k] = v
	}
	return m
}

// Posts returns what was posted so far.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// Views returns the published home views (JSON).
func (s *Server) Views() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.views...)
}

// WaitPosts waits until n messages were posted in total.
func (s *Server) WaitPosts(n int) []Post {
	s.t.Helper()
	return s.WaitPostsWithin(n, 10*time.Second)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) limited(w http.ResponseWriter, method string) bool {
	s.mu.Lock()
	s.calls[method]++
	ra, ok := s.limit[method]
	delete(s.limit, method)
	s.mu.Unlock()
	if !ok {
		return false
	}
	w.Header().Set("Retry-After", ra)
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
	return true
}

func (s *Server) usersInfo(w http.ResponseWriter, r *http.Request) {
	if s.denied(w, r, "users.info") || s.limited(w, "users.info") {
		return
	}
	s.mu.Lock()
	u, ok := s.users[r.FormValue("user")]
	email := slices.Contains(s.scopes, "users:read.email")
	s.mu.Unlock()
	if !ok {
		writeJSON(w, map[string]any{"ok": false, "error": "user_not_found"})
		return
	}
	writeJSON(w, map[string]any{"ok": true, "user": userJSON(u, email, includeLocale(r))})
}

func (s *Server) conversationsOpen(w http.ResponseWriter, r *http.Request) {
	if s.denied(w, r, "conversations.open") || s.limited(w, "conversations.open") {
		return
	}
	writeJSON(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D" + r.FormValue("users"), "is_im": true}})
}

func (s *Server) record(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.denied(w, r, method) || s.limited(w, method) {
			return
		}
		if refusal := s.refusal(r); refusal != nil {
			s.mu.Lock()
			s.refused = append(s.refused, refusal["error"].(string))
			s.mu.Unlock()
			s.wakeUp()
			writeJSON(w, refusal)
			return
		}
		form := map[string]string{}
		for k := range r.Form {
			form[k] = r.FormValue(k)
		}
		p := Post{Method: method, Channel: r.FormValue("channel"), Text: r.FormValue("text"), Blocks: r.FormValue("blocks"), Form: form}
		s.mu.Lock()
		n := len(s.posts) + 1
		ts := fmt.Sprintf("1700000000.%06d", n)
		p.TS = ts
		if method == "chat.update" {
			p.TS = r.FormValue("ts")
		}
		s.posts = append(s.posts, p)
		hook := s.hook
		s.mu.Unlock()
		if hook != nil {
			hook(p)
		}
		s.wakeUp()
		writeJSON(w, map[string]any{"ok": true, "channel": p.Channel, "ts": ts, "text": p.Text})
	}
}

func (s *Server) viewsPublish(w http.ResponseWriter, r *http.Request) {
	if s.denied(w, r, "views.publish") || s.limited(w, "views.publish") {
		return
	}
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	b, _ := json.Marshal(body["view"])
	var view struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	_ = json.Unmarshal(b, &view)
	if errs := validateBlocks(string(view.Blocks), maxHomeBlocks); errs != nil {
		writeJSON(w, invalidBlocks(errs))
		return
	}
	s.mu.Lock()
	s.views = append(s.views, string(b))
	s.mu.Unlock()
	s.wakeUp()
	writeJSON(w, map[string]any{"ok": true})
}

// WaitViews waits until n home views were published.
func (s *Server) WaitViews(n int) []string {
	s.t.Helper()
	s.waitFor(func() bool { return len(s.Views()) >= n }, 10*time.Second, "views")
	return s.Views()
}

// waitFor waits for cond, woken by each recorded call, failing after d.
func (s *Server) waitFor(cond func() bool, d time.Duration, what string) {
	s.t.Helper()
	deadline := time.After(d)
	for !cond() {
		select {
		case <-s.notify:
		case <-deadline:
			s.t.Fatalf("fake Slack: timed out waiting for %s", what)
		}
	}
}

func (s *Server) connectionsOpen(w http.ResponseWriter, r *http.Request) {
	if s.denied(w, r, "apps.connections.open") {
		return
	}
	writeJSON(w, map[string]any{"ok": true, "url": "ws://" + s.ServerAddr + "/socket"})
}

// socket speaks Socket Mode: hello, then the queued envelopes; acks are collected.
func (s *Server) socket(c *websocket.Conn) {
	s.mu.Lock()
	s.sockets++
	s.mu.Unlock()
	if err := c.WriteJSON(map[string]any{"type": "hello", "num_connections": 1,
		"connection_info": map[string]any{"app_id": "A0RESETBOT"}, "debug_info": map[string]any{"host": "fake"}}); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			var ack struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if err := c.ReadJSON(&ack); err != nil {
				s.mu.Lock()
				s.closed++
				s.mu.Unlock()
				s.wakeUp()
				return
			}
			if ack.EnvelopeID != "" {
				s.acks <- ack.EnvelopeID
			}
		}
	}()
	for {
		select {
		case env := <-s.envs:
			if err := c.WriteMessage(websocket.TextMessage, env); err != nil {
				return
			}
		case <-done:
			return
		}
	}
}

// WaitClosed waits until the bot has closed n Socket Mode connections.
func (s *Server) WaitClosed(n int) {
	s.waitFor(func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.closed >= n }, 10*time.Second, fmt.Sprintf("%d closed Socket Mode connections", n))
}

// SendEnvelope queues one Socket Mode envelope and waits for its acknowledgement.
func (s *Server) SendEnvelope(kind, envelopeID string, payload any) {
	s.t.Helper()
	b, _ := json.Marshal(map[string]any{"type": kind, "envelope_id": envelopeID, "accepts_response_payload": kind != "events_api", "payload": payload})
	s.envs <- b
	deadline := time.After(10 * time.Second)
	for {
		select {
		case id := <-s.acks:
			if id == envelopeID {
				return
			}
		case <-deadline:
			s.t.Fatalf("envelope %s was not acknowledged", envelopeID)
		}
	}
}

// MessageEvent is an event_callback payload for a DM from user, whose text is what the person
// typed as Slack delivers it (see Typed).
func MessageEvent(team, eventID, user, text string) map[string]any {
	return map[string]any{"token": "x", "team_id": team, "api_app_id": "A0RESETBOT", "type": "event_callback",
		"event_id": eventID, "event_time": 1700000000,
		"event": map[string]any{"type": "message", "channel_type": "im", "channel": "D" + user, "user": user, "text": Typed(text), "ts": "1700000000.000100"}}
}

// typedLink is an address, a web link or a bare domain name in typed text, which Slack turns
// into a link (the email alternative comes first, so an address is never cut at its domain).
var typedLink = regexp.MustCompile(`\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b|\bhttps?://[^\s<>]+|\b(?:[A-Za-z0-9-]+\.)+(?:com|net|org|io|co|edu|gov|de|fr|uk|nl|it|es|jp)\b`)

// Typed is text as a person typed it the way Slack delivers it in a message event
// (https://api.slack.com/reference/surfaces/formatting, "Escaping text" and "Linking to URLs"):
// &, < and > escaped as &amp;, &lt; and &gt;; an email address the client
// links as <mailto:addr|addr>, a web address as <url>, a bare domain name ("outlook.com") as
// <http://domain|domain>.
func Typed(text string) string {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	var b strings.Builder
	last := 0
	for _, m := range typedLink.FindAllStringIndex(text, -1) {
		b.WriteString(esc.Replace(text[last:m[0]]))
		link := text[m[0]:m[1]]
		switch {
		case strings.Contains(link, "://"):
			b.WriteString("<" + esc.Replace(link) + ">")
		case strings.Contains(link, "@"):
			b.WriteString("<mailto:" + link + "|" + link + ">")
		default:
			b.WriteString("<http://" + link + "|" + link + ">")
		}
		last = m[1]
	}
	b.WriteString(esc.Replace(text[last:]))
	return b.String()
}

// BlockAction is the interactive payload Slack sends when user clicks the button (actionID,
// value) in msg, a message the bot posted in the user's DM. As Slack's reference for
// block_actions payloads says (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload,
// "message": the source surface, with the full state of the message), the payload carries the
// clicked message itself, its blocks included, next to the container that names its ts.
func BlockAction(team, triggerID, user, actionID, value string, msg Post) map[string]any {
	blocks := json.RawMessage("[]")
	if msg.Blocks != "" {
		blocks = json.RawMessage(msg.Blocks)
	}
	// the action names the block that holds the button and carries the button's text
	blockID := "actions:0"
	var set []struct {
		BlockID  string `json:"block_id"`
		Elements []struct {
			ActionID string          `json:"action_id"`
			Value    string          `json:"value"`
			Text     json.RawMessage `json:"text"`
		} `json:"elements"`
	}
	_ = json.Unmarshal(blocks, &set)
	text := json.RawMessage(`{"type":"plain_text","text":"x"}`)
	for _, b := range set {
		for _, e := range b.Elements {
			if e.ActionID == actionID && e.Value == value && len(e.Text) > 0 {
				blockID, text = b.BlockID, e.Text
			}
		}
	}
	return map[string]any{"type": "block_actions", "team": map[string]any{"id": team}, "user": map[string]any{"id": user, "team_id": team},
		"api_app_id": "A0RESETBOT", "token": "x", "trigger_id": triggerID, "channel": map[string]any{"id": "D" + user, "name": "directmessage"},
		"container": map[string]any{"type": "message", "message_ts": msg.TS, "channel_id": "D" + user, "is_ephemeral": false},
		"message": map[string]any{"type": "message", "bot_id": "B0RESETBOT", "user": "U0RESETBOT",
			"text": msg.Text, "ts": msg.TS, "team": team, "blocks": blocks},
		"state":   map[string]any{"values": map[string]any{}},
		"actions": []any{map[string]any{"action_id": actionID, "block_id": blockID, "value": value, "type": "button", "text": text, "action_ts": "1700000001.000002"}}}
}

// Message is the message a click on the button (actionID, value) in channel comes from: the
// newest post there that holds that button, else the channel's newest post (a click a test
// forges), else an empty message.
func (s *Server) Message(channel, actionID, value string) Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	var newest Post
	for i := len(s.posts) - 1; i >= 0; i-- {
		p := s.posts[i]
		if p.Channel != channel {
			continue
		}
		if newest.TS == "" {
			newest = p
		}
		for _, b := range Buttons(p) {
			if b == [2]string{actionID, value} {
				return p
			}
		}
	}
	return newest
}

// Buttons returns the (action id, value) pairs of the buttons in a post's blocks.
func Buttons(p Post) [][2]string {
	var blocks slackapi.Blocks
	_ = json.Unmarshal([]byte(p.Blocks), &blocks)
	var out [][2]string
	for _, b := range blocks.BlockSet {
		if ab, ok := b.(*slackapi.ActionBlock); ok {
			for _, e := range ab.Elements.ElementSet {
				if btn, ok := e.(*slackapi.ButtonBlockElement); ok {
					out = append(out, [2]string{btn.ActionID, btn.Value})
				}
			}
		}
	}
	return out
}

// includeLocale reads the include_locale argument of users.info and users.list: "Set this to
// true to receive the locale for this user. Defaults to false" (https://api.slack.com/methods/users.info,
// https://api.slack.com/methods/users.list). Anything but true is false here (stricter).
func includeLocale(r *http.Request) bool { return r.FormValue("include_locale") == "true" }

// userJSON is a user object; the profile's email is there only with users:read.email
// (https://api.slack.com/methods/users.info, https://api.slack.com/scopes/users:read.email),
// and the locale only when the call asked for it with include_locale.
func userJSON(u User, email, locale bool) map[string]any {
	profile := map[string]any{}
	if email {
		profile["email"] = u.Email
	}
	out := map[string]any{
		"id": u.ID, "team_id": u.TeamID, "name": strings.Split(u.Email, "@")[0], "deleted": u.Deleted, "is_bot": u.Bot,
		"is_restricted": u.Guest, "is_ultra_restricted": false, "is_stranger": u.Stranger, "is_email_confirmed": u.EmailConfirmed,
		"tz": u.TZ, "profile": profile,
	}
	if locale {
		out["locale"] = u.Locale
		if u.Locale == "" {
			out["locale"] = "en-US"
		}
	}
	return out
}

// usersList pages the users with a cursor, 200 at most a page, as Slack does.
func (s *Server) usersList(w http.ResponseWriter, r *http.Request) {
	if s.denied(w, r, "users.list") || s.limited(w, "users.list") {
		return
	}
	limit := 200
	if n, err := strconv.Atoi(r.FormValue("limit")); err == nil && n > 0 && n < limit {
		limit = n
	}
	start, _ := strconv.Atoi(r.FormValue("cursor"))
	s.mu.Lock()
	email := slices.Contains(s.scopes, "users:read.email")
	ids := make([]string, 0, len(s.users))
	for id := range s.users {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var page []map[string]any
	end := min(start+limit, len(ids))
	for _, id := range ids[min(start, len(ids)):end] {
		page = append(page, userJSON(s.users[id], email, includeLocale(r)))
	}
	s.mu.Unlock()
	next := ""
	if end < len(ids) {
		next = strconv.Itoa(end)
	}
	writeJSON(w, map[string]any{"ok": true, "members": page, "response_metadata": map[string]any{"next_cursor": next}})
}

// WaitPostsWithin waits until n messages were posted in total, failing after d.
func (s *Server) WaitPostsWithin(n int, d time.Duration) []Post {
	s.t.Helper()
	s.waitFor(func() bool { return len(s.Posts()) >= n }, d, fmt.Sprintf("%d posts (have %d)", n, len(s.Posts())))
	return s.Posts()
}

// WaitChannelsWithin waits up to d until posts went to at least n different channels (a
// duplicate post does not count twice), then returns every post.
func (s *Server) WaitChannelsWithin(n int, d time.Duration) []Post {
	s.t.Helper()
	channels := func() int {
		seen := map[string]bool{}
		for _, p := range s.Posts() {
			seen[p.Channel] = true
		}
		return len(seen)
	}
	s.waitFor(func() bool { return channels() >= n }, d, fmt.Sprintf("posts to %d channels (have %d)", n, channels()))
	return s.Posts()
}

// File is an uploaded file shared to a channel.
type File struct {
	ID, Name, Title, Channel string
	Data                     []byte
}

// Files returns the files shared so far.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]File(nil), s.shared...)
}

func (s *Server) uploadURL(w http.ResponseWriter, r *http.Request) {
	if s.denied(w, r, "files.getUploadURLExternal") {
		return
	}
	s.mu.Lock()
	id := fmt.Sprintf("F%06d", len(s.uploads)+1)
	s.uploads[id] = nil
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "upload_url": "http://" + s.ServerAddr + "/upload/" + id, "file_id": id})
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	f, _, err := r.FormFile("file")
	if err != nil {
		http.Error(w, "no file", http.StatusBadRequest)
		return
	}
	b, _ := io.ReadAll(f)
	s.mu.Lock()
	s.uploads[id] = b
	s.mu.Unlock()
	_, _ = w.Write([]byte("OK - " + strconv.Itoa(len(b))))
}

func (s *Server) completeUpload(w http.ResponseWriter, r *http.Request) {
	if s.denied(w, r, "files.completeUploadExternal") {
		return
	}
	if e := s.postable(r.FormValue("channel_id")); e != "" {
		writeJSON(w, map[string]any{"ok": false, "error": e})
		return
	}
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	_ = json.Unmarshal([]byte(r.FormValue("files")), &files)
	s.mu.Lock()
	for _, f := range files {
		s.shared = append(s.shared, File{ID: f.ID, Title: f.Title, Channel: r.FormValue("channel_id"), Data: s.uploads[f.ID]})
	}
	s.mu.Unlock()
	out := []map[string]any{}
	for _, f := range files {
		out = append(out, map[string]any{"id": f.ID, "title": f.Title})
	}
	writeJSON(w, map[string]any{"ok": true, "files": out})
}

// refusal is Slack's answer to a post it would refuse: a channel the bot cannot post to, text
// over 40,000 characters (msg_too_long), or blocks over Block Kit's limits (invalid_blocks).
func (s *Server) refusal(r *http.Request) map[string]any {
	if e := s.postable(r.FormValue("channel")); e != "" {
		return map[string]any{"ok": false, "error": e}
	}
	if len([]rune(r.FormValue("text"))) > 40000 {
		return map[string]any{"ok": false, "error": "msg_too_long"}
	}
	if errs := validateBlocks(r.FormValue("blocks"), maxMessageBlocks); errs != nil {
		return invalidBlocks(errs)
	}
	return nil
}
