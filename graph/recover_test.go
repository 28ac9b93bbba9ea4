package graph_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
)

// The recovery page reads the directory's contact methods for every name alike, by the object
// id that stands for nobody when the name matched no one: Graph is asked the same number of
// requests for an unknown, an ordinary and a privileged user.
func TestContactMethodCallsAreTheSameForEveryHiddenState(t *testing.T) {
	tn, d := setup(t)
	total := func() int {
		n := 0
		for k, v := range tn.Calls() {
			if !strings.HasPrefix(k, "priority ") {
				n += v
			}
		}
		return n
	}
	var counts []int
	for _, id := range []string{flows.NoObjectID, "a11ce000-0000-4000-8000-000000000001", "ca401000-0000-4000-8000-000000000003"} {
		before := total()
		_, _ = d.ContactMethods(context.Background(), id)
		counts = append(counts, total()-before)
	}
	if slices.Min(counts) != slices.Max(counts) || counts[0] == 0 {
		t.Fatalf("calls per contact-method read (unknown, ordinary, privileged): %v", counts)
	}
}
