package graphtest

import (
	"compress/gzip"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// User is one directory user of the fake tenant.
type User struct {
	ID          string
	UPN         string
	Mail        string
	DisplayName string
	Password    string // for the sign-in form
	Enabled     bool
	Synced      bool
	Groups      []string // group ids (transitive membership is what is listed)
	// Roles are built-in directory roles assigned tenant-wide: they appear as activated
	// directoryRole objects in transitiveMemberOf and as role assignments.
	Roles []string
	// Assignments are further role assignments that appear only in
	// roleManagement/directory/roleAssignments: custom roles, or roles scoped to an
	// administrative unit (entra-docs custom-overview, admin-units-assign-roles).
	Assignments []RoleAssignment
	Lang        string
	Phones      []Phone // phone authentication methods
	MFA         bool    // has a multi-factor method: satisfies a Conditional Access policy requiring MFA
	ManagerID   string
	Eligible    []string // directory roles the user may activate through PIM
	AuthEmail   string   // email authentication method
	OnPremSID   string   // onPremisesSecurityIdentifier of a synced user (its AD objectSid)
	// PasswordChanged is lastPasswordChangeDateTime: the last change, or the creation of the
	// password (a reset through PATCH moves it to the tenant's now).
	PasswordChanged time.Time
	// PasswordPolicies is passwordPolicies, e.g. "DisablePasswordExpiration".
	PasswordPolicies string
}

// Domain is a domain of the tenant (graph-docs resources/domain.md).
type Domain struct {
	ID       string // the fully qualified name
	Verified bool
	// ValidityDays is passwordValidityPeriodInDays; nil when the property is not set (Entra
	// then applies 90 days), 2147483647 when passwords never expire.
	ValidityDays *int
}

// RoleAssignment is a unifiedRoleAssignment of a directory role to a principal.
type RoleAssignment struct {
	Role  string // role definition: a built-in role's name or a custom role's id
	Scope string // directoryScopeId: "/" tenant-wide, "/administrativeUnits/{id}" for a unit
}

// Phone is a phone authentication method.
type Phone struct {
	Number string // as Entra shows it, e.g. "+1 4255550142"
	Type   string // mobile, alternateMobile or office
}

// SentMail is one message sent through sendMail.
type SentMail struct {
	From    string
	To      []string
	Subject string
	Body    string
}

// Group is a directory group.
type Group struct {
	ID             string
	Name           string
	RoleAssignable bool // isAssignableToRole: membership can carry directory roles
	// Assignments are the group's directory role assignments (only role-assignable groups can
	// hold them: entra-docs groups-concept).
	Assignments []RoleAssignment
}

// Change is one write the tenant recorded.
type Change struct {
	Kind        string // "password" or "revoke"
	UserID      string
	ForceChange bool
	Time        time.Time
}

// Tenant is the fake. Create it with New, then Start it.
type Tenant struct {
	ID           string
	ClientID     string // the bot's app registration
	ClientSecret string
	// ServicePrincipalID is the object id of the app's service principal in the tenant: the oid
	// (and sub) of its app-only tokens, and the principal of its AppRoles.
	ServicePrincipalID string
	// Clock is the tenant's time (auth_time, token expiry); time.Now when nil.
	Clock func() time.Time
	// PageSize of collections; small values exercise paging.
	PageSize int
	// OnChange is called after each recorded change (the demo prints it).
	OnChange func(Change, User)
	// IDToken, when set, edits the claims of each id_token before it is signed (tests issue
	// tokens a misbehaving or shared provider could: several audiences, another azp).
	IDToken func(jwt.MapClaims)
	// OptionalClaims are the ID token's optional claims the bot's app registration adds under
	// Token configuration (e.g. "auth_time", "acrs"). Entra adds none by default
	// (entra-docs optional-claims-reference), so neither does the fake.
	OptionalClaims []string
	// MFAContexts are the Conditional Access authentication contexts (c1 …) that a policy
	// protects with "require multifactor authentication" and sign-in frequency "every time".
	MFAContexts []string
	// AppPermissions are the application permissions admin-consented to the bot's app: the app
	// token's roles claim. New grants LeastPermissions(), as the README's checklist does.
	AppPermissions []string
	// AppRoles are the directory roles assigned to the bot's service principal; New assigns
	// "User Administrator", as the README's checklist does.
	AppRoles []string
	// PremiumP2 says the tenant has Microsoft Entra ID P2 (or ID Governance) licences, which
	// Privileged Identity Management needs. Off by default, like most tenants.
	PremiumP2 bool
	// Latency is added to every Graph call (not to sign-ins or tokens), so benchmarks can show
	// what a person waits for.
	Latency time.Duration
	// Hold, when set, is called with every Graph call before it is answered (a $batch's
	// requests too): a test holds one call until another has arrived, to show two went at once.
	Hold func(*http.Request)

	// Domains are the tenant's domains (GET /domains).
	Domains []Domain

	mu       sync.Mutex
	users    map[string]*User
	order    []string // user ids in order, cached (userIDs)
	groups   map[string]Group
	changes  []Change
	mails    []SentMail
	calls    map[string]int
	fail     []failure
	codes    map[string]authCode
	key      *rsa.PrivateKey
	kid      string
	srv      *http.Server
	ln       net.Listener
	base     string
	tokMu    sync.Mutex
	verified map[string]appToken   // app tokens already verified
	outside  []string              // requests outside the committed extract
	sso      map[string]ssoSession // browser sign-in sessions by cookie value
}

// ssoSession is a browser's single sign-on session at the fake's sign-in page.
type ssoSession struct {
	userID   string
	authTime time.Time
}

// ssoCookie names the fake's single sign-on cookie (Entra's is ESTSAUTH).
const ssoCookie = "fake-estsauth"

type failure struct {
	match      string // substring of "METHOD path"
	status     int
	retryAfter string
}

type authCode struct {
	clientID, redirect, challenge, nonce, userID, scope string
	authTime                                            time.Time
	expires                                             time.Time
	acrs                                                []string // authentication contexts satisfied
}

// New makes an empty tenant.
func New() *Tenant {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return &Tenant{ID: "00000000-0000-4000-8000-00000000feed", ClientID: "resetbot-app", ClientSecret: randHex(16),
		ServicePrincipalID: "5e4f1ce0-0000-4000-8000-00000000a991",
		PageSize:           100, users: map[string]*User{}, groups: map[string]Group{}, calls: map[string]int{},
		codes: map[string]authCode{}, key: k, kid: randHex(8), sso: map[string]ssoSession{},
		AppPermissions: LeastPermissions(), AppRoles: []string{"User Administrator"}}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func (t *Tenant) now() time.Time {
	if t.Clock != nil {
		return t.Clock()
	}
	return time.Now()
}

// AddUser adds or replaces a user.
func (t *Tenant) AddUser(u User) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := u
	t.users[u.ID] = &c
	t.order = nil
}

// AddGroup adds a group.
func (t *Tenant) AddGroup(g Group) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.groups[g.ID] = g
}

