package graph_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/graph"
	"github.com/resetbot/resetbot/graph/graphtest"
)

// The permissions the start-up check asks for are exactly those of the API reference extract:
// every operation's least privileged permission is a need, with the same higher ones.
func TestNeedsMatchTheAPIReference(t *testing.T) {
	needs := graph.Needs(graph.Features{MailViaGraph: true, ExpiryReminders: true})
	for _, o := range graphtest.Operations() {
		i := slices.IndexFunc(needs, func(n graph.Need) bool { return n.Permission == o.Least })
		if i < 0 {
			t.Errorf("%s needs %s, which the start-up check does not ask for", o.ID, o.Least)
			continue
		}
		for _, h := range needs[i].Accepts {
			if !slices.Contains(o.Higher, h) {
				t.Errorf("%s: the check accepts %s instead of %s, the reference does not", o.ID, h, o.Least)
			}
		}
	}
	for _, n := range needs {
		if !slices.ContainsFunc(graphtest.Operations(), func(o graphtest.Operation) bool { return o.Least == n.Permission }) {
			t.Errorf("%s is asked for but no operation of the reference needs it", n.Permission)
		}
	}
}

// An app token missing two permissions: both are reported with their features; a fully set up
// registration reports nothing.
func TestCheckPermissionsListsEveryMissingOne(t *testing.T) {
	_, d := setup(t)
	ctx := context.Background()
	if errs := d.CheckPermissions(ctx, graph.Features{MailViaGraph: true}); len(errs) != 0 {
		t.Fatalf("fully granted: %v", errs)
	}
	tn2, d2 := setup(t)
	tn2.AppPermissions = slices.DeleteFunc(graphtest.LeastPermissions(), func(p string) bool {
		return p == "User.RevokeSessions.All" || p == "UserAuthMethod-Phone.Read.All"
	})
	errs := d2.CheckPermissions(ctx, graph.Features{})
	var all []string
	for _, e := range errs {
		all = append(all, e.Error())
	}
	joined := strings.Join(all, "\n")
	if len(errs) != 2 || !strings.Contains(joined, "User.RevokeSessions.All") || !strings.Contains(joined, "signing users out everywhere") ||
		!strings.Contains(joined, "UserAuthMethod-Phone.Read.All") || !strings.Contains(joined, "phone numbers") {
		t.Fatalf("%d problems:\n%s", len(errs), joined)
	}
	// a higher permission also grants it
	tn2.AppPermissions = append(tn2.AppPermissions, "UserAuthenticationMethod.Read.All")
	_, d3 := setupWith(t, tn2)
	if errs := d3.CheckPermissions(ctx, graph.Features{}); len(errs) != 1 {
		t.Fatalf("with a higher permission: %v", errs)
	}
}

// An app without a directory role that may reset passwords is reported at start-up (every reset
// would fail with 403 whatever its permissions): the check reads the role assignments of the
// service principal its token names. A custom role is not judged (it may hold the right); a
// built-in role that cannot reset passwords is no substitute.
func TestCheckPermissionsNeedsAPasswordResetRole(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		roles   []string
		problem bool
	}{
		{[]string{"User Administrator"}, false},
		{[]string{"Privileged Authentication Administrator"}, false},
		{nil, true},
		{[]string{"Helpdesk Administrator"}, true},
		{[]string{"6c5e1b3f-7a29-4d8e-9c11-2b7c6a0e8f51"}, false}, // a custom role
	}
	for _, c := range cases {
		tn, _ := setup(t)
		tn.AppRoles = c.roles
		_, d := setupWith(t, tn)
		errs := d.CheckPermissions(ctx, graph.Features{})
		got := len(errs) == 1 && strings.Contains(errs[0].Error(), "User Administrator") && strings.Contains(errs[0].Error(), tn.ServicePrincipalID)
		if got != c.problem || len(errs) > 1 {
			t.Errorf("app roles %v: %v", c.roles, errs)
		}
	}
}
