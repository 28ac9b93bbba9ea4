package flows

import (
	"context"
	"slices"
	"strings"
)

// adminCommand is one bot-admin command ("policy set", "unblock", …): the words that name it,
// the catalog lines that describe it in the help, and what runs it. adminCommands is the one
// list: Engine.Admin dispatches through it, the help is made from it, and the chat adapters
// route the messages that start with its first words (AdminWords) to Engine.Admin.
type adminCommand struct {
	words string  // lowercase, space-separated: "policy set"
	help  []MsgID // its lines in the help, in order
	// bare: the command also answers its first word alone ("policy" is "policy show")
	bare bool
	// run answers a bot admin: the reply, an attachment, and the audit outcome and reason
	run func(e *Engine, ctx context.Context, in Inbound, admin Account, args []string) (string, *Attachment, string, string)
	// open answers anyone who may use it (helpdesk agents need not be bot admins); it checks
	// who they are and audits itself
	open func(e *Engine, ctx context.Context, in Inbound, args []string) ([]Reply, error)
}

// adminCommands are every bot-admin command, in the order of the help.
var adminCommands = []adminCommand{
	{words: "policy show", help: []MsgID{"admin.help.policy_show"}, bare: true, run: withPolicy(func(e *Engine, ctx context.Context, _ Inbound, _ Account, p Policy, v int64, _ []string) (string, string, string) {
		return ShowPolicy(LangFrom(ctx), p, v), "ok", ""
	})},
	{words: "policy set", help: []MsgID{"admin.help.policy_set"}, run: withPolicy(func(e *Engine, ctx context.Context, in Inbound, admin Account, p Policy, v int64, args []string) (string, string, string) {
		if len(args) < 2 {
			return tr(ctx, "admin.set_usage"), "refused", "usage"
		}
		return e.policySet(ctx, in, admin, p, v, args[0], strings.Join(args[1:], " "))
	})},
	{words: "policy approve", help: []MsgID{"admin.help.policy_approve"}, run: withPolicy(func(e *Engine, ctx context.Context, in Inbound, admin Account, _ Policy, _ int64, args []string) (string, string, string) {
		if len(args) != 1 {
			return tr(ctx, "admin.approve_usage"), "refused", "usage"
		}
		return e.policyApprove(ctx, in, admin, args[0])
	})},
	{words: "policy banned", help: []MsgID{"admin.help.policy_banned"}, run: withPolicy((*Engine).bannedCommand)},
	{words: "unblock", help: []MsgID{"admin.help.unblock"}, run: plain((*Engine).unblockCommand)},
	{words: "audit", help: []MsgID{"admin.help.audit"}, run: plain(func(e *Engine, ctx context.Context, _ Inbound, _ Account, args []string) (string, string, string) {
		return e.auditCommand(ctx, args)
	})},
	{words: "remind", help: []MsgID{"admin.help.remind"}, run: plain(func(e *Engine, ctx context.Context, _ Inbound, _ Account, args []string) (string, string, string) {
		return e.remindCommand(ctx, args)
	})},
	{words: "report", help: []MsgID{"admin.help.report"}, run: func(e *Engine, ctx context.Context, _ Inbound, _ Account, args []string) (string, *Attachment, string, string) {
		return e.reportCommand(ctx, args)
	}},
	{words: "verify", help: []MsgID{"admin.help.verify"}, open: func(e *Engine, ctx context.Context, in Inbound, args []string) ([]Reply, error) {
		return e.Verify(ctx, in, args)
	}},
}

// withPolicy reads the stored policy for a "policy …" command first.
func withPolicy(f func(e *Engine, ctx context.Context, in Inbound, admin Account, p Policy, v int64, args []string) (string, string, string)) func(*Engine, context.Context, Inbound, Account, []string) (string, *Attachment, string, string) {
	return func(e *Engine, ctx context.Context, in Inbound, admin Account, args []string) (string, *Attachment, string, string) {
		p, v, err := e.d.Policies.GetPolicy(ctx)
		if err != nil {
			return tr(ctx, "admin.policy_unreadable"), nil, "failed", "store"
		}
		out, outcome, reason := f(e, ctx, in, admin, p, v, args)
		return out, nil, outcome, reason
	}
}

// plain is a command without an attachment.
func plain(f func(e *Engine, ctx context.Context, in Inbound, admin Account, args []string) (string, string, string)) func(*Engine, context.Context, Inbound, Account, []string) (string, *Attachment, string, string) {
	return func(e *Engine, ctx context.Context, in Inbound, admin Account, args []string) (string, *Attachment, string, string) {
		out, outcome, reason := f(e, ctx, in, admin, args)
		return out, nil, outcome, reason
	}
}

// findAdminCommand finds the command words (lowercased) name, and how many of the words name
// it (the rest are its arguments). known says whether words[0] starts any command at all.
func findAdminCommand(words []string) (c *adminCommand, n int, known bool) {
	for i := range adminCommands {
		c := &adminCommands[i]
		cw := strings.Fields(c.words)
		if words[0] != cw[0] {
			continue
		}
		known = true
		if len(words) >= len(cw) && slices.Equal(words[:len(cw)], cw) {
			return c, len(cw), true
		}
		if c.bare && len(words) == 1 {
			return c, 1, true
		}
	}
	return nil, 0, known
}

// AdminWords are the first words of the bot-admin commands ("policy", "unblock", …): a chat
// adapter hands a message that starts with one of them to Engine.Admin.
func AdminWords() []string {
	var out []string
	for _, c := range adminCommands {
		w, _, _ := strings.Cut(c.words, " ")
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// IsAdminWord reports whether w (in any case) starts a bot-admin command.
func IsAdminWord(w string) bool {
	return slices.Contains(AdminWords(), strings.ToLower(w))
}

// adminHelp lists every command, made from adminCommands.
func adminHelp(ctx context.Context) string {
	var b strings.Builder
	b.WriteString(tr(ctx, "admin.help"))
	for _, c := range adminCommands {
		for _, id := range c.help {
			b.WriteString("\n• " + tr(ctx, id))
		}
	}
	return b.String()
}
