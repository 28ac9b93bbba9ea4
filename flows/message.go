package flows

import (
	"strings"
	"unicode/utf8"
)

// Inbound is one user action, translated by an adapter from a verified platform request.
type Inbound struct {
	Chat    ChatRef
	Claim   Claim  // verified identity claim (never a verification factor)
	Text    string // free text, when typed
	Choice  string // a button or choice id, when clicked
	IdemKey string // platform delivery id: Slack event_id, Teams activity id, console counter
	// Delivery, when set, names this delivery of the platform's request ("slack:evt:<event_id>"):
	// a repeated delivery (a platform's retry, reaching any replica) is dropped unanswered.
	// The step claims it in its first read, so the dedupe costs no round trip of its own.
	Delivery string
}

// Choice is a button: Label is shown, ID comes back in Inbound.Choice.
type Choice struct {
	ID    string
	Label string
	Key   string // what a person may type to pick it ("2"); a method keeps its key all conversation
}

// Title is the label with its key in front when it has one: "2. Email code".
func (c Choice) Title() string {
	if c.Key == "" {
		return c.Label
	}
	return c.Key + ". " + c.Label
}

// Reply is one message from the bot, rendered by each adapter its own way.
type Reply struct {
	MsgID   MsgID
	Text    string
	Choices []Choice
	Link    string // a one-time link to the bot's pages
	Private bool
	File    *Attachment // a file to attach (the CSV report)
}

// Intent is what a free-text message asks for.
type Intent int

// The intents the bot understands.
const (
	IntentUnknown Intent = iota
	IntentReset
	IntentUnlock
	IntentRegister
	IntentHelp
	IntentCancel
	IntentStatus
	IntentCode     // a string of digits
	IntentGreeting // hi, hello
	IntentThanks   // thanks, cheers
	IntentResend   // send the code again
)

// MaxTextLen bounds what the bot reads of one message.
const MaxTextLen = 4000

func isCode(s string) bool {
	if len(s) < 6 || len(s) > 10 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// CodeDigits returns the digits of a typed code ("123 456" → "123456").
func CodeDigits(text string) string {
	var b strings.Builder
	for _, r := range text {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MaskEmail shows the first letter of the local part and of the domain: j***@c****.com.
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 1 {
		return "***"
	}
	local, domain := addr[:at], addr[at+1:]
	dot := strings.LastIndexByte(domain, '.')
	if dot < 1 {
		return firstRune(local) + "***@***"
	}
	host, tld := domain[:dot], domain[dot:]
	return firstRune(local) + "***@" + firstRune(host) + "****" + tld
}

// MaskPhone keeps the country code and last two digits: +1 *** *** **42.
func MaskPhone(e164 string) string {
	d := CodeDigits(e164)
	if len(d) < 4 {
		return "***"
	}
	cc := d[:1]
	if strings.HasPrefix(d, "1") {
		cc = "1"
	} else {
		cc = d[:2]
	}
	return "+" + cc + " *** *** **" + d[len(d)-2:]
}

// firstRune is s's first character (a slice of s, not a new string), "" when s does not start
// with a valid one.
func firstRune(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return ""
	}
	return s[:n]
}
