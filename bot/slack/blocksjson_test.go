package slack

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	slackapi "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/jsonscan"
)

// blocksJSON writes what json.Marshal writes, byte for byte: for rendered replies with every
// kind of character (HTML, controls, invalid UTF-8, U+2028), links and choices, for blocks kept
// from a clicked message (with spaces and escapes in their JSON), for the context block
// closeButtons adds, and for blocks it leaves to json.Marshal.
func TestBlocksJSONMatchesMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	pieces := []string{"a", "Z", " ", "<", ">", "&", `"`, `\`, "\n", "\t", "\r", "\b", "\f", "\x00", "\x1f", "\x7f", "é", "日本", "😀",
		"\u2028", "\u2029", "\xff", "\xe2\x80", "*bold*", "https://x.example/l?a=1&b=2"}
	text := func() string {
		s := ""
		for range r.IntN(12) {
			s += pieces[r.IntN(len(pieces))]
		}
		return s
	}
	var msg []jsonscan.Value
	if err := jsonscan.Array([]byte(`[{ "type" : "section", "text":{"type":"mrkdwn","text":"a <b> & \u003c \"q\" \u2028 é"} },`+
		`{"type":"header","text":{"type":"plain_text","text":"x\ny","emoji":true}},`+
		`{"type":"divider"}]`), func(b jsonscan.Value) error { msg = append(msg, b); return nil }); err != nil {
		t.Fatal(err)
	}
	kept := keptBlocks(msg)
	if len(kept) != 3 {
		t.Fatalf("kept %d blocks", len(kept))
	}
	emoji := false
	unusual := []slackapi.Block{
		slackapi.NewSectionBlock(nil, []*slackapi.TextBlockObject{slackapi.NewTextBlockObject("mrkdwn", "f", false, false)}, nil),
		slackapi.NewHeaderBlock(slackapi.NewTextBlockObject("plain_text", "h", true, false)),
		slackapi.NewDividerBlock(),
		slackapi.NewActionBlock("a"),
		&slackapi.SectionBlock{Type: slackapi.MBTSection, Text: &slackapi.TextBlockObject{Type: "mrkdwn", Text: "v", Verbatim: true, Emoji: &emoji}, Expand: true},
		slackapi.NewContextBlock("c", slackapi.NewImageBlockElement("https://x.example/i.png", "alt")),
	}
	compared := 0
	for n := range 400 {
		var replies []flows.Reply
		for range 1 + r.IntN(3) {
			rep := flows.Reply{Text: text()}
			if r.IntN(3) == 0 {
				rep.Link = "https://bot.example/l/" + text()
			}
			for i := range r.IntN(4) {
				rep.Choices = append(rep.Choices, flows.Choice{ID: "s1:3:" + text(), Label: text(), Key: string(rune('1' + i))})
			}
			replies = append(replies, rep)
		}
		for _, m := range Messages("en", replies) {
			blocks := m.Blocks
			switch n % 4 {
			case 1:
				blocks = append(append([]slackapi.Block{}, kept...), slackapi.NewContextBlock("chosen",
					slackapi.NewTextBlockObject(slackapi.PlainTextType, text(), false, false)))
			case 2:
				blocks = append(append([]slackapi.Block{}, blocks...), unusual[r.IntN(len(unusual))])
			case 3:
				if r.IntN(4) == 0 {
					blocks = nil
				}
			}
			got, err := blocksJSON(blocks)
			if err != nil {
				t.Fatal(err)
			}
			if blocks == nil {
				blocks = []slackapi.Block{}
			}
			want, err := json.Marshal(blocks)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Fatalf("blocksJSON:\n %s\njson.Marshal:\n %s", got, want)
			}
			compared++
		}
	}
	if compared < 400 {
		t.Fatalf("only %d messages compared", compared)
	}
}

func BenchmarkBlocksJSON(b *testing.B) {
	m := Messages("en", []flows.Reply{{Text: "How would you like to prove it's you?", Choices: []flows.Choice{{ID: "s1:3:totp", Label: "Authenticator app", Key: "1"},
		{ID: "s1:3:email", Label: "Email code", Key: "2"}, {ID: "s1:3:sms", Label: "Text message", Key: "3"}}}})[0]
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			_, _ = blocksJSON(m.Blocks)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			v, _ := json.Marshal(m.Blocks)
			_ = string(v)
		}
	})
}
