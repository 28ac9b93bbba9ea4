package graphtest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/resetbot/resetbot/graph/graphtest"
)

func started(t *testing.T) (*graphtest.Tenant, []graphtest.User) {
	t.Helper()
	tn := graphtest.New()
	users := graphtest.DemoUsers(tn)
	if err := tn.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tn.Close)
	return tn, users
}

// browser is a cookie-keeping client that does not follow the redirect back to the app.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

const verifier = "0123456789abcdef0123456789abcdef0123456789abcdef"

func authParams(tn *graphtest.Tenant, extra url.Values) url.Values {
	sum := sha256.Sum256([]byte(verifier))
	v := url.Values{"client_id": {tn.ClientID}, "redirect_uri": {"https://bot.test/oidc/callback"}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"s"}, "nonce": {"n"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "prompt": {"login"}}
	for k, vs := range extra {
		v[k] = vs
	}
	return v
}

// idToken exchanges the code of a redirect for the ID token and returns its claims.
func idToken(t *testing.T, tn *graphtest.Tenant, resp *http.Response) map[string]any {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	res, err := http.PostForm(tn.TokenURL(), url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {tn.ClientID},
		"client_secret": {tn.ClientSecret}, "redirect_uri": {"https://bot.test/oidc/callback"}, "code_verifier": {verifier}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.IDToken == "" {
		t.Fatalf("token: %d %v", res.StatusCode, err)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(body.IDToken, claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func signIn(t *testing.T, tn *graphtest.Tenant, c *http.Client, u graphtest.User, extra url.Values) map[string]any {
	t.Helper()
	form := authParams(tn, extra)
	form.Set("username", u.UPN)
	form.Set("password", graphtest.DemoPassword)
	resp, err := c.PostForm(tn.URL()+"/"+tn.ID+"/oauth2/v2.0/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return idToken(t, tn, resp)
}

func keys(m map[string]any) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// Entra v2 ID tokens carry the default claims only; optional claims appear when the app
// registration adds them; amr never.
func TestIDTokenClaimsAreEntraV2Defaults(t *testing.T) {
	tn, users := started(t)
	alice := users[0]
	got := signIn(t, tn, browser(), alice, nil)
	if k := keys(got); k != "aio aud exp iat iss name nbf nonce oid preferred_username rh sid sub tid uti ver" {
		t.Fatalf("default claims: %s", k)
	}
	if got["ver"] != "2.0" || got["oid"] != alice.ID {
		t.Fatalf("claims: %v", got)
	}
	// without the profile scope there is no oid
	if got := signIn(t, tn, browser(), alice, url.Values{"scope": {"openid"}}); got["oid"] != nil {
		t.Fatalf("oid without profile scope: %v", got)
	}
	tn.OptionalClaims = []string{"auth_time", "acrs"}
	got = signIn(t, tn, browser(), alice, nil)
	if got["auth_time"] == nil || got["acrs"] != nil || got["amr"] != nil {
		t.Fatalf("with optional claims: %s", keys(got))
	}
}

// An authentication context protected by a policy that requires MFA is issued in acrs only to a
// user who completes MFA; one that no policy protects is issued to anybody (as documented).
func TestAuthenticationContextInACRS(t *testing.T) {
	tn, users := started(t)
	alice := users[0]
	tn.OptionalClaims, tn.MFAContexts = []string{"acrs"}, []string{"c1"}
	ask := func(ctx string) url.Values {
		return url.Values{"claims": {`{"id_token":{"acrs":{"essential":true,"value":"` + ctx + `"}}}`}}
	}
	if got := signIn(t, tn, browser(), alice, ask("c1")); got["acrs"] != nil {
		t.Fatalf("acrs without MFA: %v", got["acrs"])
	}
	if got := signIn(t, tn, browser(), alice, ask("c2")); got["acrs"] == nil {
		t.Fatal("an unprotected context was not issued")
	}
	alice.MFA, alice.Password = true, graphtest.DemoPassword
	tn.AddUser(alice)
	got := signIn(t, tn, browser(), alice, ask("c1"))
	if a, _ := got["acrs"].([]any); len(a) != 1 || a[0] != "c1" {
		t.Fatalf("acrs with MFA: %v", got["acrs"])
	}
	if got := signIn(t, tn, browser(), alice, nil); got["acrs"] != nil {
		t.Fatalf("acrs not requested: %v", got["acrs"])
	}
}

// Single sign-on answers without credentials unless prompt=login.
func TestSingleSignOnUnlessPromptLogin(t *testing.T) {
	tn, users := started(t)
	c := browser()
	signIn(t, tn, c, users[0], nil)
	get := func(prompt string) *http.Response {
		q := authParams(tn, url.Values{"prompt": {prompt}})
		resp, err := c.Get(tn.URL() + "/" + tn.ID + "/oauth2/v2.0/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(""); resp.StatusCode != http.StatusFound {
		t.Fatalf("single sign-on: %d", resp.StatusCode)
	}
	if resp := get("login"); resp.StatusCode != http.StatusOK {
		t.Fatalf("prompt=login: %d", resp.StatusCode)
	}
}

// A JSON batch is answered request by request as each would be on its own (its own operation,
// query and permission checks, each counted), at most 20 requests with unique ids.
func TestBatch(t *testing.T) {
	tn, users := started(t)
	tok := appToken(t, tn)
	post := func(reqs []map[string]string) (int, map[string]int) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"requests": reqs})
		req, _ := http.NewRequest(http.MethodPost, tn.GraphURL()+"/$batch", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out struct {
			Responses []struct {
				ID     string `json:"id"`
				Status int    `json:"status"`
			} `json:"responses"`
		}
		_ = json.NewDecoder(res.Body).Decode(&out)
		got := map[string]int{}
		for _, r := range out.Responses {
			got[r.ID] = r.Status
		}
		return res.StatusCode, got
	}
	code, got := post([]map[string]string{
		{"id": "1", "method": "GET", "url": "/users/" + users[0].ID + "?$select=id,displayName"},
		{"id": "2", "method": "GET", "url": "/users/00000000-0000-0000-0000-000000000000"},
		{"id": "3", "method": "GET", "url": "/users/" + users[0].ID + "/drive"},
	})
	if code != http.StatusOK || got["1"] != 200 || got["2"] != 404 || got["3"] != 400 {
		t.Fatalf("batch: %d %v", code, got)
	}
	if n := tn.Calls()["GET /v1.0/users/{id}"]; n != 2 {
		t.Fatalf("the batched reads were counted %d times, want 2", n)
	}
	if len(tn.Outside()) != 1 {
		t.Fatalf("the request outside the extract was not recorded: %v", tn.Outside())
	}
	var many []map[string]string
	for i := range 21 {
		many = append(many, map[string]string{"id": strconv.Itoa(i), "method": "GET", "url": "/users/" + users[0].ID})
	}
	if code, _ := post(many); code != http.StatusBadRequest {
		t.Fatalf("21 requests in a batch: %d", code)
	}
	if code, _ := post(many[:20]); code != http.StatusOK {
		t.Fatalf("20 requests in a batch: %d", code)
	}
	if code, _ := post([]map[string]string{many[0], many[0]}); code != http.StatusBadRequest {
		t.Fatalf("two requests with one id: %d", code)
	}
	tok = "not-a-token"
	if _, got := post(many[:1]); got["0"] != http.StatusUnauthorized {
		t.Fatalf("a batch without a valid token: %v", got)
	}
}

// An injected failure answers with the code Graph gives its status (concepts/throttling.md for
// a 429, concepts/errors.md for the others), with its Retry-After.
func TestInjectedFailuresCarryGraphsCodes(t *testing.T) {
	tn, users := started(t)
	tok := appToken(t, tn)
	for status, want := range map[int]string{http.StatusTooManyRequests: "TooManyRequests",
		http.StatusServiceUnavailable: "serviceNotAvailable", http.StatusGatewayTimeout: "serviceNotAvailable",
		http.StatusInternalServerError: "generalException"} {
		tn.FailNext("/users/", status, "3")
		req, _ := http.NewRequest(http.MethodGet, tn.GraphURL()+"/users/"+users[0].ID, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != status || body.Error.Code != want || res.Header.Get("Retry-After") != "3" {
			t.Fatalf("injected %d: %d %q Retry-After %q, want %q", status, res.StatusCode, body.Error.Code, res.Header.Get("Retry-After"), want)
		}
	}
}
