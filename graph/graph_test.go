package graph_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	khttp "github.com/microsoft/kiota-http-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph"
	"github.com/resetbot/resetbot/graph/graphtest"
)

func setup(t *testing.T) (*graphtest.Tenant, *graph.Directory) {
	t.Helper()
	tn := graphtest.New()
	graphtest.DemoUsers(tn)
	if err := tn.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tn.Close)
	tn.Strict(t) // every request must be an operation of the API reference extract
	return setupWith(t, tn)
}

// setupWith builds a directory client of a started tenant (a new client gets a new token).
func setupWith(t *testing.T, tn *graphtest.Tenant) (*graphtest.Tenant, *graph.Directory) {
	t.Helper()
	d, err := graph.New(graph.Config{BaseURL: tn.GraphURL(),
		Credential: graph.NewClientCredential(tn.TokenURL(), tn.ClientID, tn.ClientSecret, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return tn, d
}

func TestLookup(t *testing.T) {
	tn, d := setup(t)
	tn.PageSize = 1 // every membership page has one entry: paging must be followed
	tn.AddGroup(graphtest.Group{ID: "g2", Name: "Second"})
	u, _ := tn.User("ca401000-0000-4000-8000-000000000003")
	u.Groups = append(u.Groups, "g2")
	tn.AddUser(u)
	ctx := context.Background()
	cases := []struct {
		name  string
		claim flows.Claim
		check func(flows.Account) bool
		err   error
	}{
		{"by mail", flows.Claim{Kind: flows.ClaimEmail, Value: "Alice@Contoso.test"},
			func(a flows.Account) bool {
				return a.ID == "a11ce000-0000-4000-8000-000000000001" && a.Enabled && !a.Privileged && len(a.Groups) == 1
			}, nil},
		{"by upn", flows.Claim{Kind: flows.ClaimUPN, Value: "bob@contoso.test"},
			func(a flows.Account) bool { return a.DisplayName == "Bob Outside" && len(a.Groups) == 0 }, nil},
		{"by id", flows.Claim{Kind: flows.ClaimObjectID, Value: "da4e0000-0000-4000-8000-000000000004"},
			func(a flows.Account) bool { return a.Synced }, nil},
		{"privileged over pages", flows.Claim{Kind: flows.ClaimEmail, Value: "carol@contoso.test"},
			func(a flows.Account) bool { return a.Privileged && len(a.Groups) == 2 }, nil},
		{"disabled", flows.Claim{Kind: flows.ClaimEmail, Value: "erin@contoso.test"},
			func(a flows.Account) bool { return !a.Enabled }, nil},
		{"unknown mail", flows.Claim{Kind: flows.ClaimEmail, Value: "nobody@contoso.test"}, nil, flows.ErrNotFound},
		{"unknown id", flows.Claim{Kind: flows.ClaimObjectID, Value: "00000000-dead-4000-8000-000000000000"}, nil, flows.ErrNotFound},
		{"quote injection", flows.Claim{Kind: flows.ClaimEmail, Value: "x' or mail eq 'alice@contoso.test"}, nil, flows.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := d.Lookup(ctx, c.claim)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err %v, want %v", err, c.err)
				}
				return
			}
			if err != nil || !c.check(a) {
				t.Fatalf("%+v %v", a, err)
			}
		})
	}
}

func TestLookupAmbiguous(t *testing.T) {
	tn, d := setup(t)
	tn.AddUser(graphtest.User{ID: "dup-1", UPN: "alias@contoso.test", Mail: "alice@contoso.test", Enabled: true})
	if _, err := d.Lookup(context.Background(), flows.Claim{Kind: flows.ClaimEmail, Value: "alice@contoso.test"}); !errors.Is(err, flows.ErrAmbiguous) {
		t.Fatalf("err %v", err)
	}
}

