package flows_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the zone database, whatever the machine has

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// campaign seeds users: registered ones, unregistered ones (some without a chat identity) and
// users outside the group, and returns the chat roster.
func campaign(t *testing.T, h *storetest.Harness, registered, unregistered, unmapped, outside int) storetest.ChatRoster {
	roster := storetest.ChatRoster{}
	add := func(i int, kind string, inGroup, mapped, enrol bool) {
		a := flows.Account{ID: fmt.Sprintf("%s-%03d", kind, i), Mail: fmt.Sprintf("%s%03d@contoso.test", kind, i), Enabled: true}
		if inGroup {
			a.Groups = []string{storetest.Group}
		}
		h.Dir.Add(a)
		if enrol {
			h.Enrol(a.ID)
		}
		if mapped {
			roster[a.Mail] = flows.ChatTarget{Chat: flows.ChatRef{Platform: "test", Tenant: "T1", UserID: "C-" + a.ID, Locale: "en"}}
		}
	}
	for i := 0; i < registered; i++ {
		add(i, "reg", true, true, true)
	}
	for i := 0; i < unregistered; i++ {
		add(i, "new", true, i >= unmapped, false)
	}
	for i := 0; i < outside; i++ {
		add(i, "out", false, true, false)
	}
	return roster
}

func TestRemindersReachEveryUnregisteredUserOnce(t *testing.T) {
	h := storetest.New(t)
	roster := campaign(t, h, 10, 40, 3, 5)
	ctx := context.Background()
	planner := flows.NewReminders(h.Engine, h.Store, h.Dir, roster)
	n, err := planner.Plan(ctx)
	if err != nil || n != 40 {
		t.Fatalf("planned %d: %v", n, err)
	}
	// three replicas work the queue at once
	replicas := []*flows.Reminders{planner, flows.NewReminders(h.Engine, h.Store, h.Dir, roster), flows.NewReminders(h.Engine, h.Store, h.Dir, roster)}
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := r.Step(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	got := map[string]int{}
	for i, r := range h.Notes.Replies {
		if r.MsgID == flows.MsgReminder {
			got[h.Notes.To[i].UserID]++
			if len(r.Choices) != 2 || r.Link != "" {
				t.Fatalf("reminder %+v", r)
			}
		}
	}
	if len(got) != 37 {
		t.Fatalf("%d users reminded, want 37", len(got))
	}
	for u, c := range got {
		if c != 1 || u[:5] != "C-new" {
			t.Fatalf("%s reminded %d times", u, c)
		}
	}
	var sent, skipped int64
	for _, r := range replicas {
		sent += r.Sent.Load()
		skipped += r.Skipped.Load()
	}
	if sent != 37 || skipped != 3 {
		t.Fatalf("sent %d skipped %d", sent, skipped)
	}
	// planning again does not queue anyone twice, and nobody is due before the interval
	if _, err := planner.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := planner.Step(ctx); n != 0 {
		t.Fatalf("%d reminders due right after a campaign", n)
	}
}

func TestSnoozeAndItsLimit(t *testing.T) {
	h := storetest.New(t)
	roster := campaign(t, h, 0, 1, 0, 0)
	ctx := context.Background()
	r := flows.NewReminders(h.Engine, h.Store, h.Dir, roster)
	if _, err := r.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	r.Step(ctx)
	mail := "new000@contoso.test"
	for i := 1; i <= flows.MaxSnoozes+1; i++ {
		rs := h.Click("C-new-000", mail, "r:snooze|remind|0")
		want := flows.MsgSnoozed
		wait := flows.SnoozeFor
		if i > flows.MaxSnoozes {
			want, wait = flows.MsgSnoozeLimit, 24*time.Hour
		}
		if !hasMsg(rs, want) {
			t.Fatalf("snooze %d: %v", i, storetest.IDs(rs))
		}
		h.Clock.Advance(wait - time.Minute)
		if n, _ := r.Step(ctx); n != 0 {
			t.Fatalf("snooze %d: reminded before it ended", i)
		}
		h.Clock.Advance(time.Minute)
		if n, _ := r.Step(ctx); n != 1 {
			t.Fatalf("snooze %d: not reminded when it ended", i)
		}
	}
	if rs := h.Click("C-new-000", mail, "r:register|remind|0"); !hasMsg(rs, flows.MsgRegisterLink) {
		t.Fatalf("register now: %v", storetest.IDs(rs))
	}
}

func TestQuietHoursInTheUsersTimeZone(t *testing.T) {
	h := storetest.New(t)
	roster := campaign(t, h, 0, 1, 0, 0)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range roster {
		v.TZ = ny
		roster[k] = v
	}
	// the harness clock is 09:00 UTC = 04:00 in New York: quiet
	ctx := context.Background()
	r := flows.NewReminders(h.Engine, h.Store, h.Dir, roster)
	r.Plan(ctx)
	r.Step(ctx)
	if r.Sent.Load() != 0 || r.Deferred.Load() != 1 {
		t.Fatalf("sent %d deferred %d during quiet hours", r.Sent.Load(), r.Deferred.Load())
	}
	h.Clock.Advance(4*time.Hour - time.Second) // 07:59:59 in New York
	if n, _ := r.Step(ctx); n != 0 {
		t.Fatal("reminded before 08:00 local")
	}
	h.Clock.Advance(time.Second)
	r.Step(ctx)
	if r.Sent.Load() != 1 {
		t.Fatal("not reminded at 08:00 local")
	}
}

type managedDir struct{ *storetest.Directory }

func (m managedDir) Capabilities() flows.Capabilities {
	c := m.Directory.Capabilities()
	c.Managers = m
	return c
}

func (m managedDir) Manager(_ context.Context, id string) (flows.Account, error) {
	return flows.Account{ID: "boss", Mail: "boss@contoso.test", DisplayName: "Boss"}, nil
}

func TestManagerToldAfterNReminders(t *testing.T) {
	h := storetest.New(t)
	h.Deps.Directory = managedDir{h.Dir}
	h.Policy.ManagerAfter = 2
	if _, err := h.Store.PutPolicy(context.Background(), h.Policy, 1); err != nil {
		t.Fatal(err)
	}
	h.Rebuild()
	roster := campaign(t, h, 0, 1, 0, 0)
	ctx := context.Background()
	r := flows.NewReminders(h.Engine, h.Store, managedDir{h.Dir}, roster)
	r.Plan(ctx)
	r.Step(ctx)
	if n := len(h.Mail.All()); n != 0 {
		t.Fatalf("manager told after one reminder: %d mails", n)
	}
	h.Clock.Advance(flows.RemindEvery)
	r.Step(ctx)
	m := h.Mail.All()
	if len(m) != 1 || m[0].To[0] != "boss@contoso.test" || !strings.Contains(m[0].Body, "after 2 reminders") {
		t.Fatalf("manager notice: %+v", m)
	}
}
