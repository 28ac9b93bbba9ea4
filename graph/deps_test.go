package graph_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Only graph and main may import the Graph SDK: it takes minutes and gigabytes to compile, and
// every other package must build fast.
func TestOnlyGraphAndMainImportTheSDK(t *testing.T) {
	pkgs, err := exec.Command("go", "list", "github.com/resetbot/resetbot/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"github.com/resetbot/resetbot": true, "github.com/resetbot/resetbot/graph": true}
	checked := 0
	for _, p := range strings.Fields(string(pkgs)) {
		deps, err := exec.Command("go", "list", "-deps", p).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", p, err)
		}
		checked++
		if strings.Contains(string(deps), "github.com/microsoftgraph/msgraph-sdk-go") && !allowed[p] {
			t.Errorf("%s depends on msgraph-sdk-go", p)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked", checked)
	}
}
