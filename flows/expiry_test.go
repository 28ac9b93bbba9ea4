package flows_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// expiries is a fixed list of password expiries (the directories' own are tested against Samba
// and graphtest).
type expiries []flows.PasswordExpiry

func (x expiries) PasswordExpiries(_ context.Context, _ []string, fn func(flows.PasswordExpiry) error) error {
	for _, p := range x {
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// Three replicas share the schedule: each person gets each stage's reminder exactly once, at
// the stage's day, outside quiet hours; a never-expiring password gets none.
func TestExpiryRemindersOnceAcrossThreeReplicas(t *testing.T) {
	h := storetest.New(t)
	now := h.Clock.Now() // 09:00 UTC
	var list expiries
	roster := storetest.ChatRoster{}
	add := func(id string, exp time.Time, tz *time.Location) {
		a := flows.Account{ID: id, UPN: id + "@contoso.test", Mail: id + "@contoso.test", DisplayName: id, Enabled: true, Groups: []string{storetest.Group}}
		list = append(list, flows.PasswordExpiry{Account: a, ExpiresAt: exp})
		roster[a.Mail] = flows.ChatTarget{Chat: storetest.Chat(id), TZ: tz}
	}
	for i := 0; i < 20; i++ {
		add(fmt.Sprintf("soon%02d", i), now.Add(6*24*time.Hour), time.UTC) // the 7-day stage is due
		add(fmt.Sprintf("late%02d", i), now.Add(14*24*time.Hour+time.Hour), time.UTC)
	}
	add("never", time.Time{}, time.UTC)
	list[len(list)-1].Account.Privileged = true // never expires: no reminder, privileged or not
	add("admin", now.Add(5*24*time.Hour), time.UTC)
	list[len(list)-1].Account.Privileged = true // privileged users may not self-serve here
	add("expired", now.Add(-time.Hour), time.UTC)
	tokyo, _ := time.LoadLocation("Asia/Tokyo") // 18:00 there: not quiet; 21:00 after three hours
	add("tokyo", now.Add(6*24*time.Hour), tokyo)

	replicas := make([]*flows.ExpiryReminders, 3)
	for i := range replicas {
		replicas[i] = flows.NewExpiryReminders(flows.New(h.Deps, h.Opts), h.Store, h.Store, list, roster)
	}
	round := func() {
		var wg sync.WaitGroup
		for _, r := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := r.Plan(context.Background()); err != nil {
					t.Error(err)
				}
				for {
					n, err := r.Step(context.Background())
					if err != nil {
						t.Error(err)
					}
					if err != nil || n == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	count := func() map[string]int {
		got := map[string]int{}
		for i, r := range h.Notes.Replies {
			if r.MsgID == flows.MsgExpiryReminder {
				got[h.Notes.To[i].UserID]++
			}
		}
		return got
	}
	round()
	got := count()
	for i := 0; i < 20; i++ {
		if n := got[fmt.Sprintf("soon%02d", i)]; n != 1 {
			t.Errorf("soon%02d got %d reminders, want 1", i, n)
		}
		if n := got[fmt.Sprintf("late%02d", i)]; n != 0 {
			t.Errorf("late%02d reminded %d times before its day", i, n)
		}
	}
	if got["never"] != 0 || got["expired"] != 0 || got["tokyo"] != 1 {
		t.Fatalf("never %d, expired %d, tokyo %d", got["never"], got["expired"], got["tokyo"])
	}
	for i, r := range h.Notes.Replies {
		if h.Notes.To[i].UserID == "admin" && (len(r.Choices) != 0 || r.MsgID != flows.MsgExpiryReminder) {
			t.Fatalf("a privileged user was offered the change page: %+v", r)
		}
	}
	if got["admin"] != 1 {
		t.Fatalf("privileged reminders: %d", got["admin"])
	}
	r := h.Notes.Replies[0]
	if h.Notes.To[0].UserID == "admin" {
		r = h.Notes.Replies[1]
	}
	if len(r.Choices) != 1 || r.Choices[0].ID != flows.ExpiryChoice || r.Text[:30] != "Your password expires in 6 day" {
		t.Fatalf("reminder: %+v", r)
	}
	// two hours later the 14-day stage of the others has come; nobody gets a second 7-day one
	h.Clock.Advance(2 * time.Hour)
	round()
	got = count()
	total := 0
	for _, n := range got {
		total += n
	}
	if total != 42 {
		t.Fatalf("after the 14-day stage: %d reminders, want 42: %v", total, got)
	}
	// three days on (12:00 UTC, 21:00 in Tokyo: quiet): the 3-day stage of the first twenty
	h.Clock.Advance(3*24*time.Hour + time.Hour)
	round()
	got = count()
	if got["soon00"] != 2 || got["late00"] != 1 || got["tokyo"] != 1 {
		t.Fatalf("3-day stage: soon %d, late %d, tokyo %d", got["soon00"], got["late00"], got["tokyo"])
	}
	// Tokyo's morning: its reminder comes then, once
	h.Clock.Advance(12 * time.Hour)
	round()
	if got = count(); got["tokyo"] != 2 || got["soon00"] != 2 {
		t.Fatalf("after the quiet hours: tokyo %d, soon %d", got["tokyo"], got["soon00"])
	}
}

// expiringDir is the harness directory with password expiries.
type expiringDir struct {
	*storetest.Directory
	expiries
}

func (d expiringDir) Capabilities() flows.Capabilities {
	c := d.Directory.Capabilities()
	c.Expiries = d
	return c
}

// The bot admins' report has the expiry line: passwords expiring in the next 7 days, and
// reminded people whose password changed since.
func TestReportCountsExpiringAndChangedAfterAReminder(t *testing.T) {
	h := storetest.New(t)
	now := h.Clock.Now()
	dana := flows.Account{ID: "da7a", UPN: "dana@contoso.test", Mail: "dana@contoso.test", DisplayName: "Dana", Enabled: true, Groups: []string{"grp-admins"}}
	h.Dir.Add(dana)
	var list expiries
	roster := storetest.ChatRoster{}
	for i, left := range []time.Duration{2 * 24 * time.Hour, 6 * 24 * time.Hour, 20 * 24 * time.Hour} {
		a := flows.Account{ID: fmt.Sprintf("p%d", i), UPN: fmt.Sprintf("p%d@contoso.test", i), Mail: fmt.Sprintf("p%d@contoso.test", i),
			DisplayName: "P", Enabled: true, Groups: []string{storetest.Group}}
		list = append(list, flows.PasswordExpiry{Account: a, ExpiresAt: now.Add(left), ChangedAt: now.Add(left - 42*24*time.Hour)})
		roster[a.Mail] = flows.ChatTarget{Chat: storetest.Chat(a.ID), TZ: time.UTC}
	}
	dir := &expiringDir{h.Dir, list}
	h.Deps.Directory = dir
	h.Opts.ExpiryReminders, h.Opts.AdminGroups = true, []string{"grp-admins"}
	h.Rebuild()
	report := func() string {
		t.Helper()
		rs, err := h.Engine.Admin(context.Background(), flows.Inbound{Chat: storetest.Chat("D1"),
			Claim: flows.Claim{Kind: flows.ClaimEmail, Value: dana.Mail}}, "report")
		if err != nil || len(rs) != 1 {
			t.Fatalf("report: %v %v", rs, err)
		}
		return rs[0].Text
	}
	if r := report(); !strings.Contains(r, "Password expiry: 2 expiring in the next 7 days; 0 changed after a reminder.") {
		t.Fatalf("before reminders:\n%s", r)
	}
	x := flows.NewExpiryReminders(h.Engine, h.Store, h.Store, dir, roster)
	if _, err := x.Plan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	// p0 changes their password an hour later: a new expiry, 42 days on
	h.Clock.Advance(time.Hour)
	dir.expiries[0].ChangedAt, dir.expiries[0].ExpiresAt = h.Clock.Now(), h.Clock.Now().Add(42*24*time.Hour)
	if r := report(); !strings.Contains(r, "Password expiry: 1 expiring in the next 7 days; 1 changed after a reminder.") {
		t.Fatalf("after a change:\n%s", r)
	}
	// without expiry reminders the report has no such line
	h.Opts.ExpiryReminders = false
	h.Rebuild()
	if r := report(); strings.Contains(r, "Password expiry") {
		t.Fatalf("reminders off:\n%s", r)
	}
}