// User returns a copy of a user.
func (t *Tenant) User(id string) (User, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.users[id]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// Changes returns what was changed, in order.
func (t *Tenant) Changes() []Change {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Change(nil), t.changes...)
}

// Calls returns how often each "METHOD route" was called.
func (t *Tenant) Calls() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]int{}
	for k, v := range t.calls {
		out[k] = v
	}
	return out
}

// FailNext makes the next request whose "METHOD path" contains match (ends with it, when match
// ends with "$") answer status, with a Retry-After header when retryAfter is not empty.
func (t *Tenant) FailNext(match string, status int, retryAfter string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fail = append(t.fail, failure{match: match, status: status, retryAfter: retryAfter})
}

// Start serves the tenant on a loopback port.
func (t *Tenant) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	t.ln = ln
	t.base = "http://" + ln.Addr().String()
	t.srv = &http.Server{Handler: t.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = t.srv.Serve(ln) }()
	return nil
}

// Close stops the server.
func (t *Tenant) Close() {
	if t.srv != nil {
		_ = t.srv.Close()
	}
}

// URL is the tenant's base URL.
func (t *Tenant) URL() string { return t.base }

// GraphURL is the Graph base URL (…/v1.0).
func (t *Tenant) GraphURL() string { return t.base + "/v1.0" }

// Issuer is the OIDC issuer, Entra style.
func (t *Tenant) Issuer() string { return t.base + "/" + t.ID + "/v2.0" }

// TokenURL is the OAuth 2.0 token endpoint.
func (t *Tenant) TokenURL() string { return t.base + "/" + t.ID + "/oauth2/v2.0/token" }

// Handler serves Graph and OIDC.
func (t *Tenant) Handler() http.Handler {
	mux := http.NewServeMux()
	p := "/" + t.ID
	mux.HandleFunc("GET "+p+"/v2.0/.well-known/openid-configuration", t.discovery)
	mux.HandleFunc("GET "+p+"/discovery/v2.0/keys", t.jwks)
	mux.HandleFunc("GET "+p+"/oauth2/v2.0/authorize", t.authorizeForm)
	mux.HandleFunc("POST "+p+"/oauth2/v2.0/authorize", t.authorizePost)
	mux.HandleFunc("POST "+p+"/oauth2/v2.0/token", t.token)
	api := http.NewServeMux()
	api.HandleFunc("GET /v1.0/users", t.graph(t.listUsers))
	api.HandleFunc("GET /v1.0/users/{id}", t.graph(t.getUser))
	api.HandleFunc("PATCH /v1.0/users/{id}", t.graph(t.patchUser))
	api.HandleFunc("GET /v1.0/users/{id}/transitiveMemberOf", t.graph(t.memberOf))
	api.HandleFunc("POST /v1.0/users/{id}/revokeSignInSessions", t.graph(t.revoke))
	api.HandleFunc("POST /v1.0/users/{id}/sendMail", t.graph(t.sendMail))
	api.HandleFunc("GET /v1.0/groups/{gid}/transitiveMembers/graph.user", t.graph(t.groupUsers))
	api.HandleFunc("GET /v1.0/groups", t.graph(t.listGroups))
	api.HandleFunc("GET /v1.0/domains", t.graph(t.listDomains))
	api.HandleFunc("POST /v1.0/users/{id}/authentication/temporaryAccessPassMethods", t.graph(t.tap))
	api.HandleFunc("GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances", t.graph(t.eligibility))
	api.HandleFunc("GET /v1.0/roleManagement/directory/roleAssignments", t.graph(t.roleAssignments))
	api.HandleFunc("GET /v1.0/users/{id}/manager", t.graph(t.manager))
	api.HandleFunc("GET /v1.0/groups/{gid}/transitiveMembers/microsoft.graph.user", t.graph(t.groupUsers))
	api.HandleFunc("GET /v1.0/users/{id}/authentication/phoneMethods", t.graph(t.phoneMethods))
	api.HandleFunc("GET /v1.0/users/{id}/authentication/emailMethods", t.graph(t.emailMethods))
	checked := t.checked(api)
	mux.Handle("/v1.0/", checked)
	mux.Handle("POST /v1.0/$batch", t.batch(checked))
	return mux
}

// batchLimit is how many requests one JSON batch may hold (graph-docs concepts/json-batching.md).
const batchLimit = 20

// batch answers a JSON batch (graph-docs concepts/json-batching.md): POST /$batch with
// {"requests": [{"id", "method", "url" (below the version), "headers"?, "body"?}]}, at most 20,
// ids unique, else 400. Each request is then what it would be on its own: the batch's bearer
// token, its own operation, query options, permission and throttling checks, each counted as a
// call; they run at once (no dependsOn here), and the 200 answer holds one
// {"id", "status", "headers", "body"} per request, in no promised order (this fake reverses it).
func (t *Tenant) batch(checked http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.count(r, "/v1.0/$batch")
		if t.Hold != nil {
			t.Hold(r)
		}
		// the batch itself is a request like any other: Graph may throttle it (429) or be
		// briefly unavailable (503, 504) as a whole (graph-docs concepts/throttling.md)
		if t.failInjected(w, r) {
			return
		}
		var in struct {
			Requests []struct {
				ID      string            `json:"id"`
				Method  string            `json:"method"`
				URL     string            `json:"url"`
				Headers map[string]string `json:"headers"`
				Body    json.RawMessage   `json:"body"`
			} `json:"requests"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || len(in.Requests) == 0 {
			graphError(w, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
			return
		}
		if len(in.Requests) > batchLimit {
			graphError(w, http.StatusBadRequest, "BadRequest", "Too many requests in a batch: the limit is 20.")
			return
		}
		ids := map[string]bool{}
		for _, q := range in.Requests {
			if q.ID == "" || ids[q.ID] || q.Method == "" || q.URL == "" {
				graphError(w, http.StatusBadRequest, "BadRequest", "Each request needs an id unique in the batch, a method and a url.")
				return
			}
			ids[q.ID] = true
		}
		type answer struct {
			ID      string            `json:"id"`
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers,omitempty"`
			Body    json.RawMessage   `json:"body,omitempty"`
		}
		out := make([]answer, len(in.Requests))
		var wg sync.WaitGroup
		for i, q := range in.Requests {
			wg.Add(1)
			go func() {
				defer wg.Done()
				j := len(out) - 1 - i
				var body io.Reader = http.NoBody
				if len(q.Body) > 0 {
					body = strings.NewReader(string(q.Body))
				}
				sub, err := http.NewRequestWithContext(r.Context(), q.Method, "/v1.0/"+strings.TrimPrefix(q.URL, "/"), body)
				if err != nil {
					out[j] = answer{ID: q.ID, Status: http.StatusBadRequest}
					return
				}
				for k, v := range q.Headers {
					sub.Header.Set(k, v)
				}
				for _, h := range []string{"Authorization", "x-ms-throttle-priority"} {
					if v := r.Header.Get(h); v != "" {
						sub.Header.Set(h, v)
					}
				}
				rec := &recorder{header: http.Header{}, status: http.StatusOK}
				checked.ServeHTTP(rec, sub)
				a := answer{ID: q.ID, Status: rec.status, Headers: map[string]string{}}
				for k := range rec.header {
					a.Headers[k] = rec.header.Get(k)
				}
				if b := strings.TrimSpace(rec.body.String()); b != "" {
					a.Body = json.RawMessage(b)
				}
				out[j] = a
			}()
		}
		wg.Wait()
		writeJSON(w, http.StatusOK, map[string]any{"responses": out})
	})
}

