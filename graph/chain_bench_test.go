package graph_test

import (
	"context"
	"io"
	"net/http"
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
