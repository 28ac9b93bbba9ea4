// Package voicecall is the office-phone method: a call that reads a code out twice.
package voicecall

import (
	"context"
	"strings"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/sentcode"
)

// New is the voice-call method.
func New(s flows.PhoneSender, mac flows.MACer, rand flows.Random) *sentcode.Method {
	return &sentcode.Method{Ch: Channel{Sender: s}, MAC: mac, Rand: rand}
}

// Channel calls and speaks codes.
type Channel struct {
	sentcode.Phone // numbers parsed and masked like the other phone method
	Sender         flows.PhoneSender
}

// Kind is flows.MethodVoice.
func (Channel) Kind() flows.MethodKind { return flows.MethodVoice }

// Sent is the chat message after the call is placed.
func (Channel) Sent() flows.MsgID { return flows.MsgCallPlaced }

// Speech is what the call says in the language: the digits one by one, twice.
func Speech(lang, code string) string {
	return flows.Text(lang, "voice.code", strings.Join(strings.Split(code, ""), ", "))
}

// Deliver places the call.
func (c Channel) Deliver(ctx context.Context, dest, code string, _ bool) error {
	return c.Sender.Call(ctx, dest, Speech(flows.LangFrom(ctx), code))
}
