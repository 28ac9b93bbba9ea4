package allocs

import "testing"

var sink []byte

// An allocation of the function's own is counted in every measurement, so Min sees it; a
// function that allocates nothing measures zero.
func TestMin(t *testing.T) {
	if n := Min(100, func() { sink = make([]byte, 64) }); n != 1 {
		t.Fatalf("one allocation per call measured as %v", n)
	}
	if n := Min(100, func() {}); n != 0 {
		t.Fatalf("no allocation measured as %v", n)
	}
}
