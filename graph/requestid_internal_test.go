package graph

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/resetbot/resetbot/internal/allocs"
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
	if n := allocs.Min(100, func() { _ = requestID() }); n > 1 {
		t.Fatalf("%v allocations per id", n)
	}
}

// The look-up's requests are those the URLs built one by one made (oldLookupRequests), for ids
// that need escaping in the path, in the query or both, with their URLs in one allocation.
func TestLookupRequestsURLs(t *testing.T) {
	for _, id := range []string{"0a000000-0000-4000-8000-000000000001", "o'brien", "a b/c?d&e#f", "日本", "100%", "", "''"} {
		for _, withUser := range []bool{false, true} {
			got, want := lookupRequests(id, withUser, 1), oldLookupRequests(id, withUser, 1)
			if !slices.Equal(got, want) || cap(got) != cap(want) {
				t.Fatalf("%q %v:\n %+v\n want %+v", id, withUser, got, want)
			}
		}
	}
	if n := allocs.Min(100, func() { _ = lookupRequests("0a000000-0000-4000-8000-000000000001", true, 0) }); n > 2 {
		t.Fatalf("%v allocations for the look-up's requests", n)
	}
}

// oldLookupRequests is lookupRequests as it was, each URL concatenated on its own.
func oldLookupRequests(id string, withUser bool, extra int) []batchReq {
	p := url.PathEscape(id)
	principal := "principalId%20eq%20%27" + queryValue(strings.ReplaceAll(id, "'", "''")) + "%27"
	rs := make([]batchReq, 3, 4+extra)
	rs[0] = batchReq{ID: bMembers, Method: http.MethodGet, URL: "/users/" + p + "/transitiveMemberOf?$select=id,isAssignableToRole"}
	rs[1] = batchReq{ID: bAssigned, Method: http.MethodGet, URL: "/roleManagement/directory/roleAssignments?$filter=" + principal + "&$select=id"}
	rs[2] = batchReq{ID: bEligible, Method: http.MethodGet, URL: "/roleManagement/directory/roleEligibilityScheduleInstances?$filter=" + principal + "&$select=id"}
	if withUser {
		rs = append(rs, batchReq{ID: bUser, Method: http.MethodGet, URL: "/users/" + p + "?$select=" + userSelect})
	}
	return rs
}
