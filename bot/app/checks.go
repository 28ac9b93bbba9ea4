package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Check is one named start-up check: it proves that something the configuration names is
// there and answers.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// StartupError lists everything the start-up checks found, one problem per failed check.
type StartupError struct{ Problems []error }

func (e *StartupError) Error() string { return errors.Join(e.Problems...).Error() }

// RunChecks runs every check at once, within 20 seconds, and reports all the failures together
// (sorted by name, so the list reads the same every time). A check that finds several problems
// returns them joined (errors.Join); each is listed on its own.
func RunChecks(ctx context.Context, checks []Check) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var (
		mu       sync.Mutex
		problems []error
		wg       sync.WaitGroup
	)
	for _, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Run(ctx)
			if err == nil {
				return
			}
			each := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				each = j.Unwrap()
			}
			mu.Lock()
			for _, e := range each {
				problems = append(problems, fmt.Errorf("%s: %w", c.Name, e))
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(problems) > 0 {
		sort.Slice(problems, func(i, j int) bool { return problems[i].Error() < problems[j].Error() })
		return &StartupError{problems}
	}
	return nil
}
