package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/resetbot/resetbot/internal/jsonscan/jsonscantest"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
)

// interactionDecision is everything onInteraction takes from a payload.
type interactionDecision struct {
	Type, Team, Enterprise, User, Channel, TriggerID, ViewType, MessageTs string
	Act                                                                   bool
	ActionID, Value, Label                                                string
	Kept                                                                  string // the blocks closeButtons sends back, as slack-go reads them
}

// normalBlocks is blocks as slack-go decodes and encodes them.
func normalBlocks(t *testing.T, b []byte) string {
	t.Helper()
	var blocks slackapi.Blocks
	if err := json.Unmarshal(b, &blocks); err != nil {
		t.Fatalf("blocks %s: %v", b, err)
	}
	out, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestDecodeInteractionMatchesSlackGo: the lean decode gives onInteraction the same ids, the
// same clicked button and the same blocks to send back as slack.InteractionCallback did.
func TestDecodeInteractionMatchesSlackGo(t *testing.T) {
	message := `{"type":"message","ts":"1700000000.000100","text":"x","blocks":[` +
		`{"type":"section","block_id":"b1","text":{"type":"mrkdwn","text":"Pick one &amp; go &lt;now&gt; — é 😀","verbatim":false}},` +
		`{"type":"context","block_id":"b2","elements":[{"type":"plain_text","text":"note","emoji":true}]},` +
		`{"type":"actions","block_id":"actions:0","elements":[{"type":"button","action_id":"choice:0","text":{"type":"plain_text","text":"Authenticator app","emoji":true},"value":"s1:3:totp"},` +
		`{"type":"button","action_id":"link","text":{"type":"plain_text","text":"Open"},"url":"https://x.example/l/abc","style":"primary"}]},` +
		`{"type":"header","block_id":"h","text":{"type":"plain_text","text":"Head"}},` +
		`{"type":"divider","block_id":"d"}]}`
	click := func(actions, extra string) string {
		return `{"type":"block_actions","team":{"id":"T1","domain":"x"},"user":{"id":"U1","username":"u","team_id":"T1"},"api_app_id":"A1",` +
			`"token":"x","trigger_id":"1.2.abc","channel":{"id":"D1","name":"directmessage"},` +
			`"container":{"type":"message","message_ts":"1700000000.000100","channel_id":"D1","is_ephemeral":false},` +
			`"message":` + message + `,"actions":` + actions + extra + `}`
	}
	choice := `[{"action_id":"choice:0","block_id":"actions:0","text":{"type":"plain_text","text":"Authenticator app","emoji":true},"value":"s1:3:totp","type":"button","action_ts":"1.3"}]`
	payloads := map[string]string{
		"choice":            click(choice, ""),
		"link":              click(`[{"action_id":"link","block_id":"actions:0","text":{"type":"plain_text","text":"Open"},"url":"https://x.example","type":"button"}]`, ""),
		"enterprise":        click(choice, `,"enterprise":{"id":"E1","name":"Org"}`),
		"attachment first":  click(`[{"name":"n","value":"v","type":"button"},{"action_id":"choice:1","block_id":"actions:0","value":"s1:3:sms","type":"button","text":{"type":"plain_text","text":"SMS"}}]`, ""),
		"block id not text": click(`[{"action_id":"choice:1","block_id":5,"value":"v","type":"button"}]`, ""),
		"no actions":        click(`[]`, ""),
		"home": `{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"9.9","container":{"type":"view","view_id":"V1"},` +
			`"view":{"id":"V1","type":"home","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]},` +
			`"actions":[{"action_id":"home:reset","block_id":"home","value":"","type":"button","text":{"type":"plain_text","text":"Reset"}}]}`,
		"view submission": `{"type":"view_submission","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"1","view":{"type":"modal"}}`,
		"keys other case": `{"TYPE":"block_actions","Team":{"ID":"T1"},"user":{"Id":"U1"},"Trigger_ID":"1","channel":{"id":"D1"},"ACTIONS":[{"Action_ID":"choice:0","block_id":"a","VALUE":"v","Text":{"TEXT":"t"}}],"Message":{"Blocks":[{"Type":"section","text":{"type":"mrkdwn","text":"x"}}]}}`,
		"no message":      `{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"1","channel":{"id":"D1"},"actions":[{"action_id":"choice:0","block_id":"a","value":"v"}]}`,
	}
	acted := 0
	for name, raw := range payloads {
		var old slackapi.InteractionCallback
		if err := json.Unmarshal([]byte(raw), &old); err != nil {
			t.Fatalf("%s: slack-go: %v", name, err)
		}
		want := interactionDecision{Type: string(old.Type), Team: old.Team.ID, Enterprise: old.Enterprise.ID, User: old.User.ID,
			Channel: old.Channel.ID, TriggerID: old.TriggerID, ViewType: string(old.View.Type), MessageTs: old.Container.MessageTs}
		var oldKept []slackapi.Block
		for _, b := range old.Message.Blocks.BlockSet {
			if b.BlockType() != slackapi.MBTAction {
				oldKept = append(oldKept, b)
			}
		}
		kb, _ := json.Marshal(oldKept)
		want.Kept = normalBlocks(t, kb)
		if len(old.ActionCallback.BlockActions) > 0 {
			act := old.ActionCallback.BlockActions[0]
			want.Act, want.ActionID, want.Value, want.Label = true, act.ActionID, act.Value, act.Text.Text
		}

		cb, err := decodeInteraction([]byte(raw))
		if err != nil {
			t.Fatalf("%s: lean decode: %v", name, err)
		}
		got := interactionDecision{Type: cb.Type, Team: cb.Team.ID, Enterprise: cb.Enterprise.ID, User: cb.User.ID,
			Channel: cb.Channel.ID, TriggerID: cb.TriggerID, ViewType: cb.ViewType, MessageTs: cb.MessageTs}
		act, ok := cb.action()
		got.Act, got.ActionID, got.Value, got.Label = ok, act.ActionID, act.Value, act.Label
		nb, err := json.Marshal(keptBlocks(cb.Blocks))
		if err != nil {
			t.Fatal(err)
		}
		got.Kept = normalBlocks(t, nb)
		if got != want {
			t.Errorf("%s:\n lean     %+v\n slack-go %+v", name, got, want)
		}
		if want.Act {
			acted++
		}
	}
	if acted < 5 {
		t.Fatalf("only %d payloads carry a block action", acted)
	}
}

// oldInteraction is the struct the payload was decoded into with encoding/json before
// decodeInteraction.
type oldInteraction struct {
	Type       string              `json:"type"`
	TriggerID  string              `json:"trigger_id"`
	Team       struct{ ID string } `json:"team"`
	Enterprise struct{ ID string } `json:"enterprise"`
	User       struct{ ID string } `json:"user"`
	Channel    struct{ ID string } `json:"channel"`
	View       struct {
		Type string `json:"type"`
	} `json:"view"`
	Container struct {
		MessageTs string `json:"message_ts"`
	} `json:"container"`
	Actions []struct {
		BlockID  json.RawMessage `json:"block_id"`
		ActionID string          `json:"action_id"`
		Value    string          `json:"value"`
		Text     struct {
			Text string `json:"text"`
		} `json:"text"`
	} `json:"actions"`
	Message struct {
		Blocks []json.RawMessage `json:"blocks"`
	} `json:"message"`
}

// TestDecodeInteractionMatchesEncodingJSON: on payloads damaged a byte at a time (values of
// other types, broken JSON), decodeInteraction refuses exactly what encoding/json refused and
// reads the same ids, actions and blocks from the rest.
func TestDecodeInteractionMatchesEncodingJSON(t *testing.T) {
	base := []string{
		`{"type":"block_actions","team":{"id":"T1"},"enterprise":null,"user":{"id":"U1","team_id":"T1"},"trigger_id":"1.2","channel":{"id":"D1"},` +
			`"container":{"message_ts":"1.5"},"message":{"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"a \"b\" \u00e9"}},{"type":"actions","elements":[]},5,null]},` +
			`"actions":[{"action_id":"choice:0","block_id":"actions:0","text":{"type":"plain_text","text":"Pick \u0041"},"value":"v1"},{"block_id":7,"action_id":"x"},null]}`,
		`{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"9","view":{"id":"V","type":"home","blocks":[]},"actions":[{"action_id":"home:reset","block_id":"home","value":""}]}`,
	}
	r := rand.New(rand.NewPCG(7, 8))
	const bytesToTry = `{}[]":,1n"tf x\TYPEIDS`
	var docs []string
	for _, b := range base {
		docs = append(docs, b)
		for range 2000 {
			docs = append(docs, jsonscantest.Damaged(r, b, bytesToTry))
		}
	}
	decided := 0
	for _, d := range docs {
		var old oldInteraction
		oldErr := json.Unmarshal([]byte(d), &old)
		cb, err := decodeInteraction([]byte(d))
		if (err != nil) != (oldErr != nil) {
			t.Fatalf("%s:\n decodeInteraction %v, encoding/json %v", d, err, oldErr)
		}
		if err != nil {
			continue
		}
		decided++
		want := fmt.Sprint(old.Type, old.TriggerID, old.Team.ID, old.Enterprise.ID, old.User.ID, old.Channel.ID, old.View.Type, old.Container.MessageTs)
		got := fmt.Sprint(cb.Type, cb.TriggerID, cb.Team.ID, cb.Enterprise.ID, cb.User.ID, cb.Channel.ID, cb.ViewType, cb.MessageTs)
		for _, x := range old.Actions {
			want += fmt.Sprint(len(x.BlockID) > 0 && x.BlockID[0] == '"', x.ActionID, x.Value, x.Text.Text)
		}
		for _, x := range cb.Actions {
			got += fmt.Sprint(x.BlockIsText, x.ActionID, x.Value, x.Label)
		}
		for _, b := range old.Message.Blocks {
			want += string(b)
		}
		for _, b := range cb.Blocks {
			got += string(b.Raw())
		}
		if got != want {
			t.Fatalf("%s:\n decodeInteraction %s\n encoding/json     %s", d, got, want)
		}
	}
	if decided < 200 {
		t.Fatalf("only %d payloads decoded", decided)
	}
}

// formValue finds what url.ParseQuery finds, and fails where it fails.
func TestFormValueMatchesParseQuery(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const chars = "payload=&;%2A+zG%e9%"
	for range 20000 {
		var b []byte
		for range r.IntN(30) {
			b = append(b, chars[r.IntN(len(chars))])
		}
		if r.IntN(3) == 0 {
			b = append([]byte("payload="), b...)
		}
		got, err := formValue(b, "payload")
		form, werr := url.ParseQuery(string(b))
		if (err != nil) != (werr != nil) || err == nil && string(got) != form.Get("payload") {
			t.Fatalf("%q: %q, %v; ParseQuery %q, %v", b, got, err, form.Get("payload"), werr)
		}
	}
	many := []byte(strings.Repeat("a=1&", maxFormFields) + "payload=x")
	if _, err := formValue(many, "payload"); err == nil {
		t.Fatal("a form of more fields than ParseQuery takes was read")
	}
}

// The pooled verifier accepts exactly the signatures HMAC-SHA256 over "v0:ts:body" gives, in
// lower-case hex after "v0=", for secrets and bodies that change between requests (a MAC kept
// for one secret is never used for another).
func TestVerifierMatchesHMAC(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	now := time.Unix(1_700_000_000, 0)
	var v verifier
	secrets := []string{"0123456789abcdef0123", "another-secret-0123456789", "x"}
	accepted := 0
	for n := range 3000 {
		secret := secrets[r.IntN(len(secrets))]
		body := make([]byte, r.IntN(200))
		for i := range body {
			body[i] = byte(r.IntN(256))
		}
		at := now.Add(time.Duration(r.IntN(700)-350) * time.Second)
		ts := strconv.FormatInt(at.Unix(), 10)
		mac := hmac.New(sha256.New, []byte(secrets[r.IntN(len(secrets))]))
		mac.Write([]byte("v0:" + ts + ":"))
		mac.Write(body)
		sig := "v0=" + hex.EncodeToString(mac.Sum(nil))
		switch n % 5 {
		case 1:
			sig = strings.ToUpper(sig[:3]) + sig[3:]
		case 2:
			sig = sig[:3] + strings.ToUpper(sig[3:])
		case 3:
			sig = sig[:len(sig)-1]
		}
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", sig)
		want := sig == string(Sign(secret, body, at).Get("X-Slack-Signature")) && now.Sub(at) <= MaxSkew && at.Sub(now) <= MaxSkew
		if got := v.verify(h, body, secret, now); got != want {
			t.Fatalf("request %d: verify %v, want %v (%s)", n, got, want, sig)
		}
		if want {
			accepted++
		}
	}
	if accepted < 100 {
		t.Fatalf("only %d requests were signed right", accepted)
	}
}
