package graph

import (
	"context"
	"net/http"
	"testing"
)

// BenchmarkReadPinnedAnswer is the bot's CPU and allocations for reading a pinned look-up's
// batch answer (the one BenchmarkPinnedLookup's transport sends): the batch's answers, the
// search, the user, the memberships and the two privilege checks, without the request.
func BenchmarkReadPinnedAnswer(b *testing.B) {
	const raw = `{"responses":[` +
		`{"id":"find","status":200,"headers":{"Content-Type":"application/json"},"body":{"value":[{"id":"a11ce000-0000-4000-8000-000000000001","displayName":"Alice","mail":"alice@contoso.test","userPrincipalName":"alice@contoso.test","accountEnabled":true,"onPremisesSyncEnabled":false,"onPremisesSecurityIdentifier":null,"preferredLanguage":"en"}]}},` +
		`{"id":"user","status":200,"headers":{"Content-Type":"application/json"},"body":{"id":"a11ce000-0000-4000-8000-000000000001","displayName":"Alice","mail":"alice@contoso.test","userPrincipalName":"alice@contoso.test","accountEnabled":true,"onPremisesSyncEnabled":false,"onPremisesSecurityIdentifier":null,"preferredLanguage":"en"}},` +
		`{"id":"eligibility","status":200,"headers":{"Content-Type":"application/json"},"body":{"value":[]}},` +
		`{"id":"assignments","status":200,"headers":{"Content-Type":"application/json"},"body":{"value":[]}},` +
		`{"id":"memberships","status":200,"headers":{"Content-Type":"application/json"},"body":{"value":[{"@odata.type":"#microsoft.graph.group","id":"g1","isAssignableToRole":false}]}}]}`
	const id = "a11ce000-0000-4000-8000-000000000001"
	reqs := append(lookupRequests(id, true, 1), batchReq{ID: bFind, Method: http.MethodGet})
	d := &Directory{}
	ctx := context.Background()
	data := []byte(raw)
	b.ReportAllocs()
	for b.Loop() {
		got := make(map[string]batchResp, len(reqs))
		if err := scanBatch(data, reqs, got); err != nil {
			b.Fatal(err)
		}
		found, err := d.foundIn(ctx, "alice@contoso.test", got[bFind])
		if err != nil || found.ID != id {
			b.Fatal(found, err)
		}
		a, err := d.accountFrom(ctx, id, got)
		if err != nil || a.ID != id || len(a.Groups) != 1 || a.Privileged {
			b.Fatal(a, err)
		}
	}
}
