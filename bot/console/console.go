package console

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/flows"
)

// Handler is what the console drives: the flows engine.
type Handler interface {
	Handle(ctx context.Context, in flows.Inbound) ([]flows.Reply, error)
}

// AdminHandler is the bot-admin command interpreter (the flows engine's Admin), which the demo's
// console offers as "/sspr ...", like the Slack and Teams commands.
type AdminHandler interface {
	Admin(ctx context.Context, in flows.Inbound, text string) ([]flows.Reply, error)
}

// Person is a chat user one can act as in the console.
type Person struct {
	UPN  string
	Note string
}

// Platform is the console's platform name in chat keys.
const Platform = "console"

// Console reads one message per line and prints the bot's replies.
type Console struct {
	h      Handler
	people []Person
	out    io.Writer

	mu      sync.Mutex
	current string // UPN acted as
	seq     int
	prefix  string
	admin   AdminHandler // nil: "/sspr" is an ordinary message
	lang    string       // the chat language everyone typing here has ("/lang de"); "" is English
}

// SetLang makes the console's people speak lang (a catalog language, or a locale matched to one),
// as a Slack or Teams locale would; the demo's --lang and "/lang de" set it.
func (c *Console) SetLang(lang string) {
	c.mu.Lock()
	c.lang = flows.Lang(lang)
	c.mu.Unlock()
}

// t renders a catalog message in the console's language.
func (c *Console) t(id flows.MsgID, args ...any) string {
	c.mu.Lock()
	lang := c.lang
	c.mu.Unlock()
	return flows.Text(lang, id, args...)
}

// OfferAdmin routes lines starting with "/sspr" to h as bot-admin commands of the person acted
// as (the demo only: the engine still checks that the person is a bot admin, and every
// weakening or unblocking action still needs that admin's multi-factor sign-in).
func (c *Console) OfferAdmin(h AdminHandler) {
	c.mu.Lock()
	c.admin = h
	c.mu.Unlock()
}

// New builds a console over h, offering people to act as, printing to out.
func New(h Handler, people []Person, out io.Writer) *Console {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &Console{h: h, people: people, out: out, prefix: hex.EncodeToString(b)}
}

// Chat is the chat reference of a console person.
func Chat(upn string) flows.ChatRef {
	return flows.ChatRef{Platform: Platform, Tenant: "local", UserID: strings.ToLower(upn), Locale: "en"}
}

// As switches who is typing.
func (c *Console) As(upn string) {
	c.mu.Lock()
	c.current = upn
	c.mu.Unlock()
}

// Say sends one line as the current person and returns the replies and their rendering. A
// bare number is typed like any text: the engine picks it from the person's latest menu, kept
// with their conversation, as it does for Slack and Teams.
func (c *Console) Say(ctx context.Context, line string) ([]flows.Reply, string, error) {
	c.mu.Lock()
	upn := c.current
	c.mu.Unlock()
	if upn == "" {
		return nil, c.t("console.pick_first") + "\n", nil
	}
	in := c.inbound(upn)
	in.Text = line
	replies, err := c.h.Handle(ctx, in)
	return replies, Render(replies), err
}

// inbound is a message from upn with the next idempotency key.
func (c *Console) inbound(upn string) flows.Inbound {
	c.mu.Lock()
	c.seq++
	idem := fmt.Sprintf("%s-%d", c.prefix, c.seq)
	c.mu.Unlock()
	chat := Chat(upn)
	c.mu.Lock()
	if c.lang != "" {
		chat.Locale = c.lang
	}
	c.mu.Unlock()
	return flows.Inbound{Chat: chat, Claim: flows.Claim{Kind: flows.ClaimUPN, Value: upn}, IdemKey: idem}
}

// Targets implements flows.ChatRoster: the people one can act as are reachable in the console
// (the demo's reminder campaign reminds them here).
func (c *Console) Targets(context.Context) (map[string]flows.ChatTarget, error) {
	out := make(map[string]flows.ChatTarget, len(c.people))
	for _, p := range c.people {
		out[strings.ToLower(p.UPN)] = flows.ChatTarget{Chat: Chat(p.UPN), TZ: time.UTC}
	}
	return out, nil
}

// Notify implements flows.Notifier: it prints a message that arrives outside a request (the
// engine keeps its menu for typed numbers).
func (c *Console) Notify(_ context.Context, chat flows.ChatRef, replies []flows.Reply) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := fmt.Fprintf(c.out, "\n[resetbot → %s] %s", chat.UserID, Render(replies))
	return err
}

// Render prints replies as numbered lines.
func Render(replies []flows.Reply) string {
	var b strings.Builder
	for _, r := range replies {
		b.WriteString(r.Text)
		b.WriteString("\n")
		if r.Link != "" {
			b.WriteString("  🔗 " + r.Link + "\n")
		}
		if f := r.File; f != nil {
			// a terminal has no file upload: the file (the CSV report) is printed
			fmt.Fprintf(&b, "  📎 %s\n%s\n", f.Name, strings.TrimRight(string(f.Data), "\n"))
		}
		for i, ch := range r.Choices {
			key := ch.Key
			if key == "" {
				key = strconv.Itoa(i + 1)
			}
			fmt.Fprintf(&b, "  %s) %s\n", key, ch.Label)
		}
	}
	return b.String()
}

