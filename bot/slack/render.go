package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/jsonscan"
)

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Block Kit and message limits (https://api.slack.com/reference/block-kit/blocks,
// https://api.slack.com/reference/block-kit/block-elements#button and
// https://api.slack.com/methods/chat.postMessage: text over 40,000 characters is refused).
const (
	maxSectionText = 3000
	maxBlocks      = 50
	maxButtons     = 25
	maxButtonText  = 75
	maxMessageText = 39000 // below 40,000, leaving room for the joins
)

// Message is one chat.postMessage: its blocks and the fallback text.
type Message struct {
	Blocks []slackapi.Block
	Text   string
}

// Messages renders replies as Block Kit: text sections, one-time links as link buttons,
// choices as buttons whose values carry the session id and version. A text longer than a
// section takes is split at line (or word) boundaries into several sections, and the blocks
// go out in as many messages as Slack's limits need, in order.
func Messages(locale string, replies []flows.Reply) []Message {
	var out []Message
	cur := Message{}
	add := func(b slackapi.Block, text string) {
		if len(cur.Blocks) > 0 && (len(cur.Blocks)+1 > maxBlocks || len([]rune(cur.Text))+len([]rune(text)) > maxMessageText) {
			out = append(out, cur)
			cur = Message{}
		}
		cur.Blocks = append(cur.Blocks, b)
		if text != "" {
			if cur.Text != "" {
				cur.Text += "\n"
			}
			cur.Text += text
		}
	}
	section := func(chunk string) {
		add(slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, mrkdwnEscaper.Replace(chunk), false, false), nil, nil), chunk)
	}
	for ri, r := range replies {
		if r.Text != "" && escapedLenOf(r.Text) <= maxSectionText {
			section(r.Text) // one section: splitText's answer, without its slice
		} else {
			for _, chunk := range splitText(r.Text, maxSectionText) {
				section(chunk)
			}
		}
		var buttons []slackapi.BlockElement
		if r.Link != "" {
			b := slackapi.NewButtonBlockElement("link", "", slackapi.NewTextBlockObject(slackapi.PlainTextType, flows.Text(locale, "button.open_page"), false, false))
			b.URL = r.Link
			b.Style = slackapi.StylePrimary
			buttons = append(buttons, b)
		}
		for i, c := range r.Choices {
			buttons = append(buttons, slackapi.NewButtonBlockElement(numbered("choice:", i), c.ID,
				slackapi.NewTextBlockObject(slackapi.PlainTextType, truncate(c.Title(), maxButtonText), false, false)))
		}
		for part := 0; len(buttons) > 0; part++ {
			n := min(len(buttons), maxButtons)
			id := numbered("actions:", ri)
			if part > 0 {
				id = fmt.Sprintf("actions:%d:%d", ri, part)
			}
			add(slackapi.NewActionBlock(id, buttons[:n]...), "")
			buttons = buttons[n:]
		}
	}
	if len(cur.Blocks) > 0 {
		out = append(out, cur)
	}
	return out
}

// splitText cuts s into pieces whose mrkdwn-escaped length is at most n characters: at the
// last line break that fits, else the last space, else anywhere. It walks the string in place
// (no rune slice per call: every reply goes through it).
func splitText(s string, n int) []string {
	if s == "" {
		return []string{" "} // a section needs text
	}
	var out []string
	for {
		cut, size := len(s), 0
		for i, c := range s {
			size += escapedLen(c)
			if size > n {
				cut = i
				break
			}
		}
		if cut == len(s) {
			return append(out, s)
		}
		head := s[:cut]
		if i := strings.LastIndex(head, "\n"); i > 0 {
			head = head[:i+1]
		} else if i := strings.LastIndex(head, " "); i > 0 {
			head = head[:i+1]
		}
		out = append(out, strings.TrimRight(head, "\n"))
		s = s[len(head):]
	}
}

// escapedLenOf is how many characters s takes once mrkdwn-escaped.
func escapedLenOf(s string) int {
	n := 0
	for _, c := range s {
		n += escapedLen(c)
	}
	return n
}

