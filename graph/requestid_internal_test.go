package graph

import (
	"testing"

	"github.com/google/uuid"
)

// A request's client-request-id is a random version 4 UUID as uuid.NewString writes it, a new
// one each time, for one allocation (uuid.NewString costs two).
func TestRequestIDIsAVersion4UUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := requestID()
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || u.String() != id || seen[id] {
			t.Fatalf("%q: %v version %d variant %v repeated %v", id, err, u.Version(), u.Variant(), seen[id])
		}
		seen[id] = true
	}
	if n := testing.AllocsPerRun(100, func() { _ = requestID() }); n > 1 {
		t.Fatalf("%v allocations per id", n)
	}
}