func TestSetPasswordRetriedAfter429TakesEffectOnce(t *testing.T) {
	tn, d := setup(t)
	id := "a11ce000-0000-4000-8000-000000000001"
	tn.FailNext("PATCH /v1.0/users/", http.StatusTooManyRequests, "1")
	if err := d.SetPassword(context.Background(), id, "New-Passw0rd-42", false); err != nil {
		t.Fatal(err)
	}
	ch := tn.Changes()
	if len(ch) != 1 || ch[0].Kind != "password" || ch[0].ForceChange {
		t.Fatalf("changes %+v", ch)
	}
	if u, _ := tn.User(id); u.Password != "New-Passw0rd-42" {
		t.Fatalf("password %q: the retried body was garbled", u.Password)
	}
	if n := tn.Calls()["PATCH /v1.0/users/{id}"]; n != 2 {
		t.Fatalf("%d PATCH calls, want the 429 and one retry", n)
	}
}

func TestSetPasswordRefusals(t *testing.T) {
	tn, d := setup(t)
	ctx := context.Background()
	var pe *flows.PasswordError
	if err := d.SetPassword(ctx, "a11ce000-0000-4000-8000-000000000001", "password123", false); !errors.As(err, &pe) {
		t.Fatalf("policy refusal: %v", err)
	}
	if err := d.SetPassword(ctx, "da4e0000-0000-4000-8000-000000000004", "Fine-Passw0rd-1", true); err == nil || errors.As(err, &pe) {
		t.Fatalf("synced user: %v", err)
	}
	if len(tn.Changes()) != 0 {
		t.Fatalf("refused writes recorded: %+v", tn.Changes())
	}
}

func TestRevokeSessions(t *testing.T) {
	tn, d := setup(t)
	if err := d.RevokeSessions(context.Background(), "a11ce000-0000-4000-8000-000000000001"); err != nil {
		t.Fatal(err)
	}
	if ch := tn.Changes(); len(ch) != 1 || ch[0].Kind != "revoke" {
		t.Fatalf("%+v", ch)
	}
}

