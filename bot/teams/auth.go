package teams

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/resetbot/resetbot/flows"
)

// BotFrameworkIssuer is the only issuer accepted for channel activities.
const BotFrameworkIssuer = "https://api.botframework.com"

// DefaultOpenIDMetadata is the Bot Framework's OpenID metadata document.
const DefaultOpenIDMetadata = "https://login.botframework.com/v1/.well-known/openidconfiguration"

// Leeway is the clock skew allowed on token times.
const Leeway = 5 * time.Minute

// signingKey is one key of the Bot Framework's key set with the channels that endorse it.
type signingKey struct {
	pub          *rsa.PublicKey
	endorsements []string
}

// Keys fetches and caches the Bot Framework signing keys, refreshing on an unknown key id (at
// most once a minute) and every day.
type Keys struct {
	Metadata string
	HTTP     *http.Client
	Clock    flows.Clock

	mu      sync.Mutex
	keys    map[string]signingKey
	algs    []string // id_token_signing_alg_values_supported of the metadata
	fetched time.Time
	tried   time.Time
}

// methods returns the signing algorithms the metadata allows (RS256 when it names none).
func (k *Keys) methods() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.algs) == 0 {
		return []string{"RS256"}
	}
	return append([]string(nil), k.algs...)
}

var errUnknownKey = errors.New("unknown signing key")

func (k *Keys) get(ctx context.Context, kid string) (signingKey, error) {
	now := k.Clock.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[kid]
	stale := now.Sub(k.fetched) > 24*time.Hour
	if ok && !stale {
		return key, nil
	}
	if !ok && !stale && k.keys != nil {
		// an unknown key id refreshes the set, at most once a minute (random ids cannot
		// make the bot hammer the key endpoint)
		if now.Sub(k.tried) < time.Minute {
			return signingKey{}, errUnknownKey
		}
		k.tried = now
	}
	if err := k.refresh(ctx); err != nil {
		if ok {
			return key, nil
		}
		return signingKey{}, err
	}
	k.fetched = now
	if key, ok = k.keys[kid]; !ok {
		return signingKey{}, errUnknownKey
	}
	return key, nil
}

func (k *Keys) getJSON(ctx context.Context, url string, v any) error {
	hc := k.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("teams: %s: HTTP %d", url, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

func (k *Keys) refresh(ctx context.Context) error {
	var meta struct {
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := k.getJSON(ctx, k.Metadata, &meta); err != nil || meta.JWKSURI == "" {
		return fmt.Errorf("teams: openid metadata: %v", err)
	}
	var set struct {
		Keys []struct {
			Kid          string   `json:"kid"`
			Kty          string   `json:"kty"`
			N            string   `json:"n"`
			E            string   `json:"e"`
			Endorsements []string `json:"endorsements"`
		} `json:"keys"`
	}
	if err := k.getJSON(ctx, meta.JWKSURI, &set); err != nil {
		return fmt.Errorf("teams: keys: %w", err)
	}
	keys := map[string]signingKey{}
	for _, j := range set.Keys {
		if j.Kty != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(j.N)
		e, err2 := base64.RawURLEncoding.DecodeString(j.E)
		if err1 != nil || err2 != nil || len(e) > 4 {
			continue
		}
		keys[j.Kid] = signingKey{pub: &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())},
			endorsements: j.Endorsements}
	}
	k.keys = keys
	k.algs = nil
	for _, a := range meta.Algs {
		if a == "RS256" || a == "RS384" || a == "RS512" { // RSA keys only: the key set holds nothing else
			k.algs = append(k.algs, a)
		}
	}
	return nil
}

// Claims of a Bot Framework token that the adapter checks.
type Claims struct {
	ServiceURL string `json:"serviceurl"`
	jwt.RegisteredClaims
}

// AuthError is a refused request: Status is 403, as the Bot Framework's authentication page
// asks of a bot for every token that fails a requirement (including a missing one and a key
// not endorsed for the channel):
// https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication#connector-to-bot
type AuthError struct {
	Status int
	Reason string
}

func (e *AuthError) Error() string { return "teams: " + e.Reason }

// Validate checks a channel activity's bearer token as the Bot Framework's authentication page
// lists it: the Bearer scheme, the issuer, the audience (the bot's app id), expiry with 5
// minutes of clock skew, a signature by a key of the OpenID key set with an algorithm the
// metadata's id_token_signing_alg_values_supported names, the key endorsed for msteams, and
// the serviceurl claim equal to the activity's serviceUrl. Every failure is a 403.
func Validate(ctx context.Context, keys *Keys, header, appID, serviceURL string) (*Claims, error) {
	raw, ok := cutBearer(header)
	if !ok {
		return nil, &AuthError{http.StatusForbidden, "missing bearer token"}
	}
	var key signingKey
	claims := &Claims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, err := keys.get(ctx, kid)
		if err != nil {
			return nil, err
		}
		key = k
		if alg, _ := t.Header["alg"].(string); !slices.Contains(keys.methods(), alg) {
			return nil, fmt.Errorf("signing algorithm %q is not one the metadata names", alg)
		}
		return k.pub, nil
	}, jwt.WithValidMethods([]string{"RS256", "RS384", "RS512"}), jwt.WithIssuer(BotFrameworkIssuer),
		jwt.WithAudience(appID), jwt.WithLeeway(Leeway), jwt.WithExpirationRequired(), jwt.WithTimeFunc(keys.Clock.Now))
	if err != nil {
		return nil, &AuthError{http.StatusForbidden, "invalid token: " + err.Error()}
	}
	endorsed := false
	for _, e := range key.endorsements {
		endorsed = endorsed || e == "msteams"
	}
	if !endorsed {
		return nil, &AuthError{http.StatusForbidden, "signing key not endorsed for msteams"}
	}
	if claims.ServiceURL == "" || claims.ServiceURL != serviceURL {
		return nil, &AuthError{http.StatusForbidden, "serviceurl claim does not match the activity"}
	}
	return claims, nil
}

func cutBearer(h string) (string, bool) {
	const p = "Bearer "
	if len(h) <= len(p) || h[:len(p)] != p {
		return "", false
	}
	return h[len(p):], true
}