// recorder keeps one batched request's answer.
type recorder struct {
	header http.Header
	status int
	body   strings.Builder
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}
func (r *recorder) Write(b []byte) (int, error) { r.wrote = true; return r.body.Write(b) }

// Outside returns the Graph requests that were not operations of the committed extract of the
// API reference, or not as the reference states them (query options, headers).
func (t *Tenant) Outside() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.outside)
}

// Strict makes a test fail at its end if any Graph request fell outside the committed extract.
func (t *Tenant) Strict(tb interface {
	Helper()
	Cleanup(func())
	Errorf(string, ...any)
}) {
	tb.Helper()
	tb.Cleanup(func() {
		if o := t.Outside(); len(o) > 0 {
			tb.Errorf("graph requests outside the API reference extract:\n%s", strings.Join(o, "\n"))
		}
	})
}

func (t *Tenant) refuseOutside(w http.ResponseWriter, r *http.Request, why string) {
	t.mu.Lock()
	t.outside = append(t.outside, r.Method+" "+r.URL.String()+": "+why)
	t.mu.Unlock()
	graphError(w, http.StatusBadRequest, "BadRequest", why)
}

// checked is what Graph does before an operation runs, as the API reference describes it: the
// bearer token (401), the operation (the committed extract; anything else is refused and
// recorded), its query options and required headers, the application permission from the
// token's roles (403 Authorization_RequestDenied, permissions pages), advanced queries
// (400 Request_UnsupportedQuery, concepts/aad-advanced-queries.md) and the licence PIM needs.
func (t *Tenant) checked(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := userPathRE.ReplaceAllString(r.URL.Path, "/users/{id}")
		t.count(r, route)
		if t.Latency > 0 {
			time.Sleep(t.Latency)
		}
		if t.Hold != nil {
			t.Hold(r)
		}
		tok, ok := t.checkAppToken(r)
		if !ok {
			graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is missing or invalid.")
			return
		}
		op, ok := match(r.Method, strings.TrimPrefix(r.URL.Path, "/v1.0"))
		if !ok {
			t.refuseOutside(w, r, "Resource not found for the segment '"+path.Base(r.URL.Path)+"'.")
			return
		}
		q := r.URL.Query()
		for k := range q {
			if !slices.Contains(op.Query, k) {
				t.refuseOutside(w, r, "Query option '"+k+"' is not supported by "+op.ID+" ("+op.Page+").")
				return
			}
		}
		for h, v := range op.Headers {
			if !strings.HasPrefix(r.Header.Get(h), v) {
				t.refuseOutside(w, r, "Header "+h+": "+v+" is required by "+op.ID+".")
				return
			}
		}
		if !op.Permits(tok.roles) {
			graphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
			return
		}
		advanced := op.Advanced || q.Has("$search") || q.Has("$count")
		if advanced && (!strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") || (op.Advanced && q.Get("$count") != "true")) {
			graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
			return
		}
		if op.Licence != "" && !t.PremiumP2 {
			// seen as 400 AadPremiumLicenseRequired (real-service-facts: PIM without Entra ID P2)
			graphError(w, http.StatusBadRequest, "AadPremiumLicenseRequired",
				"The tenant needs an AAD Premium 2 license.")
			return
		}
		if t.failInjected(w, r) {
			return
		}
		api.ServeHTTP(w, r)
	})
}

var userPathRE = regexp.MustCompile(`/users/[^/]+`)

func (t *Tenant) count(r *http.Request, route string) {
	t.mu.Lock()
	t.calls[r.Method+" "+route]++
	if r.Header.Get("x-ms-throttle-priority") == "high" {
		t.calls["priority "+r.Method+" "+route]++
	}
	t.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// graphError answers in Graph's error shape (graph-docs concepts/errors.md): code, message and
// an innerError with the date and request ids.
func graphError(w http.ResponseWriter, status int, code, msg string) {
	id := randHex(16)
	reqID := id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
	w.Header().Set("request-id", reqID)
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": reqID, "client-request-id": reqID}}})
}

// injected takes the first injected failure that matches the request, if any.
func (t *Tenant) injected(r *http.Request) (failure, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, f := range t.fail {
		req := r.Method + " " + r.URL.Path
		if m, exact := strings.CutSuffix(f.match, "$"); (exact && strings.HasSuffix(req, m)) || (!exact && strings.Contains(req, f.match)) {
			t.fail = append(t.fail[:i], t.fail[i+1:]...)
			return f, true
		}
	}
	return failure{}, false
}

// failInjected answers r with the failure FailNext set for it, if any.
func (t *Tenant) failInjected(w http.ResponseWriter, r *http.Request) bool {
	f, ok := t.injected(r)
	if !ok {
		return false
	}
	if f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
	}
	graphError(w, f.status, injectedCode(f.status), "injected failure")
	return true
}

