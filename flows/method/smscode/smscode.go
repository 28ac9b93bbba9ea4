// Package smscode is the mobile-phone method: a code by text message to a registered number
// that was itself confirmed with a code first.
package smscode

import (
	"context"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/sentcode"
)

// New is the SMS method.
func New(s flows.PhoneSender, mac flows.MACer, rand flows.Random) *sentcode.Method {
	return &sentcode.Method{Ch: Channel{Sender: s}, MAC: mac, Rand: rand}
}

// Channel texts codes.
type Channel struct {
	sentcode.Phone // numbers parsed and masked like the other phone method
	Sender         flows.PhoneSender
}

// Kind is flows.MethodSMS.
func (Channel) Kind() flows.MethodKind { return flows.MethodSMS }

// Sent is the chat message after sending.
func (Channel) Sent() flows.MsgID { return flows.MsgSMSSent }

// Deliver texts the code.
func (c Channel) Deliver(ctx context.Context, dest, code string, _ bool) error {
	return c.Sender.SendSMS(ctx, dest, flows.Text(flows.LangFrom(ctx), "sms.code", code))
}
