package flows_test

import (
	"context"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

func withMode(t *testing.T, h *storetest.Harness, m flows.ResetMode) {
	t.Helper()
	ctx := context.Background()
	p, v, _ := h.Store.GetPolicy(ctx)
	p.ResetMode = m
	if _, err := h.Store.PutPolicy(ctx, p, v); err != nil {
		t.Fatal(err)
	}
	h.Rebuild()
}

func TestTemporaryPasswordAndTAPModes(t *testing.T) {
	for _, mode := range []flows.ResetMode{flows.ResetTemporary, flows.ResetTAP} {
		t.Run(string(mode), func(t *testing.T) {
			h, secret := newAlice(t)
			withMode(t, h, mode)
			link := token(proveBoth(t, h, "U1", secret))
			ctx := context.Background()
			if v, err := h.Engine.OpenReset(ctx, link); err != nil || v.Mode != mode {
				t.Fatalf("%+v %v", v, err)
			}
			if err := h.Engine.ResetPassword(ctx, link, "Granite-Orchid-Lantern-8", "Granite-Orchid-Lantern-8"); err == nil {
				t.Fatal("a typed password was accepted in an issuing mode")
			}
			got, m, err := h.Engine.IssueTemporary(ctx, link)
			if err != nil || m != mode {
				t.Fatal(err)
			}
			h.Engine.Drain() // revocation and notices run after the answer
			switch mode {
			case flows.ResetTemporary:
				if h.Dir.Passwords[storetest.Alice.ID] != got || !h.Dir.Forced[storetest.Alice.ID] || flows.CheckPassword(got, got) != nil {
					t.Fatalf("temporary %q forced=%v", got, h.Dir.Forced[storetest.Alice.ID])
				}
			case flows.ResetTAP:
				if !strings.HasPrefix(got, "TAP-") || h.Dir.TAPs[storetest.Alice.ID] != 1 || h.Dir.Passwords[storetest.Alice.ID] != "" {
					t.Fatalf("tap %q %v", got, h.Dir.TAPs)
				}
			}
			if _, _, err := h.Engine.IssueTemporary(ctx, link); err != flows.ErrLinkGone {
				t.Fatalf("second POST: %v", err)
			}
			for _, r := range h.Notes.Replies {
				if strings.Contains(r.Text, got) {
					t.Fatal("the secret went to chat")
				}
			}
			if strings.Contains(h.LogText(), got) {
				t.Fatal("the secret was logged")
			}
		})
	}
}

func TestThisWasntMe(t *testing.T) {
	h, secret := newAlice(t)
	h.Dir.Add(flows.Account{ID: "adm", Mail: "adm@contoso.test", Enabled: true, Groups: []string{"admins"}})
	h.Opts.AdminGroups = []string{"admins"}
	h.Rebuild()
	link := token(proveBoth(t, h, "U1", secret))
	ctx := context.Background()
	if err := h.Engine.ResetPassword(ctx, link, "Granite-Orchid-Lantern-8", "Granite-Orchid-Lantern-8"); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain() // revocation and notices run after the answer
	notice := h.Notes.Replies[len(h.Notes.Replies)-1]
	if notice.MsgID != flows.MsgPasswordChanged || len(notice.Choices) != 1 || notice.Choices[0].Label != "This wasn't me" {
		t.Fatalf("notice %+v", notice)
	}
	revoked := len(h.Dir.Revoked)
	rs := h.Click("U1", aliceMail, notice.Choices[0].ID)
	if !hasMsg(rs, flows.MsgNotMe) {
		t.Fatalf("not me: %v", storetest.IDs(rs))
	}
	if len(h.Dir.Revoked) != revoked+1 {
		t.Fatal("sessions not revoked again")
	}
	if bs, _ := h.Engine.Blocks(ctx); len(bs) != 1 {
		t.Fatal("self-service not blocked")
	}
	last := h.Mail.Last()
	if !strings.Contains(last.Subject, "wasn't them") || last.To[0] != "adm@contoso.test" {
		t.Fatalf("admins not alerted: %+v", last)
	}
}

func TestPrivilegedResetIsAnnouncedToBotAdmins(t *testing.T) {
	h := storetest.New(t)
	boss := storetest.Alice
	boss.Privileged = true
	h.Dir.Add(boss)
	h.Dir.Add(flows.Account{ID: "adm", Mail: "adm@contoso.test", Enabled: true, Groups: []string{"admins"}})
	secret := h.Enrol(boss.ID)
	h.Opts.AllowPrivileged, h.Opts.AdminGroups = true, []string{"admins"}
	h.Rebuild()
	link := token(proveBoth(t, h, "U1", secret))
	if err := h.Engine.ResetPassword(context.Background(), link, "Granite-Orchid-Lantern-8", "Granite-Orchid-Lantern-8"); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain() // revocation and notices run after the answer
	found := false
	for _, m := range h.Mail.All() {
		found = found || (strings.Contains(m.Subject, "privileged user reset") && m.To[0] == "adm@contoso.test")
	}
	if !found {
		t.Fatal("bot admins not told of a privileged reset")
	}
}
