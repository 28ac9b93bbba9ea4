package graph

import (
	"net/http"

	khttp "github.com/microsoft/kiota-http-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// The plain requests (batch.go: the look-up batch, the password PATCH, the sign-out, the
// search, the roster's listings) make most of the bot's Graph requests, and went through the
// SDK's whole middleware chain at about a fifth of their CPU and allocations: each handler
// looks its options and the tracing options up in the request's context (an allocation each),
// the telemetry handler canonicalises its header names per request, the user-agent handler
// formats its value per request, the URL-replace handler walks its map. For them:
//
//   - the retry handler stays, the SDK's own with its options: 429, 503 and 504 retried as
//     Graph's throttling guidance says (Retry-After honoured, else exponential back-off), the
//     body rewound, Retry-Attempt sent;
//   - the headers the telemetry and user-agent handlers write (SdkVersion, User-Agent, a new
//     client-request-id GUID per request) are set by the request itself, the first two with
//     the values those handlers write, read from them once (sdkWireHeaders), so the wire is the
//     same;
//   - the URL-replace handler (it turns the SDK's /users/me-token-to-replace into /me, which an
//     app-only client never asks for), the parameter-name decoding (the SDK's URL templates
//     encode $select as %24select; a plain request writes $select itself), the headers
//     inspection (it copies headers only for a request that asks with an option, none does)
//     and the redirect handler (none of these endpoints redirects; the SDK's client refuses
//     redirects too) have nothing to do for them and are left out.
//
// The SDK's own requests keep the whole chain (Middleware).

// plainChain is the plain requests' transport: the SDK's retry handler over parent.
func plainChain(parent http.RoundTripper) http.RoundTripper {
	return khttp.NewCustomTransportWithParentTransport(priority{parent}, khttp.NewRetryHandler())
}

// wireHeaders are header values the SDK's middleware writes on every request.
type wireHeaders struct {
	sdkVersion string // SdkVersion: the SDK's name, version, OS, architecture and Go version
	userAgent  string // User-Agent: kiota-go/version
}

// sdkWireHeaders runs the SDK's telemetry and user-agent handlers once over a request that
// goes nowhere and keeps the values they write.
func sdkWireHeaders() wireHeaders {
	opts := clientOptions()
	var got http.Header
	t := khttp.NewCustomTransportWithParentTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Header
		return &http.Response{StatusCode: http.StatusNoContent, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	}), msgraphcore.NewGraphTelemetryHandler(&opts), khttp.NewUserAgentHandler())
	req, _ := http.NewRequest(http.MethodGet, DefaultBaseURL+"/", http.NoBody)
	if resp, err := t.RoundTrip(req); err == nil {
		resp.Body.Close()
	}
	return wireHeaders{sdkVersion: got.Get("SdkVersion"), userAgent: got.Get("User-Agent")}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// bearer is a token and its Authorization header value.
type bearer struct{ token, header string }

// authorization is the Authorization header for token: the credential answers the same token
// (the same string) until it renews it, so the header is made once per token, not per request
// (the token is still asked of the credential, and checked, every time).
func (d *Directory) authorization(token string) string {
	if b := d.bearer.Load(); b != nil && b.token == token {
		return b.header
	}
	b := &bearer{token: token, header: "Bearer " + token}
	d.bearer.Store(b)
	return b.header
}