// injectedCode is the error code Graph answers a status with: "TooManyRequests" for a 429
// (graph-docs concepts/throttling.md, its example answer), "serviceNotAvailable" for a 503 or
// 504 and "generalException" for anything else (concepts/errors.md, the code property).
func injectedCode(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "TooManyRequests"
	case http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return "serviceNotAvailable"
	}
	return "generalException"
}

// graph wraps a Graph handler: it reads the body (gzip too).
func (t *Tenant) graph(h func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Body != nil {
			var rd io.Reader = io.LimitReader(r.Body, 1<<20)
			if r.Header.Get("Content-Encoding") == "gzip" {
				gz, err := gzip.NewReader(rd)
				if err != nil {
					graphError(w, http.StatusBadRequest, "BadRequest", "body is not gzip")
					return
				}
				rd = gz
			}
			b, err := io.ReadAll(rd)
			if err != nil {
				graphError(w, http.StatusBadRequest, "BadRequest", "unreadable body")
				return
			}
			body = b
		}
		h(w, r, body)
	}
}

func (t *Tenant) userJSON(u *User, sel []string) map[string]any {
	all := map[string]any{
		"@odata.type": "#microsoft.graph.user", "id": u.ID, "userPrincipalName": u.UPN, "mail": nullable(u.Mail),
		"displayName": u.DisplayName, "accountEnabled": u.Enabled, "onPremisesSyncEnabled": nullableBool(u.Synced),
		"preferredLanguage": nullable(u.Lang), "onPremisesSecurityIdentifier": nullable(u.OnPremSID),
	}
	if len(sel) == 0 {
		return all
	}
	// returned only on $select (graph-docs resources/user.md)
	all["lastPasswordChangeDateTime"] = nil
	if !u.PasswordChanged.IsZero() {
		all["lastPasswordChangeDateTime"] = u.PasswordChanged.UTC().Format(time.RFC3339)
	}
	all["passwordPolicies"] = nullable(u.PasswordPolicies)
	out := map[string]any{"@odata.type": all["@odata.type"]}
	for _, s := range sel {
		if v, ok := all[s]; ok {
			out[s] = v
		}
	}
	return out
}

// listDomains answers GET /domains (graph-docs api/domain-list.md): every domain, one page;
// passwordValidityPeriodInDays is null when it was never set (resources/domain.md).
func (t *Tenant) listDomains(w http.ResponseWriter, r *http.Request, _ []byte) {
	sel := selectOf(r)
	var out []map[string]any
	for _, d := range t.Domains {
		all := map[string]any{"id": d.ID, "isVerified": d.Verified, "passwordValidityPeriodInDays": nil}
		if d.ValidityDays != nil {
			all["passwordValidityPeriodInDays"] = *d.ValidityDays
		}
		o := all
		if len(sel) > 0 {
			o = map[string]any{}
			for _, s := range sel {
				if v, ok := all[s]; ok {
					o[s] = v
				}
			}
		}
		out = append(out, o)
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullableBool(b bool) any {
	if !b {
		return nil
	}
	return true
}

func selectOf(r *http.Request) []string {
	s := r.URL.Query().Get("$select")
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

var filterRE = regexp.MustCompile(`^(\w+) eq '((?:[^']|'')*)'(?: or (\w+) eq '((?:[^']|'')*)')?$`)

func (t *Tenant) listUsers(w http.ResponseWriter, r *http.Request, _ []byte) {
	f := r.URL.Query().Get("$filter")
	var conds [][2]string
	if f != "" {
		m := filterRE.FindStringSubmatch(f)
		if m == nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "unsupported filter")
			return
		}
		conds = append(conds, [2]string{m[1], strings.ReplaceAll(m[2], "''", "'")})
		if m[3] != "" {
			conds = append(conds, [2]string{m[3], strings.ReplaceAll(m[4], "''", "'")})
		}
	}
	t.mu.Lock()
	// the matching ids, in a stable order for paging
	var matched []*User
	for _, id := range t.userIDs() {
		u := t.users[id]
		ok := len(conds) == 0
		for _, c := range conds {
			var v string
			switch c[0] {
			case "mail":
				v = u.Mail
			case "userPrincipalName":
				v = u.UPN
			case "id":
				v = u.ID
			}
			ok = ok || (v != "" && strings.EqualFold(v, c[1]))
		}
		if ok {
			matched = append(matched, u)
		}
	}
	out := t.renderPage(r, matched)
	t.mu.Unlock()
	t.page(w, r, out)
}

// page answers one page of a collection, with an absolute nextLink while more remain.
func (t *Tenant) page(w http.ResponseWriter, r *http.Request, all []map[string]any) {
	skip, end, more := t.pageBounds(r, len(all))
	next := -1
	if more {
		next = end
	}
	t.writePage(w, r, orEmpty(all[skip:end]), next)
}

// writePage answers one page; a next position of 0 or more becomes the @odata.nextLink's
// $skiptoken (opaque to the client, as Graph's are).
func (t *Tenant) writePage(w http.ResponseWriter, r *http.Request, value []map[string]any, next int) {
	resp := map[string]any{"value": value}
	if next >= 0 {
		q := r.URL.Query()
		q.Set("$skiptoken", strconv.Itoa(next))
		resp["@odata.nextLink"] = t.base + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, resp)
}

// renderPage renders only the page of users a request asks for (the rest stay nil for page to
// skip), so paging through a big tenant costs what one page costs, as with the real service.
func (t *Tenant) renderPage(r *http.Request, users []*User) []map[string]any {
	skip, end, _ := t.pageBounds(r, len(users))
	out := make([]map[string]any, len(users))
	sel := selectOf(r)
	for i := skip; i < end; i++ {
		out[i] = t.userJSON(users[i], sel)
	}
	return out
}

// userIDs are the user ids in order (kept until a user is added); t.mu is held.
func (t *Tenant) userIDs() []string {
	if len(t.order) != len(t.users) {
		t.order = make([]string, 0, len(t.users))
		for id := range t.users {
			t.order = append(t.order, id)
		}
		sort.Strings(t.order)
	}
	return t.order
}

// pageSize is the page size a request's $top asks for, at most PageSize.
func (t *Tenant) pageSize(r *http.Request) int {
	if top, err := strconv.Atoi(r.URL.Query().Get("$top")); err == nil && top > 0 && top < t.PageSize {
		return top
	}
	return t.PageSize
}

// pageBounds is the slice of n items a request's $top and $skiptoken ask for, and whether more
// follow.
func (t *Tenant) pageBounds(r *http.Request, n int) (skip, end int, more bool) {
	size := t.pageSize(r)
	skip, _ = strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	skip = min(max(skip, 0), n)
	if end = skip + size; end < n {
		return skip, end, true
	}
	return skip, n, false
}

// groupUsers lists a group's user members a page at a time. Its $skiptoken is the position in
// the users' order where the next page's scan starts, so paging through a big group costs what
// its pages cost rather than a scan of the whole tenant per page.
func (t *Tenant) groupUsers(w http.ResponseWriter, r *http.Request, _ []byte) {
	g := r.PathValue("gid")
	t.mu.Lock()
	if _, ok := t.groups[g]; !ok {
		t.mu.Unlock()
		graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+g+"' does not exist.")
		return
	}
	order, size, sel := t.userIDs(), t.pageSize(r), selectOf(r)
	from, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	out, next := []map[string]any{}, -1
	for i := min(max(from, 0), len(order)); i < len(order); i++ {
		u := t.users[order[i]]
		if !slices.Contains(u.Groups, g) {
			continue
		}
		if len(out) == size {
			next = i
			break
		}
		out = append(out, t.userJSON(u, sel))
	}
	t.mu.Unlock()
	t.writePage(w, r, out, next)
}

