package slack

import (
	"net/url"
	"strings"
	"testing"
)

// formBlocks is the blocks JSON of a chat.postMessage with a question and four buttons, as the
// bot sends one at each step.
const formBlocks = `[{"type":"section","text":{"type":"mrkdwn","text":"*Resetting your password* — first, let us make sure it is you. Pick one of the methods you registered; the code we send is valid for ten minutes."}},` +
	`{"type":"actions","block_id":"actions:0","elements":[{"type":"button","text":{"type":"plain_text","text":"Authenticator app","emoji":true},"action_id":"choice:0","value":"s1:3:totp"},` +
	`{"type":"button","text":{"type":"plain_text","text":"Text message to •••• 42","emoji":true},"action_id":"choice:1","value":"s1:3:sms"},` +
	`{"type":"button","text":{"type":"plain_text","text":"Email to a…@fabrikam.example","emoji":true},"action_id":"choice:2","value":"s1:3:email"},` +
	`{"type":"button","text":{"type":"plain_text","text":"Cancel","emoji":true},"action_id":"cancel","value":"s1:3:cancel","style":"danger"}]}]`

// BenchmarkEncodeForm is a chat.postMessage's form.
func BenchmarkEncodeForm(b *testing.B) {
	pairs := []string{"channel", "D0123ABCD", "text", "How would you like to prove it is you?", "unfurl_links", "false", "unfurl_media", "false", "blocks", formBlocks}
	b.SetBytes(int64(len(formBlocks)))
	for b.Loop() {
		_ = encodeForm(pairs)
	}
}

// BenchmarkFormValue reads the payload of an interactivity request.
func BenchmarkFormValue(b *testing.B) {
	body := []byte("payload=" + url.QueryEscape(`{"type":"block_actions","message":{"blocks":`+formBlocks+`}}`))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if v, err := formValue(body, "payload"); err != nil || !strings.HasPrefix(string(v), "{") {
			b.Fatal(err)
		}
	}
}
