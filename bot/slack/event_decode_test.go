package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/resetbot/resetbot/internal/jsonscan/jsonscantest"
	"math/rand/v2"
	"testing"

	"github.com/slack-go/slack/slackevents"
)

// eventDecision is everything the adapter takes from an Events API payload: what it does with
// it, the workspace checks' input, the dedupe key, whom it answers and what was said, and the
// queue the payload waits in.
type eventDecision struct {
	Kind, Team, Enterprise, EventID, User, Channel, Text string
	QueueTeam, QueueUser, QueueChannel                   string
}

// oldDecision is how the adapter read a payload before it decoded it once: the envelope's
// ids, slackevents.ParseEvent and its MessageEvent, and a third decode for the queue.
func oldDecision(raw []byte) eventDecision {
	var owner struct {
		TeamID string `json:"team_id"`
		Event  struct {
			User    string `json:"user"`
			Channel string `json:"channel"`
		} `json:"event"`
	}
	_ = json.Unmarshal(raw, &owner)
	d := eventDecision{QueueTeam: owner.TeamID, QueueUser: owner.Event.User, QueueChannel: owner.Event.Channel}
	var outer struct {
		EventID      string `json:"event_id"`
		TeamID       string `json:"team_id"`
		EnterpriseID string `json:"enterprise_id"`
	}
	_ = json.Unmarshal(raw, &outer)
	ev, err := slackevents.ParseEvent(raw, slackevents.OptionNoVerifyToken())
	if err != nil || ev.Type != slackevents.CallbackEvent {
		return eventDecision{QueueTeam: d.QueueTeam, QueueUser: d.QueueUser, QueueChannel: d.QueueChannel}
	}
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.MessageEvent:
		if e.ChannelType != "im" || e.BotID != "" || e.SubType != "" || e.User == "" || e.Message != nil && e.Message.Edited != nil {
			return d
		}
		d.Kind, d.User, d.Channel, d.Text = "message", e.User, e.Channel, e.Text
	case *slackevents.AppHomeOpenedEvent:
		if e.Tab == "home" {
			d.Kind, d.User = "home", e.User
		}
	}
	if d.Kind != "" {
		d.Team, d.Enterprise, d.EventID = outer.TeamID, outer.EnterpriseID, outer.EventID
	}
	return d
}

// newDecision is the same through decodeEvent and kind.
func newDecision(raw []byte) eventDecision {
	env, err := decodeEvent(raw)
	d := eventDecision{QueueTeam: env.TeamID}
	if env.Event != nil {
		d.QueueUser, d.QueueChannel = env.Event.User, env.Event.Channel
	}
	if err != nil || env.Type != slackevents.CallbackEvent || env.Event == nil {
		return d
	}
	switch env.kind() {
	case "message":
		d.Kind, d.User, d.Channel, d.Text = "message", env.Event.User, env.Event.Channel, env.Event.Text
	case "home":
		d.Kind, d.User = "home", env.Event.User
	}
	if d.Kind != "" {
		d.Team, d.Enterprise, d.EventID = env.TeamID, env.EnterpriseID, env.EventID
	}
	return d
}