func orEmpty(v []map[string]any) []map[string]any {
	if v == nil {
		return []map[string]any{}
	}
	return v
}

func (t *Tenant) lookup(w http.ResponseWriter, id string) (*User, bool) {
	id, _ = url.PathUnescape(id)
	if u, ok := t.users[id]; ok {
		return u, true
	}
	for _, u := range t.users {
		if strings.EqualFold(u.UPN, id) {
			return u, true
		}
	}
	graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+id+"' does not exist.")
	return nil, false
}

func (t *Tenant) getUser(w http.ResponseWriter, r *http.Request, _ []byte) {
	t.mu.Lock()
	u, ok := t.lookup(w, r.PathValue("id"))
	var out map[string]any
	if ok {
		out = t.userJSON(u, selectOf(r))
	}
	t.mu.Unlock()
	if ok {
		writeJSON(w, http.StatusOK, out)
	}
}

func (t *Tenant) patchUser(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		PasswordProfile *struct {
			Password    string `json:"password"`
			ForceChange bool   `json:"forceChangePasswordNextSignIn"`
		} `json:"passwordProfile"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
		return
	}
	u, ok := t.lockUser(w, r)
	if !ok {
		return
	}
	if req.PasswordProfile == nil {
		t.mu.Unlock()
		graphError(w, http.StatusBadRequest, "BadRequest", "only passwordProfile is supported")
		return
	}
	if u.Synced {
		t.mu.Unlock()
		graphError(w, http.StatusBadRequest, "Request_BadRequest", "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.")
		return
	}
	// app-only, the service principal needs a directory role that may reset this user: User
	// Administrator for users without admin roles, more for those with (user resource,
	// passwordProfile; spec/operations.json update-user-password)
	op, _ := match(http.MethodPatch, "/users/x")
	need := op.Roles
	if len(t.assignmentsOf(u.ID)) > 0 || len(u.Eligible) > 0 {
		need = op.PrivilegedTargetRoles
	}
	if !slices.ContainsFunc(need, func(r string) bool { return slices.Contains(t.AppRoles, r) }) {
		t.mu.Unlock()
		graphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	pw := req.PasswordProfile.Password
	if len(pw) < 8 || strings.Contains(strings.ToLower(pw), "password") {
		t.mu.Unlock()
		graphError(w, http.StatusBadRequest, "Request_BadRequest", "The specified password does not comply with password complexity requirements. Please provide a different password.")
		return
	}
	u.Password = pw
	u.PasswordChanged = t.now()
	c := Change{Kind: "password", UserID: u.ID, ForceChange: req.PasswordProfile.ForceChange, Time: t.now()}
	t.changes = append(t.changes, c)
	cp := *u
	t.mu.Unlock()
	if t.OnChange != nil {
		t.OnChange(c, cp)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (t *Tenant) memberOf(w http.ResponseWriter, r *http.Request, _ []byte) {
	u, ok := t.lockUser(w, r)
	if !ok {
		return
	}
	var all []map[string]any
	for _, g := range u.Groups {
		all = append(all, map[string]any{"@odata.type": "#microsoft.graph.group", "id": g, "displayName": t.groups[g].Name,
			"isAssignableToRole": t.groups[g].RoleAssignable})
	}
	for _, role := range u.Roles {
		all = append(all, map[string]any{"@odata.type": "#microsoft.graph.directoryRole", "id": "role-" + role, "displayName": role})
	}
	t.mu.Unlock()
	t.page(w, r, all)
}

func (t *Tenant) revoke(w http.ResponseWriter, r *http.Request, _ []byte) {
	u, ok := t.lockUser(w, r)
	if !ok {
		return
	}
	c := Change{Kind: "revoke", UserID: u.ID, Time: t.now()}
	t.changes = append(t.changes, c)
	cp := *u
	t.mu.Unlock()
	if t.OnChange != nil {
		t.OnChange(c, cp)
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": true})
}

// ---- OpenID Connect provider ----

func (t *Tenant) discovery(w http.ResponseWriter, r *http.Request) {
	p := t.base + "/" + t.ID
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": t.Issuer(), "authorization_endpoint": p + "/oauth2/v2.0/authorize",
		"token_endpoint": p + "/oauth2/v2.0/token", "jwks_uri": p + "/discovery/v2.0/keys",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		"scopes_supported": []string{"openid", "profile", "email"},
	})
}

func (t *Tenant) jwks(w http.ResponseWriter, r *http.Request) {
	pub := t.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": t.kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in – demo tenant</title></head>
<body style="font-family:sans-serif;max-width:26rem;margin:3rem auto">
<h1>Sign in to the demo tenant</h1>
{{if .Error}}<p role="alert" style="color:#a00">{{.Error}}</p>{{end}}
<form method="post">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<p><label for="u">Username</label><br><input id="u" name="username" autocomplete="username" value="{{.Hint}}"></p>
<p><label for="p">Password</label><br><input id="p" name="password" type="password" autocomplete="current-password"></p>
<p><button type="submit">Sign in</button></p></form></body></html>`))

var authParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint", "claims"}

