package slack

import (
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/allocs"
)

// Rendering a reply with three choices costs what its blocks need: the blocks' slice and the
// buttons' are made once at their size, and the texts share their emoji flag (23 allocations
// when the slices were grown by append and each text had a flag of its own, 16 now).
func TestMessagesAllocations(t *testing.T) {
	replies := []flows.Reply{{Text: "How would you like to prove it's you?", Choices: []flows.Choice{
		{ID: "m:totp|s1|3", Label: "Authenticator app", Key: "1"}, {ID: "m:email|s1|3", Label: "Email to j***@c****.com", Key: "2"},
		{ID: "m:sms|s1|3", Label: "Text to +1 *** *** **42", Key: "3"}}}}
	var m []Message
	n := allocs.Min(100, func() { m = Messages("en", replies) })
	if len(m) != 1 || len(m[0].Blocks) != 2 || cap(m[0].Blocks) != 2 {
		t.Fatalf("%d messages, blocks %d (room for %d)", len(m), len(m[0].Blocks), cap(m[0].Blocks))
	}
	if n > 17 { // one more with the race detector
		t.Fatalf("%v allocations for a reply with three choices", n)
	}
	t.Logf("%v allocations", n)
}
