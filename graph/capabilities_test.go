package graph_test

import (
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph"
)

// The Entra directory lists every optional ability it implements, and has none of AD's.
func TestCapabilitiesListed(t *testing.T) {
	d := &graph.Directory{}
	if got := flows.Unlisted(d); len(got) > 0 {
		t.Fatalf("implemented but not listed: %v", got)
	}
	c := d.Capabilities()
	if c.Unlocker != nil || c.Lockouts != nil || c.Rules != nil || c.Passwords != nil {
		t.Fatalf("Entra has no unlock, lockout list, password rules or password check for an app: %+v", c)
	}
}