// authorizeForm shows the sign-in form, or, like Entra, answers at once from the browser's single
// sign-on session: unless prompt=login asks for credentials again (entra-docs
// v2-protocols-oidc), or an authentication context whose Conditional Access policy has sign-in
// frequency "every time" is requested.
func (t *Tenant) authorizeForm(w http.ResponseWriter, r *http.Request) {
	params := map[string]string{}
	for _, k := range authParams {
		params[k] = r.URL.Query().Get(k)
	}
	if c, err := r.Cookie(ssoCookie); err == nil && params["prompt"] != "login" && len(t.requestedACRS(params["claims"])) == 0 {
		t.mu.Lock()
		sess, ok := t.sso[c.Value]
		t.mu.Unlock()
		if ok && t.validAuthRequest(params) {
			t.issueCode(w, r, params, sess.userID, sess.authTime, nil)
			return
		}
	}
	t.renderLogin(w, params, "")
}

func (t *Tenant) validAuthRequest(params map[string]string) bool {
	return params["client_id"] == t.ClientID && params["response_type"] == "code" && params["code_challenge_method"] == "S256" && params["code_challenge"] != ""
}

// requestedACRS reads the authentication contexts an OIDC claims request parameter asks for in
// the ID token ({"id_token":{"acrs":{"essential":true,"value":"c1"}}}, or "values").
func (t *Tenant) requestedACRS(claims string) []string {
	if claims == "" {
		return nil
	}
	var req struct {
		IDToken struct {
			ACRS struct {
				Value  string   `json:"value"`
				Values []string `json:"values"`
			} `json:"acrs"`
		} `json:"id_token"`
	}
	if json.Unmarshal([]byte(claims), &req) != nil {
		return nil
	}
	out := req.IDToken.ACRS.Values
	if req.IDToken.ACRS.Value != "" {
		out = append(out, req.IDToken.ACRS.Value)
	}
	return out
}

// satisfiedACRS decides which requested authentication contexts the sign-in satisfies, as
// entra-docs developer-guide-conditional-access-authentication-context tabulates it: a context
// whose policy requires MFA only when the user completes MFA; a context no policy protects is
// satisfied (and issued) regardless, which is why the README insists on the policy.
func (t *Tenant) satisfiedACRS(u *User, requested []string) []string {
	var out []string
	for _, c := range requested {
		if !slices.Contains(t.MFAContexts, c) || u.MFA {
			out = append(out, c)
		}
	}
	return out
}

func (t *Tenant) renderLogin(w http.ResponseWriter, params map[string]string, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = loginPage.Execute(w, map[string]any{"Params": params, "Error": msg, "Hint": params["login_hint"]})
}

func (t *Tenant) authorizePost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	params := map[string]string{}
	for _, k := range authParams {
		params[k] = r.PostForm.Get(k)
	}
	if !t.validAuthRequest(params) {
		http.Error(w, "AADSTS900144: invalid authorization request", http.StatusBadRequest)
		return
	}
	name, pw := r.PostForm.Get("username"), r.PostForm.Get("password")
	t.mu.Lock()
	var user *User
	for _, u := range t.users {
		if strings.EqualFold(u.UPN, name) {
			user = u
		}
	}
	ok := user != nil && user.Enabled && user.Password != "" && user.Password == pw
	t.mu.Unlock()
	if !ok {
		t.renderLogin(w, params, "Your account or password is incorrect.")
		return
	}
	now := t.now()
	sid := randHex(16)
	t.mu.Lock()
	acrs := t.satisfiedACRS(user, t.requestedACRS(params["claims"]))
	t.sso[sid] = ssoSession{userID: user.ID, authTime: now}
	t.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: sid, Path: "/", HttpOnly: true})
	t.issueCode(w, r, params, user.ID, now, acrs)
}

// issueCode redirects back to the app with a fresh authorization code.
func (t *Tenant) issueCode(w http.ResponseWriter, r *http.Request, params map[string]string, userID string, authTime time.Time, acrs []string) {
	code := randHex(24)
	now := t.now()
	t.mu.Lock()
	t.codes[code] = authCode{clientID: params["client_id"], redirect: params["redirect_uri"], challenge: params["code_challenge"],
		nonce: params["nonce"], userID: userID, scope: params["scope"], authTime: authTime, expires: now.Add(5 * time.Minute), acrs: acrs}
	t.mu.Unlock()
	u, err := url.Parse(params["redirect_uri"])
	if err != nil {
		http.Error(w, "bad redirect", http.StatusBadRequest)
		return
	}
	q := u.Query()
	q.Set("code", code)
	q.Set("state", params["state"])
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (t *Tenant) token(w http.ResponseWriter, r *http.Request) {
	if f, ok := t.injected(r); ok {
		writeJSON(w, f.status, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != t.ClientID || secret != t.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	now := t.now()
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		// an app-only token names the service principal as oid and sub (entra-docs
		// access-token-claims-reference: oid identifies the user or service principal; sub is
		// the principal the token asserts)
		tok, err := t.sign(jwt.MapClaims{"iss": "https://sts.windows.net/" + t.ID + "/", "aud": "https://graph.microsoft.com",
			"appid": t.ClientID, "tid": t.ID, "oid": t.ServicePrincipalID, "sub": t.ServicePrincipalID,
			"roles": t.grantedPermissions(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
	case "authorization_code":
		code := r.PostForm.Get("code")
		t.mu.Lock()
		c, ok := t.codes[code]
		delete(t.codes, code)
		u := t.users[c.userID]
		t.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || u == nil || now.After(c.expires) || c.redirect != r.PostForm.Get("redirect_uri") ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
			return
		}
		claims := t.idTokenClaims(c, u, now)
		if t.IDToken != nil {
			t.IDToken(claims)
		}
		idt, err := t.sign(claims)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"access_token": randHex(16), "token_type": "Bearer", "expires_in": 3600, "id_token": idt})
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
	}
}

// SignIDToken signs arbitrary claims with the tenant's key (tests forge tokens with it).
func (t *Tenant) SignIDToken(c jwt.MapClaims) (string, error) { return t.sign(c) }

func (t *Tenant) sign(c jwt.MapClaims) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = t.kid
	return tok.SignedString(t.key)
}

// appToken is a verified app-only access token.
type appToken struct {
	exp   time.Time
	roles []string // the application permissions granted when it was issued
}

func (t *Tenant) grantedPermissions() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.AppPermissions)
}

