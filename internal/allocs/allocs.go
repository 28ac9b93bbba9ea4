// Package allocs measures a function's allocations for tests that bound them.
package allocs

import "testing"

// attempts is how many times Min measures.
const attempts = 5

// Min is the fewest allocations per call of f over a few measurements of runs calls each
// (testing.AllocsPerRun's average). AllocsPerRun counts the whole process's allocations, so a
// goroutine of an earlier test still at work (a client's pool, a server) can add to one
// measurement; an allocation of f's own is in every one of them, so the fewest is f's.
func Min(runs int, f func()) float64 {
	least := testing.AllocsPerRun(runs, f)
	for i := 1; i < attempts && least > 0; i++ {
		if n := testing.AllocsPerRun(runs, f); n < least {
			least = n
		}
	}
	return least
}
