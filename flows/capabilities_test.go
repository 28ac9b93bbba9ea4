package flows_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// Every directory of these tests lists every ability it has: a wrapper that adds a method to the
// harness directory and forgets to list it would make the engine behave as if it were absent.
func TestTestDirectoriesListTheirCapabilities(t *testing.T) {
	d := storetest.NewDirectory()
	for name, dir := range map[string]flows.Directory{
		"storetest": d, "countingUnlock": &countingUnlock{Directory: d}, "unlockDir": unlockDir{d},
		"expiringDir": expiringDir{Directory: d}, "managedDir": managedDir{d}, "contactDir": contactDir{Directory: d},
	} {
		if got := flows.Unlisted(dir); len(got) > 0 {
			t.Errorf("%s has %v but does not list them in Capabilities", name, got)
		}
	}
}

// forgetful adds an unlock to the harness directory but not to its capabilities.
type forgetful struct{ *storetest.Directory }

func (forgetful) LockedOut(context.Context, string) (bool, time.Time, error) {
	return false, time.Time{}, nil
}
func (forgetful) Unlock(context.Context, string) error { return nil }

func TestUnlistedFindsAForgottenCapability(t *testing.T) {
	if got := flows.Unlisted(forgetful{storetest.NewDirectory()}); !slices.Equal(got, []string{"Unlocker"}) {
		t.Fatalf("unlisted %v, want [Unlocker]", got)
	}
}

// The hybrid router takes Entra's extras as they are (no forwarding of its own) and routes
// unlocks, password rules, lockouts and expiries itself only where one of its directories can.
func TestRouterCapabilities(t *testing.T) {
	cloud := contactDir{Directory: storetest.NewDirectory()}
	plain := storetest.NewDirectory()

	r := flows.Router{Cloud: cloud, OnPrem: &countingUnlock{Directory: plain}}
	c := r.Capabilities()
	if c.Contacts == nil || c.TAPs == nil || c.Roster == nil || c.Groups == nil || c.Members == nil {
		t.Fatalf("Entra's extras missing: %+v", c)
	}
	if _, ok := c.Contacts.(contactDir); !ok {
		t.Fatalf("contact methods come from Entra itself, got %T", c.Contacts)
	}
	if _, ok := c.Unlocker.(flows.Router); !ok {
		t.Fatalf("unlocks are routed (synced users to AD), got %T", c.Unlocker)
	}
	if c.Managers != nil || c.Rules != nil || c.Lockouts != nil || c.Expiries != nil || c.Passwords != nil {
		t.Fatalf("neither directory has these, the router must not claim them: %+v", c)
	}

	// without an AD that unlocks, the router does not offer unlocks
	c = flows.Router{Cloud: cloud, OnPrem: plain}.Capabilities()
	if c.Unlocker != nil {
		t.Fatalf("router claims unlocks its directories cannot do")
	}
	// expiries from either side are walked by the router
	c = flows.Router{Cloud: plain, OnPrem: expiringDir{Directory: plain}}.Capabilities()
	if _, ok := c.Expiries.(flows.Router); !ok || c.Contacts != nil {
		t.Fatalf("expiries %T, contacts %v", c.Expiries, c.Contacts)
	}
}
