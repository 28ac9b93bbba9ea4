package check_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/check"
)

func TestRunReportsEveryProblemOfEveryCheck(t *testing.T) {
	checks := []check.Check{
		check.One("redis", func(context.Context) error { return nil }),
		{Name: "graph permissions", Run: func(context.Context) []error {
			return []error{errors.New("Mail.Send missing"), errors.New("User.Read.All missing")}
		}},
		check.One("smtp", func(context.Context) error { return errors.New("no relay") }),
	}
	res := check.Run(context.Background(), checks)
	var b strings.Builder
	if check.Report(&b, res) {
		t.Fatal("reported success")
	}
	out := b.String()
	for _, want := range []string{"ok    redis", "FAIL  graph permissions", "- Mail.Send missing", "- User.Read.All missing", "FAIL  smtp", "2 of 3 checks failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if n := len(check.Problems(res)); n != 3 {
		t.Fatalf("%d problems", n)
	}
	b.Reset()
	if !check.Report(&b, res[:1]) || !strings.Contains(b.String(), "All checks passed (1)") {
		t.Fatalf("all ok: %s", b.String())
	}
}
