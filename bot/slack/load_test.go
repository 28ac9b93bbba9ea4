package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// BenchmarkHTTPAck200Users is the load test of the HTTP mode: each round, 200 users send a DM
// at once; it reports the acknowledgement latency (request sent → 200 back) over all rounds,
// with the engine working on earlier messages in the background, against a real redis-server.
//
//	go test -run XXX -bench HTTPAck200Users -benchtime 20x ./bot/slack/
func BenchmarkHTTPAck200Users(b *testing.B) {
	const users = 200
	h := storetest.New(b)
	fake := fakeslack.Start(b)
	for i := 0; i < users; i++ {
		id := fmt.Sprintf("U%04d", i)
		mail := fmt.Sprintf("user%04d@contoso.test", i)
		fake.AddUser(fakeslack.User{ID: id, TeamID: team, Email: mail, EmailConfirmed: true})
		h.Dir.Add(flows.Account{ID: fmt.Sprintf("oid-%04d", i), Mail: mail, UPN: mail, Enabled: true, Groups: []string{storetest.Group}})
	}
	a, err := slack.New(slack.Config{BotToken: "xoxb-1", SigningSecret: secret, TeamIDs: []string{team}, APIURL: fake.GetAPIURL()},
		h.Engine, h.Store, h.Clock, bot.NewLogger(&bytes.Buffer{}, "error"),
		slack.WithSleep(func(context.Context, time.Duration) error { return nil }))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(a.HTTPHandler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: users}}
	var mu sync.Mutex
	var lat []time.Duration
	failed := 0
	b.ResetTimer()
	for round := 0; round < b.N; round++ {
		var wg sync.WaitGroup
		for i := 0; i < users; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body, _ := json.Marshal(fakeslack.MessageEvent(team, fmt.Sprintf("Ev%d-%d", round, i), fmt.Sprintf("U%04d", i), "I'm locked out"))
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/slack/events", bytes.NewReader(body))
				for k, v := range slack.Sign(secret, body, h.Clock.Now()) {
					req.Header[k] = v
				}
				start := time.Now()
				resp, err := client.Do(req)
				d := time.Since(start)
				mu.Lock()
				defer mu.Unlock()
				if err != nil || resp.StatusCode != http.StatusOK {
					failed++
					return
				}
				resp.Body.Close()
				lat = append(lat, d)
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	a.Wait()
	if failed > 0 {
		b.Fatalf("%d requests failed", failed)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(lat)), "acks")
}
