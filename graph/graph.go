package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/jsonscan"
)

// DefaultBaseURL is the Graph endpoint of the global cloud.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// Config says how to reach Graph.
type Config struct {
	BaseURL    string // DefaultBaseURL unless pointed at a national cloud or graphtest
	Credential azcore.TokenCredential
	Transport  http.RoundTripper // nil: the default transport
}

// Directory is the Entra ID directory.
type Directory struct {
	client *client
	plain  http.RoundTripper // the plain requests' transport: the SDK's retry handler (see plainChain)
	wire   wireHeaders       // the headers the SDK's telemetry and user-agent handlers write
	bearer atomic.Pointer[bearer]
	base   string // the Graph base URL, without a trailing slash
	cred   azcore.TokenCredential
	scope  string
	scopes []string    // {scope}, for every token request
	noP2   atomic.Bool // the tenant answered AadPremiumLicenseRequired (logged once)
	// Log receives warnings (e.g. a privilege check that failed); may be nil.
	Log *slog.Logger
}

var _ flows.Directory = (*Directory)(nil)

// Capabilities: Entra holds verified contact methods, issues Temporary Access Passes, lists
// users, groups, managers and password expiries. It has no unlock API (for cloud users unlock
// means reset), no password rules to read and no password check for an app.
func (d *Directory) Capabilities() flows.Capabilities {
	return flows.Capabilities{Contacts: d, TAPs: d, Roster: d, Groups: d, Members: d, Managers: d, Expiries: d}
}

var userFields = []string{"id", "displayName", "mail", "userPrincipalName", "accountEnabled", "onPremisesSyncEnabled", "onPremisesSecurityIdentifier", "preferredLanguage"}

// Middleware is the ordered pipeline without the compression handler: the SDK's default order
// comes from a map, and a PATCH retried after a 429 can then be resent uncompressed under a
// gzip header (kiota-http-go issue 183). A password reset must never be garbled that way.
func Middleware() []khttp.Middleware {
	opts := clientOptions()
	return []khttp.Middleware{
		msgraphcore.NewGraphTelemetryHandler(&opts),
		khttp.NewUrlReplaceHandler(true, msgraphcore.ReplacementPairs),
		khttp.NewRetryHandler(),
		khttp.NewRedirectHandler(),
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		khttp.NewHeadersInspectionHandler(),
	}
}

// quietTracing makes the Graph SDK's tracing a no-op. The SDK starts several OpenTelemetry
// spans per request on the global tracer provider; resetbot exports no traces, and the
// default provider still builds and records every span (about a tenth of a Graph call's
// allocations), so the global provider becomes the no-op one, once.
var quietTracing sync.Once

// New builds the directory client.
func New(cfg Config) (*Directory, error) {
	quietTracing.Do(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("graph: base url %q: invalid", base)
	}
	if cfg.Credential == nil {
		return nil, errors.New("graph: no credential")
	}
	scope := u.Scheme + "://" + u.Host + "/.default"
	if u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost" || u.Hostname() == "::1" {
		scope = "https://graph.microsoft.com/.default"
	}
	auth, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cfg.Credential, []string{scope}, []string{u.Hostname()})
	if err != nil {
		return nil, apiErr("auth", err)
	}
	parent := cfg.Transport
	if parent == nil {
		// keep enough connections to Graph for the concurrent steps (the default keeps two),
		// and ask for answers as they are: net/http's transport otherwise adds "Accept-Encoding:
		// gzip" to every request (a header map per request) and inflates every compressed
		// answer (a gzip reader's set-up and the inflating, for answers of a few kB)
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		t.DisableCompression = true
		parent = t
	}
	hc := &http.Client{
		Transport:     khttp.NewCustomTransportWithParentTransport(priority{parent}, Middleware()...),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	adapter, err := msgraphcore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, clientOptions(), nil, nil, hc)
	if err != nil {
		return nil, apiErr("adapter", err)
	}
	adapter.SetBaseUrl(strings.TrimSuffix(base, "/"))
	return &Directory{client: newClient(adapter), plain: plainChain(parent), wire: sdkWireHeaders(), base: strings.TrimSuffix(base, "/"),
		cred: cfg.Credential, scope: scope, scopes: []string{scope}}, nil
}

// Check obtains a token for Graph: a start-up check of the tenant, client id and secret.
func (d *Directory) Check(ctx context.Context) error {
	if _, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{d.scope}}); err != nil {
		return fmt.Errorf("no token for %s: %w", d.scope, err)
	}
	return nil
}

func statusOf(err error) int {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		return oe.ResponseStatusCode
	}
	return 0
}

