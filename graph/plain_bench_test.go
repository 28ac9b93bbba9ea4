package graph_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph"
)

// staticToken is a credential whose token never expires (the benchmark measures the request,
// not the token endpoint).
type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// answer is a transport that answers every request 204 at once, after reading its body: what
// is measured is the bot's side of a Graph request (building it, the middleware) without the
// network and a server.
type answer struct{}

func (answer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	return &http.Response{StatusCode: http.StatusNoContent, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

// BenchmarkPlainRequest is the bot's CPU and allocations for a plain Graph request (the
// password PATCH and the sign-out of a recovery) through the client's middleware.
func BenchmarkPlainRequest(b *testing.B) {
	d, err := graph.New(graph.Config{BaseURL: "https://graph.microsoft.com/v1.0", Credential: staticToken{}, Transport: answer{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := flows.WithUserWaiting(context.Background())
	id := "a11ce000-0000-4000-8000-000000000001"
	b.Run("revoke", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := d.RevokeSessions(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("setpassword", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := d.SetPassword(ctx, id, "Granite-Orchid-Lantern-8", false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// batchAnswer answers a look-up's JSON batch as Graph does for an ordinary user found by the
// search, the pinned one.
type batchAnswer struct{}

const pinnedBatchAnswer = `{"responses":[` +
	`{"id":"find","status":200,"headers":{"Content-Type":"application/json"},"body":{"value":[{"id":"a11ce000-0000-4000-8000-000000000001","displayName":"Alice","mail":"alice@contoso.test","userPrincipalName":"alice@contoso.test","accountEnabled":true,"onPremisesSyncEnabled":false,"onPremisesSecurityIdentifier":null,"preferredLanguage":"en"}]}},` +
	`{"id":"user","status":200,"headers":{"Content-Type":"application/json"},"body":{"id":"a11ce000-0000-4000-8000-000000000001","displayName":"Alice","mail":"alice@contoso.test","userPrincipalName":"alice@contoso.test","accountEnabled":true,"onPremisesSyncEnabled":false,"onPremisesSecurityIdentifier":null,"preferredLanguage":"en"}},` +
	`{"id":"eligibility","status":200,"headers":{"Content-Type":"application/json"},"body":{"value":[]}},` +
	`{"id":"assignments","status":200,"headers":{"Content-Type":"application/json"},"body":{"value":[]}},` +
	`{"id":"memberships","status":200,"headers":{"Content-Type":"application/json"},"body":{"value":[{"@odata.type":"#microsoft.graph.group","id":"g1","isAssignableToRole":false}]}}]}`

func (batchAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		ContentLength: int64(len(pinnedBatchAnswer)), Body: io.NopCloser(strings.NewReader(pinnedBatchAnswer)), Request: r}, nil
}

// BenchmarkPinnedLookup is the bot's CPU and allocations for a chat step's look-up (one JSON
// batch of the search and the pinned user's reads), without the network and a server.
func BenchmarkPinnedLookup(b *testing.B) {
	d, err := graph.New(graph.Config{BaseURL: "https://graph.microsoft.com/v1.0", Credential: staticToken{}, Transport: batchAnswer{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := flows.WithUserWaiting(context.Background())
	c := flows.Claim{Kind: flows.ClaimEmail, Value: "alice@contoso.test", Pinned: "a11ce000-0000-4000-8000-000000000001"}
	b.ReportAllocs()
	for b.Loop() {
		if a, err := d.Lookup(ctx, c); err != nil || a.ID != c.Pinned {
			b.Fatal(a, err)
		}
	}
}
