package flows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
	"github.com/resetbot/resetbot/store/storetest"
)

// sayUntilAnswered repeats a message while the bot asks to try again (right after a failover
// the client still reaches for the dead primary, and fails fast).
func sayUntilAnswered(t *testing.T, h *storetest.Harness, text string) []flows.Reply {
	t.Helper()
	for i := 0; i < 50; i++ {
		rs, err := h.Send(flows.Inbound{Chat: storetest.Chat("U1"), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: aliceMail},
			Text: text, IdemKey: "ha-" + text + "-" + time.Duration(i).String()})
		if err == nil && !hasMsg(rs, flows.MsgTrouble) {
			return rs
		}
	}
	t.Fatalf("%q never answered after the failover", text)
	return nil
}

// A conversation whose primary dies in the middle goes on after the failover: every step the
// person was answered for was acknowledged by the replica.
func TestConversationSurvivesSentinelFailover(t *testing.T) {
	g := redistest.StartSentinel(t)
	rdb, err := store.Connect(store.Options{Addrs: g.Addrs(), MasterName: redistest.MasterName})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	h := storetest.NewWith(t, rdb)
	h.Store.Durable(1, 300*time.Millisecond)
	h.Dir.Add(storetest.Alice)
	secret := h.Enrol(storetest.Alice.ID)
	rs := h.Say("U1", aliceMail, "reset my password")
	rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Authenticator"))
	code, _ := totp.Code(secret, h.Clock.Now())
	if rs = h.Say("U1", aliceMail, code); !hasMsg(rs, flows.MsgProvenMore) {
		t.Fatalf("totp: %v", storetest.IDs(rs))
	}
	g.Primary.Kill()
	g.WaitFailover()
	// the session is still there: the email method is offered and works
	rs = sayUntilAnswered(t, h, "status")
	if !strings.Contains(storetest.Render(rs), "given 1 of the 2 proofs") {
		t.Fatalf("after the failover: %s", storetest.Render(rs))
	}
	// the same TOTP code is not accepted twice, though the primary that took it is gone
	rs = h.Say("U1", aliceMail, "reset my password")
	rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Authenticator"))
	if rs = h.Say("U1", aliceMail, code); hasMsg(rs, flows.MsgProvenMore) {
		t.Fatal("a TOTP code was replayed after the failover")
	}
}

// On Redis Cluster the whole conversation and a reminder campaign work, and each person's
// keys share one slot (the scripts touch several at once).
func TestConversationAndCampaignOnRedisCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	rdb, err := store.Connect(store.Options{Addrs: c.Addrs(), Cluster: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	h := storetest.NewWith(t, rdb)
	h.Dir.Add(storetest.Alice)
	secret := h.Enrol(storetest.Alice.ID)
	link := proveBoth(t, h, "U1", secret)
	ctx := context.Background()
	if err := h.Engine.ResetPassword(ctx, token(link), "Correct-Horse-9", "Correct-Horse-9"); err != nil {
		t.Fatalf("reset on the cluster: %v", err)
	}
	h.Engine.Drain() // revocation and notices run after the answer
	if h.Dir.Passwords[storetest.Alice.ID] != "Correct-Horse-9" {
		t.Fatal("password not set")
	}
	cc := rdb.(*redis.ClusterClient)
	slots := map[int64]bool{}
	err = cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		keys, err := m.Keys(ctx, "{u:"+storetest.Alice.ID+"}*").Result()
		for _, k := range keys {
			slots[cc.ClusterKeySlot(ctx, k).Val()] = true
		}
		return err
	})
	if err != nil || len(slots) != 1 {
		t.Fatalf("alice's keys are in %d slots (%v)", len(slots), err)
	}
	// a campaign: everyone unregistered reminded once, by two replicas at once
	roster := campaign(t, h, 3, 20, 0, 2)
	r1 := flows.NewReminders(h.Engine, h.Store, h.Dir, roster)
	if n, err := r1.Plan(ctx); err != nil || n != 20 {
		t.Fatalf("plan %d %v", n, err)
	}
	r2 := flows.NewReminders(h.Engine, h.Store, h.Dir, roster)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n, err := r2.Step(ctx); n > 0 && err == nil; n, err = r2.Step(ctx) {
		}
	}()
	for n, err := r1.Step(ctx); n > 0 && err == nil; n, err = r1.Step(ctx) {
	}
	<-done
	got := map[string]int{}
	for i, r := range h.Notes.Replies {
		if r.MsgID == flows.MsgReminder {
			got[h.Notes.To[i].UserID]++
		}
	}
	if len(got) != 20 {
		t.Fatalf("reminded %d people, want 20", len(got))
	}
	for u, n := range got {
		if n != 1 {
			t.Fatalf("%s reminded %d times", u, n)
		}
	}
}
