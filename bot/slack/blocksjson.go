package slack

import (
	"bytes"
	"encoding/json"

	slackapi "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/internal/jsonscan"
)

// blocksJSON is json.Marshal(blocks) as a string, written directly for the blocks the adapter
// renders (sections and contexts of text objects, actions of buttons, and blocks passed through
// as JSON): json.Marshal walks slack-go's types by reflection, through three MarshalJSON methods
// whose output it scans again, at a few percent of the bot's CPU time. Any other block, or a
// field these blocks never carry, goes to json.Marshal (a test compares the two).
func blocksJSON(blocks []slackapi.Block) (string, error) {
	buf := bodies.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			bodies.Put(buf)
		}
	}()
	if blocks == nil {
		blocks = []slackapi.Block{}
	}
	if appendBlocks(buf, blocks) {
		return buf.String(), nil
	}
	b, err := json.Marshal(blocks)
	return string(b), err
}

// openElements writes an actions or context block's members up to its elements' value: type,
// block_id when set, then the elements' name.
func openElements(buf *bytes.Buffer, typ, blockID string) {
	buf.WriteString(`{"type":`)
	appendString(buf, typ)
	if blockID != "" {
		buf.WriteString(`,"block_id":`)
		appendString(buf, blockID)
	}
	buf.WriteString(`,"elements":`)
}

// appendBlocks writes blocks to buf as json.Marshal does; false (buf then holds anything) when
// a block is not one it writes.
func appendBlocks(buf *bytes.Buffer, blocks []slackapi.Block) bool {
	buf.WriteByte('[')
	for i, b := range blocks {
		if i > 0 {
			buf.WriteByte(',')
		}
		switch b := b.(type) {
		case *slackapi.SectionBlock:
			if b == nil || len(b.Fields) > 0 || b.Accessory != nil {
				return false
			}
			buf.WriteString(`{"type":`)
			appendString(buf, string(b.Type))
			if b.Text != nil {
				buf.WriteString(`,"text":`)
				appendText(buf, b.Text)
			}
			if b.BlockID != "" {
				buf.WriteString(`,"block_id":`)
				appendString(buf, b.BlockID)
			}
			if b.Expand {
				buf.WriteString(`,"expand":true`)
			}
			buf.WriteByte('}')
		case *slackapi.ActionBlock:
			if b == nil {
				return false
			}
			openElements(buf, string(b.Type), b.BlockID)
			switch {
			case b.Elements == nil || b.Elements.ElementSet == nil:
				buf.WriteString("null")
			default:
				buf.WriteByte('[')
				for j, e := range b.Elements.ElementSet {
					if j > 0 {
						buf.WriteByte(',')
					}
					btn, ok := e.(*slackapi.ButtonBlockElement)
					if !ok || !appendButton(buf, btn) {
						return false
					}
				}
				buf.WriteByte(']')
			}
			buf.WriteByte('}')
		case *slackapi.ContextBlock:
			if b == nil {
				return false
			}
			openElements(buf, string(b.Type), b.BlockID)
			if b.ContextElements.Elements == nil {
				buf.WriteString("null")
			} else {
				buf.WriteByte('[')
				for j, e := range b.ContextElements.Elements {
					if j > 0 {
						buf.WriteByte(',')
					}
					t, ok := e.(*slackapi.TextBlockObject)
					if !ok || t == nil {
						return false
					}
					appendText(buf, t)
				}
				buf.WriteByte(']')
			}
			buf.WriteByte('}')
		case rawBlock:
			// json.Marshal compacts a MarshalJSON's output and escapes <, > and & in it
			var c bytes.Buffer
			if json.Compact(&c, b.raw) != nil {
				return false
			}
			json.HTMLEscape(buf, c.Bytes())
		default:
			return false
		}
	}
	buf.WriteByte(']')
	return true
}

func appendText(buf *bytes.Buffer, t *slackapi.TextBlockObject) {
	buf.WriteString(`{"type":`)
	appendString(buf, t.Type)
	buf.WriteString(`,"text":`)
	appendString(buf, t.Text)
	if t.Emoji != nil {
		if *t.Emoji {
			buf.WriteString(`,"emoji":true`)
		} else {
			buf.WriteString(`,"emoji":false`)
		}
	}
	if t.Verbatim {
		buf.WriteString(`,"verbatim":true`)
	}
	buf.WriteByte('}')
}

func appendButton(buf *bytes.Buffer, b *slackapi.ButtonBlockElement) bool {
	if b == nil || b.Confirm != nil || len(b.VisibleToUserIDs) > 0 {
		return false
	}
	buf.WriteByte('{')
	if b.Type != "" {
		buf.WriteString(`"type":`)
		appendString(buf, string(b.Type))
		buf.WriteByte(',')
	}
	buf.WriteString(`"text":`)
	if b.Text == nil {
		buf.WriteString("null")
	} else {
		appendText(buf, b.Text)
	}
	for _, f := range [...]struct{ name, v string }{{"action_id", b.ActionID}, {"url", b.URL}, {"value", b.Value},
		{"style", string(b.Style)}, {"accessibility_label", b.AccessibilityLabel}, {"agent_prompt", b.AgentPrompt},
		{"agent_prompt_display", b.AgentPromptDisplay}} {
		if f.v != "" {
			buf.WriteString(`,"`)
			buf.WriteString(f.name)
			buf.WriteString(`":`)
			appendString(buf, f.v)
		}
	}
	buf.WriteByte('}')
	return true
}

// appendString writes s as a JSON string as json.Marshal does (jsonscan.AppendString).
func appendString(buf *bytes.Buffer, s string) {
	buf.Write(jsonscan.AppendString(buf.AvailableBuffer(), s))
}