func (t *Tenant) checkAppToken(r *http.Request) (appToken, bool) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return appToken{}, false
	}
	t.tokMu.Lock()
	tok, seen := t.verified[raw]
	t.tokMu.Unlock()
	if seen {
		return tok, t.now().Before(tok.exp) // checked before: only its expiry can have changed
	}
	jt, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return &t.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience("https://graph.microsoft.com"),
		jwt.WithTimeFunc(t.now))
	if err != nil || !jt.Valid {
		return appToken{}, false
	}
	c, _ := jt.Claims.(jwt.MapClaims)
	if c["appid"] != t.ClientID {
		return appToken{}, false
	}
	var at appToken
	if rs, ok := c["roles"].([]any); ok {
		for _, x := range rs {
			if s, ok := x.(string); ok {
				at.roles = append(at.roles, s)
			}
		}
	}
	if e, err := c.GetExpirationTime(); err == nil && e != nil {
		at.exp = e.Time
		t.tokMu.Lock()
		if t.verified == nil || len(t.verified) > 10_000 {
			t.verified = map[string]appToken{}
		}
		t.verified[raw] = at
		t.tokMu.Unlock()
	}
	return at, true
}

// Mails returns what was sent through sendMail.
func (t *Tenant) Mails() []SentMail {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]SentMail(nil), t.mails...)
}

func (t *Tenant) sendMail(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Message struct {
			Subject string `json:"subject"`
			Body    struct {
				ContentType string `json:"contentType"`
				Content     string `json:"content"`
			} `json:"body"`
			To []struct {
				EmailAddress struct {
					Address string `json:"address"`
				} `json:"emailAddress"`
			} `json:"toRecipients"`
		} `json:"message"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Message.To) == 0 {
		graphError(w, http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient is not valid.")
		return
	}
	u, ok := t.lockUser(w, r)
	if !ok {
		return
	}
	m := SentMail{From: u.UPN, Subject: req.Message.Subject, Body: req.Message.Body.Content}
	for _, to := range req.Message.To {
		m.To = append(m.To, to.EmailAddress.Address)
	}
	t.mails = append(t.mails, m)
	t.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (t *Tenant) phoneMethods(w http.ResponseWriter, r *http.Request, _ []byte) {
	u, ok := t.lockUser(w, r)
	if !ok {
		return
	}
	var out []map[string]any
	for i, p := range u.Phones {
		out = append(out, map[string]any{"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": fmt.Sprintf("phone-%d", i),
			"phoneNumber": p.Number, "phoneType": p.Type, "smsSignInState": "notSupported"})
	}
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"value": orEmpty(out)})
}

func (t *Tenant) emailMethods(w http.ResponseWriter, r *http.Request, _ []byte) {
	u, ok := t.lockUser(w, r)
	if !ok {
		return
	}
	var out []map[string]any
	if u.AuthEmail != "" {
		out = append(out, map[string]any{"@odata.type": "#microsoft.graph.emailAuthenticationMethod", "id": "email-0", "emailAddress": u.AuthEmail})
	}
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"value": orEmpty(out)})
}

// idTokenClaims are exactly the claims of an Entra v2 ID token from the token endpoint
// (entra-docs id-token-claims-reference): oid, name and preferred_username only with the
// profile scope; auth_time and acrs only when the app registration adds them as optional claims
// (optional-claims-reference; acrs also only when requested and satisfied); never amr, which
// only v1.0 tokens carry (access-token-claims-reference). Where the documents leave it open
// (an explicitly requested acrs without the optional claim) the fake is stricter and omits it.
func (t *Tenant) idTokenClaims(c authCode, u *User, now time.Time) jwt.MapClaims {
	m := jwt.MapClaims{"iss": t.Issuer(), "aud": t.ClientID, "sub": "sub-" + u.ID, "tid": t.ID, "ver": "2.0",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "aio": randHex(20), "rh": "0." + randHex(12),
		"uti": randHex(11), "sid": randHex(16)}
	if c.nonce != "" {
		m["nonce"] = c.nonce
	}
	if slices.Contains(strings.Fields(c.scope), "profile") {
		m["oid"], m["name"], m["preferred_username"] = u.ID, u.DisplayName, u.UPN
	}
	if slices.Contains(t.OptionalClaims, "auth_time") {
		m["auth_time"] = c.authTime.Unix()
	}
	if slices.Contains(t.OptionalClaims, "acrs") && len(c.acrs) > 0 {
		m["acrs"] = c.acrs
	}
	return m
}

func (t *Tenant) listGroups(w http.ResponseWriter, r *http.Request, _ []byte) {
	if r.URL.Query().Get("$filter") == "isAssignableToRole eq true" {
		// the role-assignable groups: isAssignableToRole supports $filter with eq
		// (graph-docs resources/group.md); only this one boolean filter is served here
		t.mu.Lock()
		var out []map[string]any
		for _, g := range t.groups {
			if g.RoleAssignable {
				out = append(out, map[string]any{"@odata.type": "#microsoft.graph.group", "id": g.ID, "displayName": g.Name, "isAssignableToRole": true})
			}
		}
		t.mu.Unlock()
		sort.Slice(out, func(i, j int) bool { return out[i]["id"].(string) < out[j]["id"].(string) })
		t.page(w, r, out)
		return
	}
	m := filterRE.FindStringSubmatch(r.URL.Query().Get("$filter"))
	if m == nil || m[1] != "displayName" {
		graphError(w, http.StatusBadRequest, "BadRequest", "unsupported filter")
		return
	}
	name := strings.ReplaceAll(m[2], "''", "'")
	t.mu.Lock()
	var out []map[string]any
	for _, g := range t.groups {
		if strings.EqualFold(g.Name, name) {
			out = append(out, map[string]any{"@odata.type": "#microsoft.graph.group", "id": g.ID, "displayName": g.Name})
		}
	}
	t.mu.Unlock()
	t.page(w, r, out)
}

func (t *Tenant) manager(w http.ResponseWriter, r *http.Request, _ []byte) {
	u, ok := t.lockUser(w, r)
	if !ok {
		return
	}
	m, found := t.users[u.ManagerID]
	var out map[string]any
	if found {
		out = t.userJSON(m, nil)
	}
	t.mu.Unlock()
	if !found {
		graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource 'manager' does not exist.")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

var principalRE = regexp.MustCompile(`^principalId eq '([^']*)'$`)

// builtinRoles are the template ids of built-in roles (entra-docs permissions-reference).
var builtinRoles = map[string]string{
	"Global Administrator":                    "62e90394-69f5-4237-9190-012177145e10",
	"User Administrator":                      "fe930be7-5e62-47db-91af-98c3a49a38b1",
	"Privileged Authentication Administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
	"Helpdesk Administrator":                  "729827e3-9c14-49f7-bb1b-9608f156bbb8",
}