// apiErr wraps a failed Graph call with its operation and, when Graph said so, its status and
// error code (e.g. 403 Authorization_RequestDenied), so logs name the reason.
func apiErr(op string, err error) error {
	if code, _ := odataMessage(err); code != "" {
		return fmt.Errorf("graph: %s: %d %s: %w", op, statusOf(err), code, err)
	}
	return fmt.Errorf("graph: %s: %w", op, err)
}

func odataMessage(err error) (code, msg string) {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) && oe.GetErrorEscaped() != nil {
		if c := oe.GetErrorEscaped().GetCode(); c != nil {
			code = *c
		}
		if m := oe.GetErrorEscaped().GetMessage(); m != nil {
			msg = *m
		}
	}
	return code, msg
}

// Lookup finds exactly one user by object id, or by mail or UPN, with groups and privilege.
// Privilege is read in one round trip (a JSON batch, see batch.go) once the object id is
// known, with the user itself when looked up by id: transitive
// memberships (activated built-in roles, role-assignable groups), every role assignment of the
// user (built-in or custom, tenant-wide or scoped to an administrative unit) and PIM
// eligibility; the same calls are made whatever the answer, even for an unknown user, so their
// number and timing tell nothing. A check that fails makes the user privileged.
func (d *Directory) Lookup(ctx context.Context, c flows.Claim) (flows.Account, error) {
	switch c.Kind {
	case flows.ClaimObjectID:
		return d.lookupByID(ctx, c.Value)
	case flows.ClaimEmail, flows.ClaimUPN:
		if c.Pinned != "" {
			return d.lookupPinned(ctx, c)
		}
		acct, err := d.findUser(ctx, c.Value)
		id := unknownUser
		if err == nil {
			id = acct.ID
		}
		var a flows.Account
		d.privilegeBatched(ctx, id, &a)
		if err != nil {
			return flows.Account{}, err
		}
		acct.Groups, acct.Privileged = a.Groups, a.Privileged
		return acct, nil
	default:
		return flows.Account{}, flows.ErrNotFound
	}
}

// lookupPinned searches the claim and, in the same JSON batch, reads the user the chat
// identity is pinned to with its privilege: when the search finds that user, as it does for
// everyone who registered from this chat, the person waits for one round trip, and the bot
// makes one request. The same batch goes out whatever the directory says of the person (not
// found, disabled, privileged, ...). When the search finds someone else, that user's privilege
// is read too (the engine refuses the mismatch anyway) so the account is never returned
// half-read. A batch that fails as a whole is made again as its two parts, side by side.
func (d *Directory) lookupPinned(ctx context.Context, c flows.Claim) (flows.Account, error) {
	var (
		found, pinned      flows.Account
		findErr, pinnedErr error
	)
	path, ok := findPath(c.Value)
	if !ok {
		return flows.Account{}, flows.ErrNotFound
	}
	got, err := d.batch(ctx, append(lookupRequests(c.Pinned, true, 1), batchReq{ID: bFind, Method: http.MethodGet, URL: path}))
	if err != nil {
		d.log("batched pinned look-up failed, reading its parts on their own", err)
		d.parallel(func() { found, findErr = d.findUser(ctx, c.Value) },
			func() { pinned, pinnedErr = d.lookupByID(ctx, c.Pinned) })
	} else {
		found, findErr = d.foundIn(ctx, c.Value, got[bFind])
		pinned, pinnedErr = d.accountFrom(ctx, c.Pinned, got)
	}
	switch {
	case findErr != nil:
		return flows.Account{}, findErr
	case found.ID == c.Pinned && pinnedErr == nil:
		return pinned, nil
	case found.ID == c.Pinned && !errors.Is(pinnedErr, flows.ErrNotFound):
		return flows.Account{}, pinnedErr
	}
	// someone else (or the pinned user was gone a moment ago): read the one the search found
	var a flows.Account
	d.privilegeBatched(ctx, found.ID, &a)
	found.Groups, found.Privileged = a.Groups, a.Privileged
	return found, nil
}

// unknownUser stands in for a user that was not found, so the privilege calls are made anyway.
const unknownUser = "00000000-0000-0000-0000-000000000000"

func (d *Directory) getUser(ctx context.Context, id string) (models.Userable, error) {
	got, err := d.client.Users().ByUserId(id).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userFields}})
	if statusOf(err) == http.StatusNotFound {
		return nil, flows.ErrNotFound
	}
	if err != nil {
		return nil, apiErr("get user", err)
	}
	return got, nil
}

// findUser finds the one user whose mail or UPN is value (a plain JSON request, see batch.go).
func (d *Directory) findUser(ctx context.Context, value string) (flows.Account, error) {
	path, ok := findPath(value)
	if !ok {
		return flows.Account{}, flows.ErrNotFound
	}
	b, err := d.requestBody(ctx, "find user", http.MethodGet, path, nil, true)
	if err != nil {
		return flows.Account{}, err
	}
	var res foundUsers
	if err := readFound(plain(b), &res); err != nil {
		return flows.Account{}, fmt.Errorf("graph: find user: %w", err)
	}
	return res.one()
}

