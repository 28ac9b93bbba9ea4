package flows_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// BenchmarkHandleStep is one chat step through Engine.Handle against a real redis-server: the
// identity and policy caches warm, a pipelined read and an atomic write. Each iteration is
// "I'm locked out" (a new session with the method buttons) or "cancel", in turn.
//
//	go test -run XXX -bench HandleStep -benchmem ./flows/
func BenchmarkHandleStep(b *testing.B) {
	h := storetest.New(b)
	h.Dir.Add(storetest.Alice)
	h.Enrol(storetest.Alice.ID)
	ctx := context.Background()
	in := func(i int) flows.Inbound {
		text := "I'm locked out"
		if i%2 == 1 {
			text = "cancel"
		}
		return flows.Inbound{Chat: storetest.Chat("U1"), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: storetest.Alice.Mail},
			Text: text, IdemKey: fmt.Sprintf("bench-%d", i)}
	}
	if _, err := h.Engine.Handle(ctx, in(0)); err != nil {
		b.Fatal(err)
	}
	h.Counter.Take()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		rs, err := h.Engine.Handle(ctx, in(i))
		if err != nil || len(rs) == 0 {
			b.Fatalf("step %d: %v %v", i, rs, err)
		}
	}
	b.StopTimer()
	n, _ := h.Counter.Take()
	b.ReportMetric(float64(n)/float64(b.N), "roundtrips/op")
}

// BenchmarkParseIntent reads a typical message and the longest message the bot reads, made of
// words that are all unknown (each one tried for typos), so no message costs much to understand.
//
//	go test -run XXX -bench ParseIntent -benchmem ./flows/
func BenchmarkParseIntent(b *testing.B) {
	long := strings.Repeat("qwzrtx plmokn ", flows.MaxTextLen/14)
	for name, text := range map[string]string{"typical": "hi, i cant get into outlook, lockd out", "longest": long} {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				flows.ParseIntent(text)
				flows.Suggest("en", text)
				flows.LooksLikePassword("en", text)
			}
		})
	}
}