func roleID(role string) string {
	if id, ok := builtinRoles[role]; ok {
		return id
	}
	return role
}

// principals are the ids of every user and group, sorted (a listing's stable order); t.mu held.
func (t *Tenant) principals() []string {
	out := make([]string, 0, len(t.users)+len(t.groups))
	for id := range t.users {
		out = append(out, id)
	}
	for id := range t.groups {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// assignments are the unifiedRoleAssignments of a principal: tenant-wide built-in roles and the
// further (custom or unit-scoped) ones, of users and of role-assignable groups.
func (t *Tenant) assignmentsOf(principal string) []RoleAssignment {
	var out []RoleAssignment
	if u, ok := t.users[principal]; ok {
		for _, r := range u.Roles {
			out = append(out, RoleAssignment{Role: r, Scope: "/"})
		}
		out = append(out, u.Assignments...)
	}
	if g, ok := t.groups[principal]; ok {
		out = append(out, g.Assignments...)
	}
	if principal == t.ServicePrincipalID {
		for _, r := range t.AppRoles {
			out = append(out, RoleAssignment{Role: r, Scope: "/"})
		}
	}
	return out
}

// roleAssignments lists the role assignments of one principal, filtered by principalId as
// rbacapplication-list-roleassignments.md's example 2 does, or of every principal without a
// filter (the page's HTTP request takes the filter as optional); stricter: no other filter.
func (t *Tenant) roleAssignments(w http.ResponseWriter, r *http.Request, _ []byte) {
	if !r.URL.Query().Has("$filter") {
		t.mu.Lock()
		var out []map[string]any
		for _, p := range t.principals() {
			for i, a := range t.assignmentsOf(p) {
				out = append(out, map[string]any{"@odata.type": "#microsoft.graph.unifiedRoleAssignment", "id": fmt.Sprintf("ra-%s-%d", p, i),
					"principalId": p, "roleDefinitionId": roleID(a.Role), "directoryScopeId": a.Scope})
			}
		}
		t.mu.Unlock()
		t.page(w, r, out)
		return
	}
	m := principalRE.FindStringSubmatch(r.URL.Query().Get("$filter"))
	if m == nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "unsupported filter")
		return
	}
	// $expand=roleDefinition adds each assignment's unifiedRoleDefinition: the list page
	// (rbacapplication-list-roleassignments.md) supports $expand, and roleDefinition is a
	// navigation property of unifiedRoleAssignment (resources/unifiedroleassignment.md, the CSDL
	// extract); nothing else is expanded here (stricter: the page's examples also expand principal)
	expand := r.URL.Query().Get("$expand")
	if expand != "" && expand != "roleDefinition" {
		graphError(w, http.StatusBadRequest, "BadRequest", "Could not find a property named '"+expand+"' on type 'microsoft.graph.unifiedRoleAssignment'.")
		return
	}
	t.mu.Lock()
	var out []map[string]any
	for i, a := range t.assignmentsOf(m[1]) {
		ra := map[string]any{"@odata.type": "#microsoft.graph.unifiedRoleAssignment", "id": fmt.Sprintf("ra-%s-%d", m[1], i),
			"principalId": m[1], "roleDefinitionId": roleID(a.Role), "directoryScopeId": a.Scope}
		if expand != "" {
			_, builtIn := builtinRoles[a.Role]
			ra["roleDefinition"] = map[string]any{"@odata.type": "#microsoft.graph.unifiedRoleDefinition", "id": roleID(a.Role),
				"templateId": roleID(a.Role), "displayName": a.Role, "isBuiltIn": builtIn, "isEnabled": true}
		}
		out = append(out, ra)
	}
	t.mu.Unlock()
	t.page(w, r, out)
}

// eligibility lists PIM's eligible role assignments of one principal ($filter by principalId),
// or of everyone without a filter (rbacapplication-list-roleeligibilityscheduleinstances.md
// takes $filter as an optional query parameter).
func (t *Tenant) eligibility(w http.ResponseWriter, r *http.Request, _ []byte) {
	if !r.URL.Query().Has("$filter") {
		t.mu.Lock()
		var out []map[string]any
		for _, p := range t.principals() {
			if u, ok := t.users[p]; ok {
				for i, role := range u.Eligible {
					out = append(out, map[string]any{"@odata.type": "#microsoft.graph.unifiedRoleEligibilityScheduleInstance",
						"id": fmt.Sprintf("elig-%s-%d", u.ID, i), "principalId": u.ID, "roleDefinitionId": "role-" + role, "directoryScopeId": "/"})
				}
			}
		}
		t.mu.Unlock()
		t.page(w, r, out)
		return
	}
	m := principalRE.FindStringSubmatch(r.URL.Query().Get("$filter"))
	if m == nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "unsupported filter")
		return
	}
	t.mu.Lock()
	var out []map[string]any
	if u, ok := t.users[m[1]]; ok {
		for i, role := range u.Eligible {
			out = append(out, map[string]any{"@odata.type": "#microsoft.graph.unifiedRoleEligibilityScheduleInstance",
				"id": fmt.Sprintf("elig-%d", i), "principalId": u.ID, "roleDefinitionId": "role-" + role, "directoryScopeId": "/"})
		}
	}
	t.mu.Unlock()
	t.page(w, r, out)
}

func (t *Tenant) tap(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Lifetime int  `json:"lifetimeInMinutes"`
		Once     bool `json:"isUsableOnce"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Lifetime < 10 || req.Lifetime > 43200 {
		graphError(w, http.StatusBadRequest, "BadRequest", "lifetimeInMinutes must be 10 to 43200")
		return
	}
	u, ok := t.lockUser(w, r)
	if !ok {
		return
	}
	pass := "TAP-" + randHex(6)
	c := Change{Kind: "tap", UserID: u.ID, Time: t.now()}
	t.changes = append(t.changes, c)
	cp := *u
	t.mu.Unlock()
	if t.OnChange != nil {
		t.OnChange(c, cp)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
		"id": "tap-1", "temporaryAccessPass": pass, "lifetimeInMinutes": req.Lifetime, "isUsableOnce": req.Once})
}

// lockUser locks the tenant and finds the path's user; on a miss it answers 404 and unlocks.
// On success the caller holds the lock and must unlock.
func (t *Tenant) lockUser(w http.ResponseWriter, r *http.Request) (*User, bool) {
	t.mu.Lock()
	u, ok := t.lookup(w, r.PathValue("id"))
	if !ok {
		t.mu.Unlock()
	}
	return u, ok
}