// numbers are the ids of the first buttons and action blocks, made once.
var numbers = func() (m [2][maxButtons]string) {
	for i := range maxButtons {
		m[0][i], m[1][i] = fmt.Sprintf("choice:%d", i), fmt.Sprintf("actions:%d", i)
	}
	return m
}()

// numbered is prefix (choice: or actions:) followed by i.
func numbered(prefix string, i int) string {
	if i < maxButtons {
		switch prefix {
		case "choice:":
			return numbers[0][i]
		case "actions:":
			return numbers[1][i]
		}
	}
	return fmt.Sprintf("%s%d", prefix, i)
}

// escapedLen is how many characters c takes once mrkdwn-escaped.
func escapedLen(c rune) int {
	switch c {
	case '&':
		return 5
	case '<', '>':
		return 4
	}
	return 1
}

// post sends replies to the chat's channel with unfurling off.
func (a *Adapter) post(ctx context.Context, chat flows.ChatRef, replies []flows.Reply) {
	if len(replies) == 0 {
		return
	}
	if err := a.send(ctx, chat, replies); err != nil {
		a.log.ErrorContext(ctx, "slack post failed", "err", err, "chat", chat.Key())
	}
}

func (a *Adapter) send(ctx context.Context, chat flows.ChatRef, replies []flows.Reply) error {
	channel := chat.Channel
	if channel == "" {
		ch, err := a.openDM(ctx, chat.UserID)
		if err != nil {
			return err
		}
		channel = ch
	}
	for _, m := range Messages(chat.Locale, replies) {
		err := a.call(ctx, "chat.postMessage:"+channel, func() error {
			return a.chatForm(ctx, "chat.postMessage", []string{"channel", channel, "text", m.Text,
				"unfurl_links", "false", "unfurl_media", "false"}, m.Blocks)
		})
		if err != nil {
			return err
		}
	}
	for _, r := range replies {
		if f := r.File; f != nil {
			err := a.call(ctx, "files.upload", func() error {
				_, err := a.api.UploadFileContext(ctx, slackapi.UploadFileParameters{Reader: bytes.NewReader(f.Data), FileSize: len(f.Data),
					Filename: f.Name, Title: f.Title, Channel: channel})
				return err
			})
			if err != nil {
				return fmt.Errorf("slack: upload %s: %w", f.Name, err)
			}
		}
	}
	return nil
}

// Notify implements flows.Notifier: a direct message outside a request.
func (a *Adapter) Notify(ctx context.Context, chat flows.ChatRef, replies []flows.Reply) error {
	return a.send(ctx, chat, replies)
}

