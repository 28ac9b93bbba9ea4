package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/graph/graphtest"
)

// `resetbot check` against a tenant whose app token lacks two application permissions lists
// both with the features that need them, with the other checks, and exits 2; serve refuses to
// start with the same problems; a fully set up tenant passes with exit 0.
func TestCheckCommandListsMissingPermissions(t *testing.T) {
	tenant := startTenant(t)
	tenant.Strict(t)
	env := opsEnv(t, tenant, true)
	getenv := func(k string) string { return env[k] }
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check"}, getenv, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("fully set up: %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"ok    configuration", "ok    redis", "ok    graph", "ok    oidc", "ok    smtp", "All checks passed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	tenant.AppPermissions = slices.DeleteFunc(graphtest.LeastPermissions(), func(p string) bool {
		return p == "User-PasswordProfile.ReadWrite.All" || p == "GroupMember.Read.All"
	})
	env["SMTP_ADDR"] = freeAddr(t) // and the relay is down
	out.Reset()
	if code := run(context.Background(), []string{"check"}, getenv, strings.NewReader(""), &out, &errb); code != 2 {
		t.Fatalf("missing permissions: %d\n%s", code, out.String())
	}
	report := out.String()
	for _, want := range []string{"FAIL  graph", "User-PasswordProfile.ReadWrite.All", "password resets",
		"GroupMember.Read.All", "policy groups, bot-admin groups and registration reminders", "FAIL  smtp", "2 of 5 checks failed"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Count(report, "application permission") != 2 {
		t.Errorf("not exactly two permissions reported:\n%s", report)
	}
	errb.Reset()
	if code := run(context.Background(), []string{"serve"}, getenv, strings.NewReader(""), &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "User-PasswordProfile.ReadWrite.All") || !strings.Contains(errb.String(), "GroupMember.Read.All") ||
		!strings.Contains(errb.String(), "- smtp: ") {
		t.Fatalf("serve: %d\n%s", code, errb.String())
	}
	// a broken configuration is reported as such, nothing else is tried
	env["MAC_KEY"] = ""
	out.Reset()
	if code := run(context.Background(), []string{"check"}, getenv, strings.NewReader(""), &out, &errb); code != 2 ||
		!strings.Contains(out.String(), "FAIL  configuration") || !strings.Contains(out.String(), "MAC_KEY") {
		t.Fatalf("bad configuration: %d\n%s", code, out.String())
	}
}
