package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Check is one named start-up check: it proves that something the configuration names is
// there and answers. A check that finds several problems returns them with errors.Join; each
// is listed on its own. Serve and `resetbot check` run the same list.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// StartupError lists everything the start-up checks found, one problem per line.
type StartupError struct{ Problems []error }

func (e *StartupError) Error() string { return errors.Join(e.Problems...).Error() }

// Result is what one check found.
type Result struct {
	Name     string
	Problems []error
}

// CheckResults runs every check at once, within 20 seconds, and returns what each found, in
// the checks' order.
func CheckResults(ctx context.Context, checks []Check) []Result {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out := make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		out[i].Name = c.Name
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].Problems = split(c.Run(ctx))
		}()
	}
	wg.Wait()
	return out
}

// split lists the problems of a joined error one by one.
func split(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// RunChecks runs every check at once and reports all the failures together, each named by its
// check (sorted, so the list reads the same every time).
func RunChecks(ctx context.Context, checks []Check) error {
	var problems []error
	for _, r := range CheckResults(ctx, checks) {
		for _, p := range r.Problems {
			problems = append(problems, fmt.Errorf("%s: %w", r.Name, p))
		}
	}
	if len(problems) > 0 {
		sort.Slice(problems, func(i, j int) bool { return problems[i].Error() < problems[j].Error() })
		return &StartupError{problems}
	}
	return nil
}

// Report writes one line per check (ok, or FAIL with its problems indented below) and a
// summary; it returns whether every check passed.
func Report(w io.Writer, results []Result) bool {
	failed := 0
	for _, r := range results {
		if len(r.Problems) == 0 {
			fmt.Fprintf(w, "ok    %s\n", r.Name)
			continue
		}
		failed++
		fmt.Fprintf(w, "FAIL  %s\n", r.Name)
		for _, p := range r.Problems {
			fmt.Fprintf(w, "      - %v\n", p)
		}
	}
	if failed == 0 {
		fmt.Fprintf(w, "\nAll checks passed (%d).\n", len(results))
		return true
	}
	fmt.Fprintf(w, "\n%d of %d checks failed.\n", failed, len(results))
	return false
}