// openDM returns the direct-message channel with a user.
func (a *Adapter) openDM(ctx context.Context, user string) (string, error) {
	var id string
	err := a.call(ctx, "conversations.open", func() error {
		ch, _, _, err := a.api.OpenConversationContext(ctx, &slackapi.OpenConversationParameters{Users: []string{user}, ReturnIM: true})
		if err == nil {
			id = ch.ID
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("slack: conversations.open: %w", err)
	}
	return id, nil
}

// closeButtons replaces a clicked message's buttons with what was chosen, so it cannot be
// clicked again (a stale click would be refused anyway).
func (a *Adapter) closeButtons(ctx context.Context, locale, channel, ts string, msg []jsonscan.Value, label string) {
	blocks := keptBlocks(msg)
	chosen := flows.Text(locale, "chat.you_chose", label)
	blocks = append(blocks, slackapi.NewContextBlock("chosen", slackapi.NewTextBlockObject(slackapi.PlainTextType, chosen, false, false)))
	err := a.call(ctx, "chat.update:"+channel, func() error {
		return a.chatForm(ctx, "chat.update", []string{"channel", channel, "ts", ts, "text", chosen}, blocks)
	})
	if err != nil {
		a.log.WarnContext(ctx, "chat.update failed", "err", err)
	}
}

// keptBlocks is a message's blocks but its action blocks, sent back as Slack gave them. A
// block that is not an object with a string type is dropped.
func keptBlocks(msg []jsonscan.Value) []slackapi.Block {
	var blocks []slackapi.Block
	for _, b := range msg {
		typ, ok := "", false
		err := b.Members(func(k []byte, v jsonscan.Value) (err error) {
			if jsonscan.Is(k, "type") {
				typ, err = blockType(v.Raw())
				ok = err == nil
			}
			return err
		})
		if err != nil || !ok || typ == string(slackapi.MBTAction) {
			continue
		}
		blocks = append(blocks, rawBlock{raw: b.Raw(), typ: typ})
	}
	return blocks
}

// blockType is a block's type, without a new string for the types the bot sends.
func blockType(v []byte) (string, error) {
	for _, t := range [...]slackapi.MessageBlockType{slackapi.MBTSection, slackapi.MBTContext, slackapi.MBTAction, slackapi.MBTHeader, slackapi.MBTDivider} {
		if len(v) == len(t)+2 && string(v[1:len(v)-1]) == string(t) && v[0] == '"' {
			return string(t), nil
		}
	}
	return jsonscan.String(v)
}

// rawBlock is a block passed through as JSON.
type rawBlock struct {
	raw json.RawMessage
	typ string
}

func (b rawBlock) BlockType() slackapi.MessageBlockType { return slackapi.MessageBlockType(b.typ) }
func (b rawBlock) ID() string                           { return "" }
func (b rawBlock) MarshalJSON() ([]byte, error)         { return b.raw, nil }

// chatForm sends chat.postMessage or chat.update as slack-go's form sender does (the same form
// fields, the token among them, and the same errors: *slack.RateLimitedError on a 429 with
// Retry-After, slack.StatusCodeError on another status, slack.SlackErrorResponse when Slack says
// ok false), but reads only the answer's status members: slack-go decodes the whole echoed
// message with its blocks, a tenth of the bot's allocations per recovery. fields are the form's
// other fields as name, value pairs.
func (a *Adapter) chatForm(ctx context.Context, method string, fields []string, blocks []slackapi.Block) error {
	b, err := blocksJSON(blocks)
	if err != nil {
		return err
	}
	var all [16]string
	var r statusAnswer
	if err := a.postForm(ctx, method, append(append(all[:0], fields...), "blocks", b), &r); err != nil {
		return err
	}
	return r.Err()
}

// answer is a Web API answer postForm reads member by member (see jsonscan); an answer that is
// not a JSON object of the expected members is decoded with encoding/json instead, into the
// same value, so its error is encoding/json's, as slack-go's would be.
type answer interface {
	member(key []byte, value jsonscan.Value) error
}

// statusAnswer is the members of slack.SlackResponse, the status every answer carries; the
// rest of an answer (chat.postMessage's echoed message) is skipped.
type statusAnswer struct{ slackapi.SlackResponse }

func (r *statusAnswer) member(key []byte, val jsonscan.Value) (err error) {
	v := val.Raw()
	switch {
	case jsonscan.Is(key, "ok"):
		r.Ok, err = jsonscan.Bool(v)
	case jsonscan.Is(key, "error"):
		r.Error, err = jsonscan.String(v)
	case jsonscan.Is(key, "warning"):
		r.Warning, err = jsonscan.String(v)
	case jsonscan.Is(key, "needed"):
		r.Needed, err = jsonscan.String(v)
	case jsonscan.Is(key, "provided"):
		r.Provided, err = jsonscan.String(v)
	case jsonscan.Is(key, "errors"):
		err = json.Unmarshal(v, &r.Errors)
	case jsonscan.Is(key, "response_metadata"):
		err = json.Unmarshal(v, &r.ResponseMetadata)
	}
	return err
}

// bodies are the buffers Web API answers are read into.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// webAPI is how postForm reaches the Web API: slack-go's client's transport (its connections,
// proxy and TLS), without its Timeout, which each call keeps instead as its context's
// deadline, and the URLs of the methods postForm calls, parsed once.
//
// With a Timeout, net/http's client copies every request, wraps every answer's body and makes
// closures to stop the timer when the body is read (setRequestCancel); a deadline on the call's
// context is the same bound (from before the request is sent until the whole answer is read,
// postForm reading it all before it returns) without them. Without one, the client still
// copies every request's headers for the redirects it would follow (makeHeadersCopier), and
// the Web API's methods answer where they are asked (https://api.slack.com/web: a method is a
// POST to its URL, answered with its JSON): postForm asks the transport itself, as the client
// would, its errors wrapped in the *url.Error the client returns. http.NewRequestWithContext
// parses the URL string every call.
type webAPI struct {
	rt      http.RoundTripper
	timeout time.Duration // 0: none
	base    string        // the Web API's base URL, ending with /
	urls    map[string]webURL
}

// webURL is a Web API method's URL as http.NewRequest makes it from the string, and the Host
// it sets with it.
type webURL struct {
	url  url.URL
	host string
}

// formMethods are the methods postForm calls.
var formMethods = [...]string{"chat.postMessage", "chat.update", "users.info"}

func newWebAPI(hc *http.Client, base string) webAPI {
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport // as the client does
	}
	w := webAPI{rt: rt, timeout: hc.Timeout, base: base, urls: make(map[string]webURL, len(formMethods))}
	for _, m := range formMethods {
		// a base that is no URL is refused by each call, as before (http.NewRequestWithContext)
		if r, err := http.NewRequest(http.MethodPost, base+m, nil); err == nil {
			w.urls[m] = webURL{url: *r.URL, host: r.Host}
		}
	}
	return w
}

// newRequest is http.NewRequestWithContext(ctx, POST, base+method, body) from the URL parsed
// once: each request has its own copy of it (a client may change a request's URL).
func (w *webAPI) newRequest(ctx context.Context, method string, body []byte) (*http.Request, error) {
	u, ok := w.urls[method]
	if !ok {
		return http.NewRequestWithContext(ctx, http.MethodPost, w.base+method, bytes.NewReader(body))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "", bytes.NewReader(body)) // "" parses at once
	if err != nil {
		return nil, err
	}
	*req.URL, req.Host = u.url, u.host
	return req, nil
}

// postForm posts a Web API method's form (fields as name, value pairs, the token added) as
// slack-go's postForm does and reads the answer into out, with slack-go's errors for a 429
// with Retry-After and for another status than 200. The call, the answer's whole body
// included, is bounded by the client's timeout (see webAPI).
func (a *Adapter) postForm(ctx context.Context, method string, fields []string, out answer) error {
	if a.web.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.web.timeout)
		defer cancel() // deferred first: run after the body is read and closed
	}
	req, err := a.web.newRequest(ctx, method, encodeForm(append(fields, "token", a.cfg.BotToken)))
	if err != nil {
		return err
	}
	req.Header["Content-Type"] = formType[:1:1] // shared, as Header.Set would store it (an Add copies; a transport changes no request)
	resp, err := a.web.rt.RoundTrip(req)
	if err != nil {
		return &url.Error{Op: "Post", URL: redacted(req.URL), Err: err} // as http.Client.Do says it
	}
	// an answer of an announced length within the bound is read as it is: the transport gives
	// no more than its length (a LimitReader is an allocation per call)
	var body io.Reader = resp.Body
	if n := resp.ContentLength; n < 0 || n > maxBody {
		body = io.LimitReader(resp.Body, maxBody)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, body) // so the connection is reused
		_ = resp.Body.Close()
	}()
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" {
		retry, err := strconv.ParseInt(resp.Header.Get("Retry-After"), 10, 64)
		if err != nil {
			return err
		}
		return &slackapi.RateLimitedError{RetryAfter: time.Duration(retry) * time.Second}
	}
	if resp.StatusCode != http.StatusOK {
		return slackapi.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	buf := bodies.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			bodies.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(body); err != nil {
		return err
	}
	if jsonscan.Object(buf.Bytes(), out.member) != nil {
		// not an object of the expected members: as slack-go reads it, for its error (or its
		// reading of the first value when more follow)
		return json.NewDecoder(bytes.NewReader(buf.Bytes())).Decode(out)
	}
	return nil
}

