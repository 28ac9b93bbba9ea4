//go:build race

package store_test

// raceAllocs is what the race detector adds to the allocation counts the tests bound.
const raceAllocs = 2
