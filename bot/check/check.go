package check

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// Check is one named check: Run returns every problem it finds, or none. Checks run in
// parallel, so each must stand alone; add one to the list to extend serve's start-up checks
// and `resetbot check` together.
type Check struct {
	Name string
	Run  func(ctx context.Context) []error
}

// One adapts a check that finds at most one problem.
func One(name string, f func(ctx context.Context) error) Check {
	return Check{Name: name, Run: func(ctx context.Context) []error {
		if err := f(ctx); err != nil {
			return []error{err}
		}
		return nil
	}}
}

// Result is what one check found.
type Result struct {
	Name     string
	Problems []error
}

// Run runs every check at once and returns their results in the checks' order.
func Run(ctx context.Context, checks []Check) []Result {
	out := make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		out[i].Name = c.Name
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].Problems = c.Run(ctx)
		}()
	}
	wg.Wait()
	return out
}

// Problems flattens the results into one list, each problem prefixed with its check's name.
func Problems(results []Result) []error {
	var out []error
	for _, r := range results {
		for _, p := range r.Problems {
			out = append(out, fmt.Errorf("%s: %w", r.Name, p))
		}
	}
	return out
}

// Report writes one line per check (ok, or its problems indented below it) and a summary; it
// returns whether every check passed.
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