// redacted is u as http.Client's errors show it: a password in it replaced with ***.
func redacted(u *url.URL) string {
	if _, has := u.User.Password(); has {
		return strings.Replace(u.String(), u.User.String()+"@", u.User.Username()+":***@", 1)
	}
	return u.String()
}

// formType is a Web API request's Content-Type.
var formType = []string{"application/x-www-form-urlencoded"}

// maxRetries bounds how often one call waits out a 429.
const maxRetries = 3

// call runs one Web API call behind the method's limiter, waiting out 429 Retry-After.
func (a *Adapter) call(ctx context.Context, method string, f func() error) error {
	for attempt := 0; ; attempt++ {
		if err := a.lim.wait(ctx, method); err != nil {
			return err
		}
		err := f()
		if err == nil { // before rl, which errors.As moves to the heap: an allocation per call
			return nil
		}
		var rl *slackapi.RateLimitedError
		if !errors.As(err, &rl) || attempt >= maxRetries {
			return err
		}
		a.log.WarnContext(ctx, "slack rate limited", "method", method, "retry_after", rl.RetryAfter.String())
		a.lim.backoff(method, rl.RetryAfter)
	}
}

// Alert implements flows.Alerter: it posts to the bot admins' channel when one is configured,
// and always logs.
func (a *Adapter) Alert(ctx context.Context, ev flows.AuditEvent, text string) {
	a.log.WarnContext(ctx, "security alert", "action", ev.Action, "reason", ev.Reason, "actor", ev.Actor, "subject", ev.Subject)
	if a.cfg.AdminChannel == "" {
		return
	}
	r := flows.Reply{Text: flows.Text("", "alert.security", text)}
	if err := a.send(ctx, flows.ChatRef{Platform: Platform, Channel: a.cfg.AdminChannel}, []flows.Reply{r}); err != nil {
		a.log.ErrorContext(ctx, "alert post failed", "err", err)
	}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// encodeForm is url.Values.Encode of name, value pairs (each name once), in one allocation:
// the pairs sorted by name, each part escaped as url.QueryEscape escapes it. chat.postMessage's
// form is mostly its blocks' JSON, which url.Values.Encode escaped into a string of its own
// and then copied into a growing builder.
func encodeForm(pairs []string) []byte {
	n := len(pairs) / 2
	for i := 1; i < n; i++ { // insertion sort by name: a handful of pairs, no allocation
		for j := i; j > 0 && pairs[2*j] < pairs[2*j-2]; j-- {
			pairs[2*j], pairs[2*j+1], pairs[2*j-2], pairs[2*j-1] = pairs[2*j-2], pairs[2*j-1], pairs[2*j], pairs[2*j+1]
		}
	}
	size := n - 1
	for i := 0; i < n; i++ {
		size += 1 + escapedQueryLen(pairs[2*i]) + escapedQueryLen(pairs[2*i+1])
	}
	out := make([]byte, max(size, 0))
	j := 0
	for i := 0; i < n; i++ {
		if i > 0 {
			out[j] = '&'
			j++
		}
		j = putQueryEscape(out, j, pairs[2*i])
		out[j] = '='
		j = putQueryEscape(out, j+1, pairs[2*i+1])
	}
	return out
}

// queryKept reports whether url.QueryEscape writes c as it is (RFC 3986 unreserved).
func queryKept(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// queryClass is how url.QueryEscape writes each byte: 0 as it is, 1 as '+' (the space), 2 as
// %XX.
var queryClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case queryKept(byte(c)):
		case c == ' ':
			t[c] = 1
		default:
			t[c] = 2
		}
	}
	return t
}()

func escapedQueryLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if queryClass[s[i]] == 2 {
			n += 2
		}
	}
	return n
}

// putQueryEscape writes s escaped as url.QueryEscape escapes it at out[j:] (which has room for
// it, escapedQueryLen) and returns where it ends.
func putQueryEscape(out []byte, j int, s string) int {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; queryClass[c] {
		case 0:
			out[j] = c
			j++
		case 1:
			out[j] = '+'
			j++
		default:
			_ = out[j+2]
			out[j], out[j+1], out[j+2] = '%', hex[c>>4], hex[c&15]
			j += 3
		}
	}
	return j
}