// findPath is the search for the users whose mail or UPN is value (false: no such value).
func findPath(value string) (string, bool) {
	v := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(value)), "'", "''")
	if v == "" || len(v) > 256 {
		return "", false
	}
	filter := "mail eq '" + v + "' or userPrincipalName eq '" + v + "'"
	return "/users?$filter=" + queryValue(filter) + "&$select=" + userSelect + "&$top=2", true
}

// foundUsers is the search's answer.
type foundUsers struct {
	Value []rawUser `json:"value"`
}

// one is the one user found: none is ErrNotFound, two ErrAmbiguous.
func (f foundUsers) one() (flows.Account, error) {
	switch len(f.Value) {
	case 0:
		return flows.Account{}, flows.ErrNotFound
	case 1:
		return f.Value[0].account(), nil
	default:
		return flows.Account{}, flows.ErrAmbiguous
	}
}

// foundIn reads a batched search's answer like findUser's; a throttled one is made again on its
// own (see redo).
func (d *Directory) foundIn(ctx context.Context, value string, r batchResp) (flows.Account, error) {
	switch {
	case redo(r):
		return d.findUser(ctx, value)
	case !r.ok():
		return flows.Account{}, batchError("find user", r)
	}
	var res foundUsers
	if err := readFound(r.answer(), &res); err != nil {
		return flows.Account{}, fmt.Errorf("graph: find user: %w", err)
	}
	return res.one()
}

// parallel runs independent Graph calls at once, so a person waits for one round trip.
func (d *Directory) parallel(fns ...func()) {
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}
	wg.Wait()
}

// privilege fills a's groups and privilege from the three privilege checks, run in parallel.
func (d *Directory) privilege(ctx context.Context, id string, a *flows.Account) {
	var (
		memberErr, assignErr, eligErr error
		assigned, eligible            bool
		m                             flows.Account
	)
	d.parallel(
		func() { memberErr = d.memberships(ctx, id, &m) },
		func() { assigned, assignErr = d.roleAssigned(ctx, id) },
		func() { eligible, eligErr = d.eligibleRoles(ctx, id) })
	if id == unknownUser {
		return
	}
	a.Groups = m.Groups
	a.Privileged = m.Privileged || assigned || eligible
	for _, err := range []error{memberErr, assignErr, eligErr} {
		if err != nil {
			d.log("privilege unknown, treating the user as privileged", err)
			a.Privileged = true
		}
	}
}

// roleAssigned reports whether any directory role is assigned to the user directly: built-in or
// custom, tenant-wide or scoped to an administrative unit. Roles held through a group need a
// role-assignable group, which memberships counts.
func (d *Directory) roleAssigned(ctx context.Context, userID string) (bool, error) {
	filter := "principalId eq '" + strings.ReplaceAll(userID, "'", "''") + "'"
	res, err := d.client.RoleManagement().Directory().RoleAssignments().Get(ctx,
		&rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{
			QueryParameters: &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{Filter: &filter, Select: []string{"id"}}})
	if err != nil {
		return false, apiErr("role assignments", err)
	}
	return len(res.GetValue()) > 0, nil
}

// eligibleRoles reports whether PIM makes the user eligible for any directory role. A tenant
// without Entra ID P2 has no PIM, so no eligible assignments: that is logged once, not an error.
func (d *Directory) eligibleRoles(ctx context.Context, userID string) (bool, error) {
	filter := "principalId eq '" + strings.ReplaceAll(userID, "'", "''") + "'"
	res, err := d.client.RoleManagement().Directory().RoleEligibilityScheduleInstances().Get(ctx,
		&rolemanagement.DirectoryRoleEligibilityScheduleInstancesRequestBuilderGetRequestConfiguration{
			QueryParameters: &rolemanagement.DirectoryRoleEligibilityScheduleInstancesRequestBuilderGetQueryParameters{Filter: &filter, Select: []string{"id"}}})
	if code, _ := odataMessage(err); d.noPIM(code) {
		return false, nil
	}
	if err != nil {
		return false, apiErr("role eligibility", err)
	}
	return len(res.GetValue()) > 0, nil
}

// noPIM reports whether an error code says the tenant has no PIM (logged once).
func (d *Directory) noPIM(code string) bool {
	if code != "AadPremiumLicenseRequired" {
		return false
	}
	if d.noP2.CompareAndSwap(false, true) && d.Log != nil {
		d.Log.Warn("the tenant has no Entra ID P2 licence for Privileged Identity Management: nobody is eligible for a directory role through PIM, and privilege comes from role assignments and memberships only")
	}
	return true
}