func TestWrongAppSecretIsRefused(t *testing.T) {
	tn, _ := setup(t)
	d, err := graph.New(graph.Config{BaseURL: tn.GraphURL(),
		Credential: graph.NewClientCredential(tn.TokenURL(), tn.ClientID, "wrong", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lookup(context.Background(), flows.Claim{Kind: flows.ClaimEmail, Value: "alice@contoso.test"}); err == nil {
		t.Fatal("lookup with a wrong secret succeeded")
	}
	if n := tn.Calls()["GET /v1.0/users"]; n != 0 {
		t.Fatalf("graph was called %d times without a token", n)
	}
}

func TestMiddlewareHasNoCompression(t *testing.T) {
	for _, m := range graph.Middleware() {
		if _, ok := m.(*khttp.CompressionHandler); ok {
			t.Fatalf("compression handler in the pipeline: %T", m)
		}
	}
}

func TestSendMailFromAMailbox(t *testing.T) {
	tn, d := setup(t)
	tn.AddUser(graphtest.User{ID: "mbx-1", UPN: "resetbot@contoso.test", Enabled: true})
	m := graph.NewMailer(d, "resetbot@contoso.test")
	if err := m.Send(context.Background(), flows.Mail{To: []string{"a@x.test", "b@y.test"}, Subject: "Hi", Body: "Line 1\nLine 2"}); err != nil {
		t.Fatal(err)
	}
	got := tn.Mails()
	if len(got) != 1 || got[0].From != "resetbot@contoso.test" || len(got[0].To) != 2 || got[0].Subject != "Hi" || got[0].Body != "Line 1\nLine 2" {
		t.Fatalf("%+v", got)
	}
}

func TestContactMethodsFromTheDirectory(t *testing.T) {
	tn, d := setup(t)
	u, _ := tn.User("a11ce000-0000-4000-8000-000000000001")
	u.Phones = []graphtest.Phone{{Number: "+1 4255550142", Type: "mobile"}, {Number: "+1 4255550199", Type: "office"}}
	u.AuthEmail = "alice.home@mail.test"
	tn.AddUser(u)
	ms, err := d.ContactMethods(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[flows.MethodKind]string{flows.MethodSMS: "+14255550142", flows.MethodVoice: "+14255550199", flows.MethodEmail: "alice.home@mail.test"}
	if len(ms) != 3 {
		t.Fatalf("%+v", ms)
	}
	for _, m := range ms {
		if want[m.Kind] != m.Address {
			t.Fatalf("%+v", ms)
		}
	}
}

func TestRosterPagesUsersAndGroupMembers(t *testing.T) {
	tn, d := setup(t)
	tn.PageSize = 2
	var all, members []string
	if err := d.EachUser(context.Background(), nil, func(a flows.Account) error { all = append(all, a.UPN); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("all users over pages of 2: %v", all)
	}
	if err := d.EachUser(context.Background(), []string{graphtest.SSPRGroup}, func(a flows.Account) error {
		if len(a.Groups) != 1 || a.Groups[0] != graphtest.SSPRGroup {
			t.Fatalf("member without its group: %+v", a)
		}
		members = append(members, a.UPN)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(members) != 4 {
		t.Fatalf("group members: %v", members)
	}
	ms, err := d.Members(context.Background(), graphtest.SSPRGroup)
	if err != nil || len(ms) != 4 {
		t.Fatalf("%d %v", len(ms), err)
	}
	// a listing's own JSON decoding gives what a single read through the SDK gives
	for _, m := range ms {
		one, err := d.Lookup(context.Background(), flows.Claim{Kind: flows.ClaimObjectID, Value: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		one.Groups, one.Privileged, m.Groups = nil, false, nil
		if !reflect.DeepEqual(m, one) {
			t.Errorf("listed %+v, read %+v", m, one)
		}
	}
	// Graph's refusal comes back as its error code, as from the SDK's own calls
	tn.AppPermissions = nil
	_, d = setupWith(t, tn) // a new token, without any application permission
	if err := d.EachUser(context.Background(), nil, func(flows.Account) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "list users: 403 Authorization_RequestDenied") {
		t.Fatalf("a listing without any permission: %v", err)
	}
}

func TestResolveGroupAndManager(t *testing.T) {
	tn, d := setup(t)
	ctx := context.Background()
	if id, err := d.ResolveGroup(ctx, "SSPR users"); err != nil || id != graphtest.SSPRGroup {
		t.Fatalf("%q %v", id, err)
	}
	if _, err := d.ResolveGroup(ctx, "No such group"); !errors.Is(err, flows.ErrNotFound) {
		t.Fatalf("unknown group: %v", err)
	}
	u, _ := tn.User("a11ce000-0000-4000-8000-000000000001")
	u.ManagerID = "b0b00000-0000-4000-8000-000000000002"
	tn.AddUser(u)
	if m, err := d.Manager(ctx, u.ID); err != nil || m.UPN != "bob@contoso.test" {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := d.Manager(ctx, "b0b00000-0000-4000-8000-000000000002"); !errors.Is(err, flows.ErrNotFound) {
		t.Fatalf("no manager: %v", err)
	}
}

func TestPrivilegeIncludesPIMAndRoleAssignableGroupsAndFailsClosed(t *testing.T) {
	tn, d := setup(t)
	tn.PremiumP2 = true
	ctx := context.Background()
	lookup := func(mail string) flows.Account {
		a, err := d.Lookup(ctx, flows.Claim{Kind: flows.ClaimEmail, Value: mail})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if lookup("alice@contoso.test").Privileged {
		t.Fatal("alice is not privileged")
	}
	// eligible through PIM
	u, _ := tn.User("a11ce000-0000-4000-8000-000000000001")
	u.Eligible = []string{"User Administrator"}
	tn.AddUser(u)
	if !lookup("alice@contoso.test").Privileged {
		t.Fatal("a PIM-eligible user is not privileged")
	}
	// member of a role-assignable group
	tn.AddGroup(graphtest.Group{ID: "grp-admins", Name: "Helpdesk admins", RoleAssignable: true})
	b, _ := tn.User("b0b00000-0000-4000-8000-000000000002")
	b.Groups = []string{"grp-admins"}
	tn.AddUser(b)
	if !lookup("bob@contoso.test").Privileged {
		t.Fatal("a member of a role-assignable group is not privileged")
	}
	// the checks fail: privileged
	tn.FailNext("/transitiveMemberOf", http.StatusInternalServerError, "")
	if !lookup("erin@contoso.test").Privileged {
		t.Fatal("a failed membership check did not count as privileged")
	}
	tn.FailNext("/roleEligibilityScheduleInstances", http.StatusInternalServerError, "")
	if !lookup("erin@contoso.test").Privileged {
		t.Fatal("a failed eligibility check did not count as privileged")
	}
	if lookup("erin@contoso.test").Privileged {
		t.Fatal("erin is not privileged once the checks answer")
	}
}

func TestPriorityWhileAUserWaits(t *testing.T) {
	tn, d := setup(t)
	claim := flows.Claim{Kind: flows.ClaimEmail, Value: "alice@contoso.test"}
	if _, err := d.Lookup(context.Background(), claim); err != nil {
		t.Fatal(err)
	}
	if n := tn.Calls()["priority GET /v1.0/users"]; n != 0 {
		t.Fatalf("background lookup sent priority: %d", n)
	}
	if _, err := d.Lookup(flows.WithUserWaiting(context.Background()), claim); err != nil {
		t.Fatal(err)
	}
	if n := tn.Calls()["priority GET /v1.0/users"]; n != 1 {
		t.Fatalf("interactive lookup sent priority %d times", n)
	}
	// every call of an interactive look-up, through the SDK or a plain request (the batch), and
	// of a password change, asks for priority; none of the background look-up did
	before := tn.Calls()
	ctx := flows.WithUserWaiting(context.Background())
	if _, err := d.Lookup(ctx, flows.Claim{Kind: flows.ClaimObjectID, Value: "a11ce000-0000-4000-8000-000000000001"}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(ctx, "a11ce000-0000-4000-8000-000000000001", "Granite-Orchid-Lantern-8", false); err != nil {
		t.Fatal(err)
	}
	after := tn.Calls()
	for k, n := range after {
		if strings.HasPrefix(k, "priority ") {
			continue
		}
		if sent, prio := n-before[k], after["priority "+k]-before["priority "+k]; sent != prio {
			t.Errorf("%s: %d calls, %d with priority", k, sent, prio)
		}
	}
	if after["priority POST /v1.0/$batch"] == before["priority POST /v1.0/$batch"] || after["priority PATCH /v1.0/users/{id}"] != 1 {
		t.Fatalf("calls %v", after)
	}
}

func TestTemporaryAccessPassIsNeverRetried(t *testing.T) {
	tn, d := setup(t)
	ctx := context.Background()
	pass, err := d.IssueTAP(ctx, "a11ce000-0000-4000-8000-000000000001", time.Hour)
	if err != nil || !strings.HasPrefix(pass, "TAP-") {
		t.Fatalf("%q %v", pass, err)
	}
	tn.FailNext("/temporaryAccessPassMethods", http.StatusServiceUnavailable, "1")
	if _, err := d.IssueTAP(ctx, "a11ce000-0000-4000-8000-000000000001", time.Hour); err == nil {
		t.Fatal("a failed create reported success")
	}
	if n := tn.Calls()["POST /v1.0/users/{id}/authentication/temporaryAccessPassMethods"]; n != 2 {
		t.Fatalf("%d calls: the failed create was retried", n)
	}
	taps := 0
	for _, c := range tn.Changes() {
		if c.Kind == "tap" {
			taps++
		}
	}
	if taps != 1 {
		t.Fatalf("%d passes issued", taps)
	}
}

// Privilege comes from every directory role assignment: custom roles and roles scoped to an
// administrative unit appear only in roleManagement/directory/roleAssignments, not as
// directoryRole objects among the memberships.
func TestPrivilegeFromCustomAndUnitScopedRoles(t *testing.T) {
	tn, d := setup(t)
	ctx := context.Background()
	for name, ra := range map[string]graphtest.RoleAssignment{
		"custom role":      {Role: "5d3a1b9c-0000-4000-8000-00000000c0de", Scope: "/"},
		"unit-scoped":      {Role: "Helpdesk Administrator", Scope: "/administrativeUnits/au-emea"},
		"custom in a unit": {Role: "5d3a1b9c-0000-4000-8000-00000000c0de", Scope: "/administrativeUnits/au-emea"},
	} {
		u, _ := tn.User("a11ce000-0000-4000-8000-000000000001")
		u.Assignments = []graphtest.RoleAssignment{ra}
		tn.AddUser(u)
		for _, c := range []flows.Claim{{Kind: flows.ClaimEmail, Value: "alice@contoso.test"}, {Kind: flows.ClaimObjectID, Value: u.ID}} {
			a, err := d.Lookup(ctx, c)
			if err != nil || !a.Privileged {
				t.Errorf("%s by %s: privileged %v, %v", name, c.Kind, a.Privileged, err)
			}
		}
	}
}

// A tenant without Entra ID P2 answers PIM with 400 AadPremiumLicenseRequired: that means
// nobody is eligible, is logged once, and leaves ordinary users served.
func TestNoP2LicenceMeansNoEligibleAssignments(t *testing.T) {
	_, d := setup(t)
	var logs strings.Builder
	d.Log = slog.New(slog.NewTextHandler(&logs, nil))
	for range 3 {
		a, err := d.Lookup(context.Background(), flows.Claim{Kind: flows.ClaimEmail, Value: "alice@contoso.test"})
		if err != nil || a.Privileged {
			t.Fatalf("privileged %v, %v", a.Privileged, err)
		}
	}
	if n := strings.Count(logs.String(), "no Entra ID P2 licence"); n != 1 {
		t.Fatalf("logged %d times:\n%s", n, logs.String())
	}
}

// Without the permission PIM needs, Graph answers 403: the user counts as privileged (never
// served by mistake) and the reason is logged.
func TestMissingPIMPermissionFailsClosed(t *testing.T) {
	tn, d := setup(t)
	tn.PremiumP2 = true
	tn.AppPermissions = slices.DeleteFunc(graphtest.LeastPermissions(), func(p string) bool {
		return p == "RoleEligibilitySchedule.Read.Directory" || p == "RoleManagement.Read.Directory"
	})
	var logs strings.Builder
	d.Log = slog.New(slog.NewTextHandler(&logs, nil))
	a, err := d.Lookup(context.Background(), flows.Claim{Kind: flows.ClaimEmail, Value: "alice@contoso.test"})
	if err != nil || !a.Privileged || !strings.Contains(logs.String(), "Authorization_RequestDenied") && !strings.Contains(logs.String(), "403") {
		t.Fatalf("privileged %v, %v\n%s", a.Privileged, err, logs.String())
	}
}

// The number of Graph calls of a lookup is the same for an unknown, an ordinary, a privileged
// and an eligible user, so it tells nothing about them.
func TestLookupCallsAreTheSameForEveryHiddenState(t *testing.T) {
	tn, d := setup(t)
	tn.PremiumP2 = true
	u, _ := tn.User("b0b00000-0000-4000-8000-000000000002")
	u.Eligible = []string{"User Administrator"}
	tn.AddUser(u)
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
	for _, mail := range []string{"nobody@contoso.test", "alice@contoso.test", "carol@contoso.test", "bob@contoso.test"} {
		before := total()
		_, _ = d.Lookup(context.Background(), flows.Claim{Kind: flows.ClaimEmail, Value: mail})
		counts = append(counts, total()-before)
	}
	if slices.Min(counts) != slices.Max(counts) {
		t.Fatalf("calls per lookup (unknown, ineligible, privileged, eligible): %v", counts)
	}
}

// App-only password resets need the User Administrator role on the app's service principal, and
// a higher role for users who hold admin roles; without it Graph answers 403.
func TestPasswordResetNeedsTheUserAdministratorRole(t *testing.T) {
	tn, d := setup(t)
	ctx := context.Background()
	alice, carol := "a11ce000-0000-4000-8000-000000000001", "ca401000-0000-4000-8000-000000000003"
	if err := d.SetPassword(ctx, alice, "Granite-Orchid-Lantern-8", false); err != nil {
		t.Fatalf("with User Administrator: %v", err)
	}
	if err := d.SetPassword(ctx, carol, "Granite-Orchid-Lantern-8", false); err == nil || !strings.Contains(err.Error(), "403 Authorization_RequestDenied") {
		t.Fatalf("an admin reset with User Administrator only: %v", err)
	}
	tn.AppRoles = nil
	if err := d.SetPassword(ctx, alice, "Granite-Orchid-Lantern-9", false); err == nil || !strings.Contains(err.Error(), "403 Authorization_RequestDenied") {
		t.Fatalf("without a role: %v", err)
	}
}

// TestNewQuietsTracing: the Graph SDK's spans go to the no-op tracer provider (resetbot exports
// no traces; the default provider builds every span of every Graph call).
func TestNewQuietsTracing(t *testing.T) {
	if _, err := graph.New(graph.Config{BaseURL: "http://127.0.0.1:1/v1.0", Credential: graph.NewClientCredential("http://127.0.0.1:1/token", "id", "secret", nil)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := otel.GetTracerProvider().(noop.TracerProvider); !ok {
		t.Fatalf("tracer provider %T, want the no-op one", otel.GetTracerProvider())
	}
}

// A look-up by id is one JSON batch of its four reads; by mail, the search and one batch of
// the three privilege checks. The result is the one the separate calls gave.
func TestLookupIsOneBatch(t *testing.T) {
	tn, d := setup(t)
	ctx := context.Background()
	calls := func() map[string]int {
		out := map[string]int{}
		for k, v := range tn.Calls() {
			if !strings.HasPrefix(k, "priority ") {
				out[k] = v
			}
		}
		return out
	}
	a, err := d.Lookup(ctx, flows.Claim{Kind: flows.ClaimObjectID, Value: "a11ce000-0000-4000-8000-000000000001"})
	if err != nil || a.Mail != "alice@contoso.test" || !a.Enabled || a.Privileged || len(a.Groups) == 0 {
		t.Fatalf("%+v %v", a, err)
	}
	want := map[string]int{"POST /v1.0/$batch": 1, "GET /v1.0/users/{id}": 1, "GET /v1.0/users/{id}/transitiveMemberOf": 1,
		"GET /v1.0/roleManagement/directory/roleAssignments": 1, "GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances": 1}
	if got := calls(); !maps.Equal(got, want) {
		t.Fatalf("calls by id: %v", got)
	}
	b, err := d.Lookup(ctx, flows.Claim{Kind: flows.ClaimEmail, Value: "alice@contoso.test"})
	if err != nil || b.ID != a.ID || !slices.Equal(b.Groups, a.Groups) || b.Privileged {
		t.Fatalf("%+v %v", b, err)
	}
	if got := calls(); got["POST /v1.0/$batch"] != 2 || got["GET /v1.0/users"] != 1 || got["GET /v1.0/users/{id}"] != 1 {
		t.Fatalf("calls by mail: %v", got)
	}
	if _, err := d.Lookup(ctx, flows.Claim{Kind: flows.ClaimObjectID, Value: "0b0d0000-0000-4000-8000-00000000ffff"}); !errors.Is(err, flows.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

// A batched read Graph throttled is made again on its own, as the SDK's retries would: an
// ordinary user stays ordinary (not turned privileged by a 429), and the answer is waited for.
func TestThrottledBatchedReadIsMadeAgain(t *testing.T) {
	tn, d := setup(t)
	tn.FailNext("/roleAssignments", http.StatusTooManyRequests, "0")
	a, err := d.Lookup(context.Background(), flows.Claim{Kind: flows.ClaimObjectID, Value: "a11ce000-0000-4000-8000-000000000001"})
	if err != nil || a.Privileged {
		t.Fatalf("privileged %v, %v", a.Privileged, err)
	}
	if n := tn.Calls()["GET /v1.0/roleManagement/directory/roleAssignments"]; n != 2 {
		t.Fatalf("role assignments read %d times, want the batched read and once more", n)
	}
	// a user whose only privilege is a role assignment read after the throttling
	u, _ := tn.User("b0b00000-0000-4000-8000-000000000002")
	u.Assignments = []graphtest.RoleAssignment{{Role: "Helpdesk Administrator", Scope: "/administrativeUnits/au1"}}
	tn.AddUser(u)
	tn.FailNext("/roleAssignments", http.StatusTooManyRequests, "0")
	if b, err := d.Lookup(context.Background(), flows.Claim{Kind: flows.ClaimObjectID, Value: u.ID}); err != nil || !b.Privileged {
		t.Fatalf("privileged %v, %v", b.Privileged, err)
	}
}

// A roster walk marks privileged exactly the users a lookup marks privileged (directory roles,
// custom or unit-scoped assignments, PIM eligibility, role-assignable groups), with a few
// listings for the whole walk, not calls per user: the reminders and the report judge who may
// self-serve as a chat step does.
func TestRosterPrivilegeIsLookups(t *testing.T) {
	tn, d := setup(t)
	tn.PremiumP2 = true
	tn.PageSize = 2
	ctx := context.Background()
	alice, _ := tn.User("a11ce000-0000-4000-8000-000000000001")
	alice.Eligible = []string{"User Administrator"}
	tn.AddUser(alice)
	tn.AddGroup(graphtest.Group{ID: "grp-admins", Name: "Helpdesk admins", RoleAssignable: true})
	bob, _ := tn.User("b0b00000-0000-4000-8000-000000000002")
	bob.Groups = []string{"grp-admins"}
	tn.AddUser(bob)
	erin, _ := tn.User("e4140000-0000-4000-8000-000000000005")
	erin.Assignments = []graphtest.RoleAssignment{{Role: "Helpdesk Administrator", Scope: "/administrativeUnits/au-emea"}}
	tn.AddUser(erin)

	total := func() (n int) {
		for _, c := range tn.Calls() {
			n += c
		}
		return n
	}
	listed := map[string]bool{}
	calls := total()
	if err := d.EachUser(ctx, nil, func(a flows.Account) error { listed[a.ID] = a.Privileged; return nil }); err != nil {
		t.Fatal(err)
	}
	// three pages of users, the role assignments, the eligibilities, the role-assignable groups
	// and their members
	if n := total() - calls; n > 8 {
		t.Fatalf("a walk of %d users took %d calls", len(listed), n)
	}
	want := map[string]bool{}
	for id := range listed {
		a, err := d.Lookup(ctx, flows.Claim{Kind: flows.ClaimObjectID, Value: id})
		if err != nil {
			t.Fatal(err)
		}
		want[id] = a.Privileged
	}
	if !maps.Equal(listed, want) {
		t.Fatalf("listed privilege %v, lookups %v", listed, want)
	}
	if n := len(slices.DeleteFunc(slices.Collect(maps.Values(listed)), func(p bool) bool { return !p })); n != 4 {
		t.Fatalf("%d privileged (carol, and alice, bob and erin now): %v", n, listed)
	}
	// the expiry walk knows them too
	privileged := 0
	if err := d.PasswordExpiries(ctx, nil, func(p flows.PasswordExpiry) error {
		if p.Account.Privileged != want[p.Account.ID] {
			t.Errorf("expiry walk: %s privileged %v", p.Account.UPN, p.Account.Privileged)
		}
		if p.Account.Privileged {
			privileged++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if privileged == 0 {
		t.Fatal("the expiry walk found nobody privileged")
	}
	// unknown privilege fails the walk rather than count someone as a user who may self-serve
	tn.FailNext("/roleManagement/directory/roleAssignments", http.StatusInternalServerError, "")
	if err := d.EachUser(ctx, nil, func(flows.Account) error { return nil }); err == nil {
		t.Fatal("a walk without the role assignments did not fail")
	}
}

// countingTransport counts the requests to Graph's API (not to the token endpoint).
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/v1.0/") {
		c.n.Add(1)
	}
	return c.next.RoundTrip(r)
}

// A look-up by mail with the pin of the chat identity searches and reads the pinned user with
// its privilege at the same time, in one batch: one request on the wire (Graph holds a search
// until a batch has arrived, which only a look-up that sends both at once survives). The
// answer is the one a plain look-up gives, the same requests go out for every kind of person
// (ordinary, privileged, disabled, gone), and a search that finds someone else reads that
// user's privilege.
func TestPinnedLookupSearchesAndReadsAtOnce(t *testing.T) {
	tn, _ := setup(t)
	// the requests the client puts on the wire (a batch is one; the token requests go elsewhere)
	var wire atomic.Int64
	d, err := graph.New(graph.Config{BaseURL: tn.GraphURL(), Transport: countingTransport{http.DefaultTransport, &wire},
		Credential: graph.NewClientCredential(tn.TokenURL(), tn.ClientID, tn.ClientSecret, nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var (
		mu      sync.Mutex
		batched chan struct{}
		alone   []string
	)
	hold := func(r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1.0/$batch":
			mu.Lock()
			select {
			case <-batched:
			default:
				close(batched)
			}
			mu.Unlock()
		case r.Method == http.MethodGet && r.URL.Path == "/v1.0/users" && r.URL.Query().Has("$filter"):
			select {
			case <-batched:
			case <-time.After(5 * time.Second):
				mu.Lock()
				alone = append(alone, r.URL.Query().Get("$filter"))
				mu.Unlock()
			}
		}
	}
	count := func() map[string]int {
		out := map[string]int{}
		for k, v := range tn.Calls() {
			if !strings.HasPrefix(k, "priority ") {
				out[k] = v
			}
		}
		return out
	}
	for _, who := range []struct{ mail, id string }{
		{"alice@contoso.test", "a11ce000-0000-4000-8000-000000000001"}, // ordinary
		{"carol@contoso.test", "ca401000-0000-4000-8000-000000000003"}, // privileged
		{"erin@contoso.test", "e4140000-0000-4000-8000-000000000005"},  // disabled
		{"gone@contoso.test", "90e00000-0000-4000-8000-000000000009"},  // pinned, then deleted
	} {
		plain, plainErr := d.Lookup(ctx, flows.Claim{Kind: flows.ClaimEmail, Value: who.mail})
		before := count()
		mu.Lock()
		batched, alone = make(chan struct{}), nil
		mu.Unlock()
		tn.Hold = hold
		wire.Store(0)
		got, err := d.Lookup(ctx, flows.Claim{Kind: flows.ClaimEmail, Value: who.mail, Pinned: who.id})
		tn.Hold = nil
		if n := wire.Load(); n != 1 {
			t.Errorf("%s: the pinned look-up made %d requests, want one batch", who.mail, n)
		}
		after := count()
		if !reflect.DeepEqual(got, plain) || fmt.Sprint(err) != fmt.Sprint(plainErr) {
			t.Errorf("%s: pinned look-up %+v %v, plain %+v %v", who.mail, got, err, plain, plainErr)
		}
		mu.Lock()
		if len(alone) > 0 {
			t.Errorf("%s: the search went alone, not with the batch: %v", who.mail, alone)
		}
		mu.Unlock()
		diff := map[string]int{}
		for k, v := range after {
			if v != before[k] {
				diff[k] = v - before[k]
			}
		}
		want := map[string]int{"GET /v1.0/users": 1, "POST /v1.0/$batch": 1, "GET /v1.0/users/{id}": 1,
			"GET /v1.0/users/{id}/transitiveMemberOf": 1, "GET /v1.0/roleManagement/directory/roleAssignments": 1,
			"GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances": 1}
		if !maps.Equal(diff, want) {
			t.Errorf("%s: calls %v, want %v", who.mail, diff, want)
		}
	}
	// pinned to Alice, but the address is Carol's: Carol's privilege is read, not assumed
	got, err := d.Lookup(ctx, flows.Claim{Kind: flows.ClaimEmail, Value: "carol@contoso.test", Pinned: "a11ce000-0000-4000-8000-000000000001"})
	if err != nil || got.ID != "ca401000-0000-4000-8000-000000000003" || !got.Privileged {
		t.Fatalf("mismatch: %+v %v", got, err)
	}
}
