package graph

import (
	"context"
	"errors"
	"fmt"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/resetbot/resetbot/flows"
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
	client *msgraph.GraphServiceClient
	cred   azcore.TokenCredential
	scope  string
	// Log receives warnings (e.g. a privilege check that failed); may be nil.
	Log *slog.Logger
}

var _ flows.Directory = (*Directory)(nil)

var userFields = []string{"id", "displayName", "mail", "userPrincipalName", "accountEnabled", "onPremisesSyncEnabled", "onPremisesSecurityIdentifier", "preferredLanguage"}

// Middleware is the ordered pipeline without the compression handler: the SDK's default order
// comes from a map, and a PATCH retried after a 429 can then be resent uncompressed under a
// gzip header (kiota-http-go issue 183). A password reset must never be garbled that way.
func Middleware() []khttp.Middleware {
	opts := msgraph.GetDefaultClientOptions()
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

// New builds the directory client.
func New(cfg Config) (*Directory, error) {
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
		return nil, fmt.Errorf("graph: auth: %w", err)
	}
	parent := cfg.Transport
	if parent == nil {
		// keep enough connections to Graph for the concurrent steps (the default keeps two)
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		parent = t
	}
	hc := &http.Client{
		Transport:     khttp.NewCustomTransportWithParentTransport(priority{parent}, Middleware()...),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	adapter, err := msgraph.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, hc)
	if err != nil {
		return nil, fmt.Errorf("graph: adapter: %w", err)
	}
	adapter.SetBaseUrl(strings.TrimSuffix(base, "/"))
	return &Directory{client: msgraph.NewGraphServiceClient(adapter), cred: cfg.Credential, scope: scope}, nil
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

// Lookup finds exactly one user by object id, or by mail or UPN, with groups and roles.
func (d *Directory) Lookup(ctx context.Context, c flows.Claim) (flows.Account, error) {
	var u models.Userable
	switch c.Kind {
	case flows.ClaimObjectID:
		got, err := d.client.Users().ByUserId(c.Value).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userFields}})
		if statusOf(err) == http.StatusNotFound {
			return flows.Account{}, flows.ErrNotFound
		}
		if err != nil {
			return flows.Account{}, fmt.Errorf("graph: get user: %w", err)
		}
		u = got
	case flows.ClaimEmail, flows.ClaimUPN:
		v := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(c.Value)), "'", "''")
		if v == "" || len(v) > 256 {
			return flows.Account{}, flows.ErrNotFound
		}
		filter := fmt.Sprintf("mail eq '%s' or userPrincipalName eq '%s'", v, v)
		top := int32(2)
		res, err := d.client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: &filter, Select: userFields, Top: &top}})
		if err != nil {
			return flows.Account{}, fmt.Errorf("graph: find user: %w", err)
		}
		vals := res.GetValue()
		switch len(vals) {
		case 0:
			return flows.Account{}, flows.ErrNotFound
		case 1:
			u = vals[0]
		default:
			return flows.Account{}, flows.ErrAmbiguous
		}
	default:
		return flows.Account{}, flows.ErrNotFound
	}
	a := account(u)
	// privilege: any directory role (active or eligible through PIM), or a role-assignable group;
	// when it cannot be told, the user counts as privileged
	if err := d.memberships(ctx, &a); err != nil {
		d.log("memberships unknown, treating the user as privileged", err)
		a.Privileged = true
	}
	if !a.Privileged {
		eligible, err := d.eligibleRoles(ctx, a.ID)
		if err != nil {
			d.log("role eligibility unknown, treating the user as privileged", err)
		}
		a.Privileged = eligible || err != nil
	}
	return a, nil
}

// eligibleRoles reports whether PIM makes the user eligible for any directory role.
func (d *Directory) eligibleRoles(ctx context.Context, userID string) (bool, error) {
	filter := "principalId eq '" + strings.ReplaceAll(userID, "'", "''") + "'"
	top := int32(1)
	res, err := d.client.RoleManagement().Directory().RoleEligibilityScheduleInstances().Get(ctx,
		&rolemanagement.DirectoryRoleEligibilityScheduleInstancesRequestBuilderGetRequestConfiguration{
			QueryParameters: &rolemanagement.DirectoryRoleEligibilityScheduleInstancesRequestBuilderGetQueryParameters{Filter: &filter, Top: &top}})
	if err != nil {
		return false, fmt.Errorf("graph: role eligibility: %w", err)
	}
	return len(res.GetValue()) > 0, nil
}

func (d *Directory) log(msg string, err error) {
	if d.Log != nil {
		d.Log.Warn(msg, "err", err)
	}
}

// memberships reads transitive groups and directory roles, following every page. If it fails
// the lookup fails: a user whose privilege is unknown is never served.
func (d *Directory) memberships(ctx context.Context, a *flows.Account) error {
	b := d.client.Users().ByUserId(a.ID).TransitiveMemberOf()
	res, err := b.Get(ctx, &users.ItemTransitiveMemberOfRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemTransitiveMemberOfRequestBuilderGetQueryParameters{Select: []string{"id", "isAssignableToRole"}}})
	for pages := 0; ; pages++ {
		if err != nil {
			return fmt.Errorf("graph: memberships: %w", err)
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
func (d *Directory) SetPassword(ctx context.Context, userID, password string, forceChange bool) error {
	pp := models.NewPasswordProfile()
	pp.SetPassword(&password)
	pp.SetForceChangePasswordNextSignIn(&forceChange)
	u := models.NewUser()
	u.SetPasswordProfile(pp)
	_, err := d.client.Users().ByUserId(userID).Patch(ctx, u, nil)
	if err == nil {
		return nil
	}
	code, msg := odataMessage(err)
	if statusOf(err) == http.StatusBadRequest && (strings.Contains(strings.ToLower(msg), "password") || strings.Contains(code, "Password")) {
		return &flows.PasswordError{Reason: "The directory refused this password under its password policy. Try a longer password that is not a common word and does not contain your name."}
	}
	return fmt.Errorf("graph: set password: %w", err)
}

// RevokeSessions invalidates the user's refresh tokens and session cookies.
func (d *Directory) RevokeSessions(ctx context.Context, userID string) error {
	if _, err := d.client.Users().ByUserId(userID).RevokeSignInSessions().PostAsRevokeSignInSessionsPostResponse(ctx, nil); err != nil {
		return fmt.Errorf("graph: revoke sessions: %w", err)
	}
	return nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// priority asks Graph to favour requests a person is waiting for.
type priority struct{ next http.RoundTripper }

func (p priority) RoundTrip(r *http.Request) (*http.Response, error) {
	if flows.UserWaiting(r.Context()) {
		r = r.Clone(r.Context())
		r.Header.Set("x-ms-throttle-priority", "high")
	}
	return p.next.RoundTrip(r)
}
