package graph

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ClientCredential gets app-only tokens with the OAuth 2.0 client credentials grant from a
// token endpoint (Entra's, or graphtest's), caching them until shortly before expiry.
type ClientCredential struct {
	cfg  clientcredentials.Config
	hc   *http.Client
	mu   sync.Mutex
	srcs map[string]oauth2.TokenSource
}

var _ azcore.TokenCredential = (*ClientCredential)(nil)

// NewClientCredential builds a credential; hc may be nil.
func NewClientCredential(tokenURL, clientID, secret string, hc *http.Client) *ClientCredential {
	return &ClientCredential{cfg: clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: tokenURL,
		AuthStyle: oauth2.AuthStyleInParams}, hc: hc, srcs: map[string]oauth2.TokenSource{}}
}

// GetToken implements azcore.TokenCredential.
func (c *ClientCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	key := strings.Join(o.Scopes, " ") // scopes hold no spaces (RFC 6749, 3.3); one scope: no new string
	c.mu.Lock()
	src, ok := c.srcs[key]
	if !ok {
		cfg := c.cfg
		cfg.Scopes = o.Scopes
		bg := context.Background()
		if c.hc != nil {
			bg = context.WithValue(bg, oauth2.HTTPClient, c.hc)
		}
		src = oauth2.ReuseTokenSource(nil, cfg.TokenSource(bg))
		c.srcs[key] = src
	}
	c.mu.Unlock()
	t, err := src.Token()
	if err != nil {
		return azcore.AccessToken{}, apiErr("token", err)
	}
	return azcore.AccessToken{Token: t.AccessToken, ExpiresOn: t.Expiry}, nil
}
