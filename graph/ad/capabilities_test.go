package ad_test

import (
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph/ad"
)

// Active Directory lists every optional ability it implements, and has none of Entra's.
func TestCapabilitiesListed(t *testing.T) {
	d := &ad.Directory{}
	if got := flows.Unlisted(d); len(got) > 0 {
		t.Fatalf("implemented but not listed: %v", got)
	}
	if c := d.Capabilities(); c.Contacts != nil || c.TAPs != nil {
		t.Fatalf("AD holds no contact methods and issues no Temporary Access Passes: %+v", c)
	}
}
