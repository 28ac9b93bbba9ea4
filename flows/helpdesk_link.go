package flows

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// After a successful verification the agent may send the person a one-time reset link in
// their own chat (the reset page every self-service reset uses) instead of reading a temporary
// password over the phone. Only the codes read back count as proofs for it (the chat identity
// selects the account and is never a verification factor), as many as self-service needs; the
// person must be eligible for self-service; privileged users are never reset from this path.

// helpdeskLink sends the person of the agent's verified request a reset link in chat.
func (e *Engine) helpdeskLink(ctx context.Context, h *hd) ([]Reply, error) {
	pol, err := e.policy(ctx)
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: policy: %w", err)
	}
	if h.target.Privileged {
		e.hdAudit(ctx, h, "helpdesk_link", "refused", "privileged")
		return h.reply(MsgHelpdeskLinkPrivileged, h.target.DisplayName), nil
	}
	a, err := e.liveAsk(ctx, h)
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), err
	}
	var codes []MethodKind
	if a != nil && a.State == AskVerified {
		for _, p := range a.Proven {
			if p != proofNumber {
				codes = append(codes, MethodKind(p))
			}
		}
	}
	if len(codes) < pol.RequiredFor(h.target) {
		e.hdAudit(ctx, h, "helpdesk_link", "refused", "not enough codes read back")
		return h.reply(MsgHelpdeskLinkNeedsCodes, h.target.DisplayName, pol.RequiredFor(h.target), strings.ToLower(h.target.UPN)), nil
	}
	if a.LinkSent {
		return h.reply(MsgHelpdeskLinkSent, h.target.DisplayName), nil
	}
	en, err := e.d.Enrollments.Get(ctx, h.target.ID)
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: helpdesk enrollment: %w", err)
	}
	if reason := e.ineligible(h.target, nil, pol, en, h.now); reason != "" || !pol.AllowReset {
		if reason == "" {
			reason = "reset not allowed"
		}
		e.hdAudit(ctx, h, "helpdesk_link", "refused", reason)
		return h.reply(MsgHelpdeskLinkRefused, h.target.DisplayName), nil
	}
	chats, err := e.d.Helpdesk.ChatsOf(ctx, h.target.ID)
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: helpdesk chats: %w", err)
	}
	refs := e.chatRefs(chats)
	if len(refs) == 0 || e.d.Notifier == nil {
		return h.reply(MsgHelpdeskLinkRefused, h.target.DisplayName), nil
	}
	// one link per request, claimed before it is made
	a.LinkSent = true
	if err := e.d.Helpdesk.UpdateAsk(ctx, *a); err != nil {
		if errors.Is(err, ErrStale) {
			return h.reply(MsgBusy), nil
		}
		return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: helpdesk save: %w", err)
	}
	chat := refs[0]
	link, err := e.grantHelpdeskLink(ctx, h, chat, codes)
	if err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), err
	}
	r := Reply{MsgID: MsgHelpdeskResetLink, Text: Text(chat.Locale, MsgHelpdeskResetLink, h.agent.DisplayName), Link: link, Private: true}
	if err := e.notify(ctx, h.target.ID, chat, []Reply{r}); err != nil {
		return h.reply(MsgTrouble, pol.HelpdeskURL), fmt.Errorf("flows: helpdesk link not delivered: %w", err)
	}
	e.hdAudit(ctx, h, "helpdesk_link", "ok", "reset link sent in chat")
	return h.reply(MsgHelpdeskLinkSent, h.target.DisplayName), nil
}

// grantHelpdeskLink saves a reset session for the person's chat, with the codes read back as
// its proofs, and its one-time link, in one atomic commit.
func (e *Engine) grantHelpdeskLink(ctx context.Context, h *hd, chat ChatRef, proven []MethodKind) (string, error) {
	snap, err := e.d.Sessions.Load(ctx, h.target.ID, chat.Key())
	if err != nil {
		return "", fmt.Errorf("flows: helpdesk load: %w", err)
	}
	var expect int64
	if snap.Session != nil {
		expect = snap.Session.Version
	}
	var b [16]byte
	if _, err := e.d.Rand.Read(b[:]); err != nil {
		return "", err
	}
	sess := &Session{ID: base64.RawURLEncoding.EncodeToString(b[:]), Version: expect + 1, State: StateResetLink, Flow: FlowReset,
		UserID: h.target.ID, Chat: chat, Proven: slices.Clone(proven), CreatedAt: h.now, ExpiresAt: h.now.Add(SessionLifetime)}
	tok, err := newToken(e.d.Rand, PurposeReset, h.target.ID)
	if err != nil {
		return "", err
	}
	out, err := e.d.Sessions.Commit(ctx, Commit{Subject: h.target.ID, ChatKey: chat.Key(), ExpectVersion: expect, Now: h.now, Session: sess,
		Link: &LinkGrant{Purpose: PurposeReset, MAC: linkMAC(e.d.MAC, tok), ExpiresAt: h.now.Add(LinkTTL)}})
	if err != nil {
		return "", fmt.Errorf("flows: helpdesk link: %w", err)
	}
	if out.Status != Committed {
		return "", fmt.Errorf("flows: helpdesk link: the person's session changed (status %d)", out.Status)
	}
	return e.o.BaseURL + "/l/" + tok, nil
}