func (d *Directory) log(msg string, err error) {
	if d.Log != nil {
		d.Log.Warn(msg, "err", err)
	}
}

// memberships reads transitive groups and directory roles, following every page.
func (d *Directory) memberships(ctx context.Context, id string, a *flows.Account) error {
	b := d.client.Users().ByUserId(id).TransitiveMemberOf()
	res, err := b.Get(ctx, &users.ItemTransitiveMemberOfRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemTransitiveMemberOfRequestBuilderGetQueryParameters{Select: []string{"id", "isAssignableToRole"}}})
	for pages := 0; ; pages++ {
		if err != nil {
			return apiErr("memberships", err)
		}
		for _, o := range res.GetValue() {
			switch o.(type) {
			case models.DirectoryRoleable:
				a.Privileged = true
			case models.Groupable:
				a.Groups = append(a.Groups, str(o.GetId()))
				if g := o.(models.Groupable); g.GetIsAssignableToRole() != nil && *g.GetIsAssignableToRole() {
					a.Privileged = true
				}
			}
		}
		next := res.GetOdataNextLink()
		if next == nil || *next == "" || pages > 1000 {
			return nil
		}
		res, err = b.WithUrl(*next).Get(ctx, nil)
	}
}

// SetPassword sets the password through passwordProfile (app-only; cloud users only).
//
// A plain request (see batch.go), with the body the SDK's models.User serialises to (a test
// compares the two): the SDK built, serialised and parsed it at about 2% of the bot's
// allocations per recovery.
func (d *Directory) SetPassword(ctx context.Context, userID, password string, forceChange bool) error {
	_, err := d.requestBody(ctx, "set password", http.MethodPatch, "/users/"+url.PathEscape(userID), passwordBody(password, forceChange), false)
	if err == nil {
		return nil
	}
	var se *statusError
	if errors.As(err, &se) {
		code, msg := se.odata()
		if se.Status == http.StatusBadRequest && (strings.Contains(strings.ToLower(msg), "password") || strings.Contains(code, "Password")) {
			return flows.PasswordRefused(flows.Msg{ID: "pw.directory_refused"})
		}
	}
	return err
}

// passwordBody is the body of PATCH /users/{id} that sets a password, as json.Marshal writes
// passwordPatch (a test compares the two).
func passwordBody(password string, force bool) []byte {
	b := make([]byte, 0, 128+len(password))
	b = append(b, `{"@odata.type":"#microsoft.graph.user","passwordProfile":{"forceChangePasswordNextSignIn":`...)
	b = strconv.AppendBool(b, force)
	b = append(b, `,"password":`...)
	b = jsonscan.AppendString(b, password)
	return append(b, "}}"...)
}

// RevokeSessions invalidates the user's refresh tokens and session cookies.
// (A plain request, see batch.go: the SDK built and parsed it at several times the cost.)
func (d *Directory) RevokeSessions(ctx context.Context, userID string) error {
	return d.request(ctx, "revoke sessions", http.MethodPost, "/users/"+url.PathEscape(userID)+"/revokeSignInSessions", nil, nil)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// priorityHeader asks Graph to favour a request a person is waiting for.
const priorityHeader = "x-ms-throttle-priority"

// canonicalPriorityHeader is priorityHeader as http.Header keeps it.
const canonicalPriorityHeader = "X-Ms-Throttle-Priority"

// priority asks Graph to favour requests a person is waiting for. Below the middleware, it
// also gives a plain request sent again a body of its own (retryBody), and reads and closes
// the answer to a request the retry handler may send again (429, 503, 504), keeping its body
// in memory: the handler drops such an answer without closing it when it tries again, which
// left its connection (and a goroutine of the transport) held for good.
type priority struct{ next http.RoundTripper }

func (p priority) RoundTrip(r *http.Request) (*http.Response, error) {
	// a plain request (batch.go) carries the header already: no copy of the request then
	if v := r.Header[canonicalPriorityHeader]; flows.UserWaiting(r.Context()) && (len(v) == 0 || v[0] != "high") {
		r = r.Clone(r.Context())
		r.Header.Set(priorityHeader, "high")
	}
	if body, ok := retryBody(r); ok {
		r2 := *r // the caller's request is not changed
		r2.Body = body
		r = &r2
	}
	resp, err := p.next.RoundTrip(r)
	if err == nil {
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			b, _ := io.ReadAll(io.LimitReader(resp.Body, maxRetriedAnswer))
			resp.Body.Close()
			resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}
	}
	return resp, err
}

// maxRetriedAnswer bounds the body of an answer priority keeps: Graph's error answers are a
// few hundred bytes.
const maxRetriedAnswer = 1 << 16