// TestDecodeEventOnceMatchesSlackevents: decoding a payload once gives the adapter the same
// decision, ids and text as the three decodes through slackevents did, for direct messages,
// edits (on the message or in "message"), bot and subtype messages, other channels, the home
// tab, other events, handshakes and broken payloads.
func TestDecodeEventOnceMatchesSlackevents(t *testing.T) {
	wrap := func(event string) string {
		return `{"token":"x","team_id":"T1","enterprise_id":"E1","api_app_id":"A1","type":"event_callback","event_id":"Ev1","event_time":1,"event":` + event + `}`
	}
	payloads := map[string]string{
		"dm":               wrap(`{"type":"message","user":"U1","text":"I'm locked out & <b>","channel":"D1","channel_type":"im","ts":"1.2","event_ts":"1.2"}`),
		"dm unicode":       wrap(`{"type":"message","user":"U1","text":"J\u00e9r\u00f4me \ud83d\ude00","channel":"D1","channel_type":"im"}`),
		"dm no user":       wrap(`{"type":"message","text":"hi","channel":"D1","channel_type":"im"}`),
		"dm edited top":    wrap(`{"type":"message","user":"U1","text":"hi","channel":"D1","channel_type":"im","edited":{"user":"U1","ts":"3.4"}}`),
		"dm edited null":   wrap(`{"type":"message","user":"U1","text":"hi","channel":"D1","channel_type":"im","edited":null}`),
		"dm changed":       wrap(`{"type":"message","user":"U1","text":"hi","channel":"D1","channel_type":"im","message":{"text":"x","edited":{"user":"U1","ts":"3.4"}}}`),
		"dm message no ed": wrap(`{"type":"message","user":"U1","text":"hi","channel":"D1","channel_type":"im","message":{"text":"x"},"edited":{"user":"U1","ts":"3.4"}}`),
		"dm message null":  wrap(`{"type":"message","user":"U1","text":"hi","channel":"D1","channel_type":"im","message":null,"edited":{"user":"U1","ts":"3.4"}}`),
		"subtype":          wrap(`{"type":"message","subtype":"message_changed","user":"U1","channel":"D1","channel_type":"im"}`),
		"bot":              wrap(`{"type":"message","bot_id":"B1","user":"U1","text":"hi","channel":"D1","channel_type":"im"}`),
		"channel":          wrap(`{"type":"message","user":"U1","text":"hi","channel":"C1","channel_type":"channel"}`),
		"home":             wrap(`{"type":"app_home_opened","user":"U1","channel":"D1","tab":"home"}`),
		"home messages":    wrap(`{"type":"app_home_opened","user":"U1","channel":"D1","tab":"messages"}`),
		"reaction":         wrap(`{"type":"reaction_added","user":"U1","reaction":"x","item":{"type":"message","channel":"D1","ts":"1"}}`),
		"unknown type":     wrap(`{"type":"no_such_event","user":"U1","channel":"D1","channel_type":"im"}`),
		"null event":       wrap(`null`),
		"string event":     wrap(`"x"`),
		"no event":         `{"token":"x","team_id":"T1","type":"event_callback","event_id":"Ev1"}`,
		"edited wrong":     wrap(`{"type":"message","user":"U1","text":"hi","channel":"D1","channel_type":"im","edited":5}`),
		"event id wrong":   `{"team_id":"T1","type":"event_callback","event_id":5,"event":{"type":"message","user":"U1","text":"hi","channel":"D1","channel_type":"im"}}`,
		"no enterprise":    `{"team_id":"T2","type":"event_callback","event_id":"Ev2","event":{"type":"message","user":"U2","text":"hi","channel":"D2","channel_type":"im"}}`,
		"handshake":        `{"token":"x","challenge":"abc","type":"url_verification"}`,
		"rate limited":     `{"token":"x","team_id":"T1","minute_rate_limited":1,"type":"app_rate_limited","api_app_id":"A1"}`,
		"keys other case":  `{"Team_ID":"T1","TYPE":"event_callback","Event_Id":"Ev1","EVENT":{"Type":"message","User":"U1","Text":"hi","Channel":"D1","Channel_Type":"im"}}`,
		"duplicate keys":   wrap(`{"type":"message","user":"U1","user":"U2","text":"a","text":"b","channel":"D1","channel_type":"im"}`),
		"not json":         `{"type":`,
	}
	kinds := map[string]int{}
	for name, raw := range payloads {
		old, got := oldDecision([]byte(raw)), newDecision([]byte(raw))
		if old != got {
			t.Errorf("%s: decoded once %+v, through slackevents %+v", name, got, old)
		}
		kinds[old.Kind]++
	}
	if kinds["message"] < 4 || kinds["home"] != 1 || kinds[""] < 10 {
		t.Fatalf("the corpus no longer covers every decision: %v", kinds)
	}
}

// TestDecodeEventMatchesUnmarshal: on payloads damaged a byte or two at a time (values of
// other types, keys in other cases, broken JSON), decodeEvent gives what json.Unmarshal into
// eventEnvelope gives: the same fields and the same error (events reads its field).
func TestDecodeEventMatchesUnmarshal(t *testing.T) {
	base := []string{
		`{"token":"x","team_id":"T1","enterprise_id":"E1","api_app_id":"A1","type":"event_callback","event_id":"Ev1","event_time":1,` +
			`"event":{"type":"message","user":"U1","text":"I'm \"locked\" out \u00e9","channel":"D1","channel_type":"im","ts":"1.2","edited":null,"message":{"edited":{"user":"U1","ts":"3"}}},` +
			`"authorizations":[{"team_id":"T1","user_id":"U0","is_bot":true}],"is_ext_shared_channel":false}`,
		`{"type":"event_callback","TEAM_ID":"T1","event":{"type":"app_home_opened","user":"U1","tab":"home","subtype":"s","bot_id":"B"},"Event":{"Channel":"D1"}}`,
		`{"token":"x","challenge":"abc","type":"url_verification"}`,
	}
	r := rand.New(rand.NewPCG(13, 14))
	const bytesToTry = `{}[]":,1n"tf xTEU\`
	var docs []string
	for _, b := range base {
		docs = append(docs, b)
		for range 3000 {
			docs = append(docs, jsonscantest.Damaged(r, b, bytesToTry))
		}
	}
	show := func(env *eventEnvelope, err error) string {
		s := fmt.Sprintf("%q %q %q %q %q", env.Type, env.Challenge, env.EventID, env.TeamID, env.EnterpriseID)
		if e := env.Event; e != nil {
			s += fmt.Sprintf(" event %q %q %q %q %q %q %q %q", e.Type, e.User, e.Channel, e.ChannelType, e.Text, e.SubType, e.BotID, e.Tab)
			if e.Edited != nil {
				s += fmt.Sprintf(" edited %+v", *e.Edited)
			}
			if e.Message != nil {
				s += " message"
				if e.Message.Edited != nil {
					s += fmt.Sprintf(" edited %+v", *e.Message.Edited)
				}
			}
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			s += " type error in " + te.Field
		} else if err != nil {
			s += " error"
		}
		return s
	}
	decoded := 0
	for _, d := range docs {
		want := &eventEnvelope{}
		werr := json.Unmarshal([]byte(d), want)
		env, err := decodeEvent([]byte(d))
		if got, want := show(env, err), show(want, werr); got != want {
			t.Fatalf("%s:\n decodeEvent    %s\n json.Unmarshal %s", d, got, want)
		}
		if err == nil {
			decoded++
		}
	}
	if decoded < 1000 {
		t.Fatalf("only %d payloads decoded", decoded)
	}
}
