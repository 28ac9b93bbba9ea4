package flows_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

var errPolicyDown = errors.New("policy store down")

type downPolicies struct{ flows.PolicyStore }

func (downPolicies) GetPolicy(context.Context) (flows.Policy, int64, error) {
	return flows.Policy{}, 0, errPolicyDown
}

// When the policy cannot be read, what depends on it fails with that error instead of going on
// under the default policy; what only needs a helpdesk link for a notice falls back, and says so
// in the log.
func TestPolicyReadErrorIsNeverSilent(t *testing.T) {
	h := storetest.New(t)
	h.Deps.Policies = downPolicies{h.Store}
	h.Rebuild()
	ctx := context.Background()
	if err := h.Engine.ResetPassword(ctx, "not-a-token", "Sunny-Meadow-42", "Sunny-Meadow-42"); !errors.Is(err, errPolicyDown) {
		t.Errorf("ResetPassword: %v", err)
	}
	if _, _, err := h.Engine.IssueTemporary(ctx, "not-a-token"); !errors.Is(err, errPolicyDown) {
		t.Errorf("IssueTemporary: %v", err)
	}
	if _, err := h.Engine.OpenReset(ctx, "not-a-token"); err == nil {
		t.Error("OpenReset succeeded")
	}
	if _, err := h.Engine.MethodViews(ctx, "en", "u1"); !errors.Is(err, errPolicyDown) {
		t.Errorf("MethodViews: %v", err)
	}
	h.Engine.PlatformRefusal(ctx, storetest.Chat("guest"), "guest")
	if !strings.Contains(h.LogText(), "policy unavailable: the default policy is used") {
		t.Errorf("the fallback was silent:\n%s", h.LogText())
	}
}
