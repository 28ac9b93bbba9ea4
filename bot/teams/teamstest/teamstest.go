// Package teamstest is a fake Bot Framework for tests: signing keys with endorsements behind an
// OpenID metadata document, a client-credentials token endpoint, and a Bot Connector that
// records the bot's activities and fails on demand. It follows the Bot Framework's
// authentication page (https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication):
// the metadata names the signing algorithms (RS256) and the key set's endorsements; the token
// endpoint answers as the Microsoft identity platform's client-credentials flow does
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#error-response:
// 400 unsupported_grant_type or invalid_scope, 401 invalid_client); the connector takes only the
// bearer token that endpoint issued (401 otherwise).
package teamstest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/resetbot/resetbot/bot/teams"
)

// BotFramework is a fake of the Bot Framework's signing keys and token service, and of the Bot
// Connector that receives the bot's replies.
type BotFramework struct {
	srv       *httptest.Server
	mu        sync.Mutex
	keys      map[string]*rsa.PrivateKey
	endorse   map[string][]string
	posts     []Posted
	fail      []int // statuses for the next connector calls
	tokenHits int
}

// Posted is one activity the bot sent to the connector.
type Posted struct {
	Conversation string
	Auth         string
	Activity     map[string]any
}

func Start(t testing.TB, appID string) *BotFramework {
	f := &BotFramework{keys: map[string]*rsa.PrivateKey{}, endorse: map[string][]string{}}
	f.AddKey(t, "k1", "msteams", "webchat")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openid", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": teams.BotFrameworkIssuer, "jwks_uri": f.srv.URL + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"}, "token_endpoint_auth_methods_supported": []string{"private_key_jwt"}})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var ks []map[string]any
		for kid, k := range f.keys {
			ks = append(ks, map[string]any{"kty": "RSA", "use": "sig", "kid": kid, "n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()), "endorsements": f.endorse[kid]})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": ks})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		oauthError := func(status int, code, desc string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc})
		}
		switch {
		case r.PostForm.Get("grant_type") != "client_credentials":
			oauthError(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
			return
		case r.PostForm.Get("scope") != "https://api.botframework.com/.default":
			oauthError(http.StatusBadRequest, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid.")
			return
		case r.PostForm.Get("client_id") != appID || r.PostForm.Get("client_secret") != "bot-secret":
			oauthError(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
			return
		}
		f.mu.Lock()
		f.tokenHits++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "outbound-token", "token_type": "Bearer", "expires_in": 3600})
	})
	mux.HandleFunc("POST /v3/conversations/{id}/activities", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer outbound-token" {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{"message": "Authorization has been denied for this request."})
			return
		}
		var act map[string]any
		_ = json.NewDecoder(r.Body).Decode(&act)
		f.mu.Lock()
		if len(f.fail) > 0 {
			code := f.fail[0]
			f.fail = f.fail[1:]
			f.mu.Unlock()
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(code)
			return
		}
		f.posts = append(f.posts, Posted{Conversation: r.PathValue("id"), Auth: r.Header.Get("Authorization"), Activity: act})
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "reply-1"})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *BotFramework) AddKey(t testing.TB, kid string, endorsements ...string) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.keys[kid], f.endorse[kid] = k, endorsements
	f.mu.Unlock()
}

func (f *BotFramework) Posts() []Posted {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Posted(nil), f.posts...)
}

// Token signs claims with key kid (signer may differ to forge a bad signature).
func (f *BotFramework) Token(t testing.TB, kid string, signer *rsa.PrivateKey, claims jwt.MapClaims) string {
	return f.TokenWith(t, jwt.SigningMethodRS256, kid, signer, claims)
}

// TokenWith signs with another algorithm than the RS256 the metadata names.
func (f *BotFramework) TokenWith(t testing.TB, alg jwt.SigningMethod, kid string, signer *rsa.PrivateKey, claims jwt.MapClaims) string {
	tok := jwt.NewWithClaims(alg, claims)
	tok.Header["kid"] = kid
	if signer == nil {
		f.mu.Lock()
		signer = f.keys[kid]
		f.mu.Unlock()
	}
	s, err := tok.SignedString(signer)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// URL is the fake's base URL: /openid, /keys, /token and the connector's /v3/….
func (f *BotFramework) URL() string { return f.srv.URL }

// Fail makes the next connector calls answer these statuses (with Retry-After: 3).
func (f *BotFramework) Fail(codes ...int) {
	f.mu.Lock()
	f.fail = append(f.fail, codes...)
	f.mu.Unlock()
}