// MaxLine is the longest line the console reads, in bytes; a longer one is refused politely
// and skipped, and the console goes on.
const MaxLine = 4096

// inputLine is one line read, or the note that a line was too long.
type inputLine struct {
	text    string
	tooLong bool
}

// Run reads lines from in until it ends or ctx is done. The end of the input ends the console
// and nothing else; a line longer than MaxLine is refused politely.
func (c *Console) Run(ctx context.Context, in io.Reader) error {
	c.printPeople()
	lines := make(chan inputLine)
	errc := make(chan error, 1)
	go func() {
		err := readLines(bufio.NewReaderSize(in, MaxLine), func(l inputLine) bool {
			select {
			case lines <- l:
				return true
			case <-ctx.Done():
				return false
			}
		})
		errc <- err
		close(lines)
	}()
	c.prompt()
	for {
		select {
		case <-ctx.Done():
			return nil
		case l, ok := <-lines:
			if !ok {
				return <-errc
			}
			if l.tooLong {
				c.printf("%s\n", c.t("console.too_long", MaxLine))
			} else if quit := c.line(ctx, l.text); quit {
				return nil
			}
			c.prompt()
		}
	}
}

// readLines hands each line of r to emit until r ends (nil) or fails; a line that does not fit
// r's buffer is read to its end and handed on as too long. emit returns false to stop.
func readLines(r *bufio.Reader, emit func(inputLine) bool) error {
	for {
		b, err := r.ReadSlice('\n')
		l := inputLine{text: strings.TrimRight(string(b), "\r\n")}
		for errors.Is(err, bufio.ErrBufferFull) {
			l = inputLine{tooLong: true}
			_, err = r.ReadSlice('\n')
		}
		if (len(b) > 0 || l.tooLong) && !emit(l) {
			return nil
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (c *Console) line(ctx context.Context, line string) (quit bool) {
	t := strings.TrimSpace(line)
	switch {
	case t == "/quit" || t == "/exit":
		return true
	case t == "/who" || t == "/users":
		c.printPeople()
		return false
	case strings.HasPrefix(t, "/as"):
		arg := strings.TrimSpace(strings.TrimPrefix(t, "/as"))
		if n, err := strconv.Atoi(arg); err == nil && n >= 1 && n <= len(c.people) {
			arg = c.people[n-1].UPN
		}
		if arg == "" || strings.ContainsAny(arg, " \t") {
			c.printf("%s\n", c.t("console.as_usage"))
			return false
		}
		c.As(arg)
		c.printf("%s\n", c.t("console.now", arg))
		return false
	case t == "/lang" || strings.HasPrefix(t, "/lang "):
		arg := strings.TrimSpace(strings.TrimPrefix(t, "/lang"))
		if arg == "" || !slices.ContainsFunc(flows.Languages(), func(l string) bool { return strings.EqualFold(l, flows.Lang(arg)) }) ||
			flows.Lang(arg) == "en" && !strings.HasPrefix(strings.ToLower(arg), "en") {
			c.printf("%s\n", c.t("console.lang_usage", strings.Join(flows.Languages(), ", ")))
			return false
		}
		c.SetLang(arg)
		c.printf("%s\n", c.t("console.lang_set", flows.LanguageName(flows.Lang(arg))))
		return false
	}
	c.mu.Lock()
	cur, admin := c.current, c.admin
	c.mu.Unlock()
	if admin != nil && cur != "" && (t == "/sspr" || strings.HasPrefix(t, "/sspr ")) {
		replies, err := admin.Admin(ctx, c.inbound(cur), strings.TrimSpace(strings.TrimPrefix(t, "/sspr")))
		out := Render(replies)
		if err != nil {
			out += c.t("console.error") + "\n"
		}
		c.printf("%s", out)
		return false
	}
	if cur == "" {
		if n, err := strconv.Atoi(t); err == nil && n >= 1 && n <= len(c.people) {
			c.As(c.people[n-1].UPN)
			c.printf("%s\n", c.t("console.now", c.people[n-1].UPN))
			return false
		}
	}
	_, out, err := c.Say(ctx, line)
	if err != nil {
		out += c.t("console.error") + "\n"
	}
	c.printf("%s", out)
	return false
}

func (c *Console) printPeople() {
	var b strings.Builder
	b.WriteString(c.t("console.who") + "\n")
	for i, p := range c.people {
		fmt.Fprintf(&b, "  %d) %-22s %s\n", i+1, p.UPN, p.Note)
	}
	c.printf("%s", b.String())
}

func (c *Console) prompt() {
	c.mu.Lock()
	cur := c.current
	c.mu.Unlock()
	if cur == "" {
		cur = "?"
	}
	c.printf("%s> ", cur)
}

func (c *Console) printf(format string, a ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, format, a...)
}
