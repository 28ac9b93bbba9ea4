package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/resetbot/resetbot/flows"
)

var (
	_ flows.Roster       = (*Directory)(nil)
	_ flows.GroupMembers = (*Directory)(nil)
)

const pageSize = int32(999)

func account(u models.Userable) flows.Account {
	return flows.Account{ID: str(u.GetId()), UPN: str(u.GetUserPrincipalName()), Mail: str(u.GetMail()),
		DisplayName: str(u.GetDisplayName()), Enabled: u.GetAccountEnabled() != nil && *u.GetAccountEnabled(),
		Synced: u.GetOnPremisesSyncEnabled() != nil && *u.GetOnPremisesSyncEnabled(), OnPremSID: str(u.GetOnPremisesSecurityIdentifier())}
}

// EachUser pages through all users (groups empty) or the transitive user members of groups,
// with $select so each page stays small. Members of several groups are visited once. Each
// account is privileged as Lookup would find it (privilegedUsers), so the reminders and the
// report judge eligibility as a chat step does; when that cannot be read the walk fails rather
// than count a privileged person as one who may self-serve.
func (d *Directory) EachUser(ctx context.Context, groupIDs []string, fn func(flows.Account) error) error {
	var privileged map[string]bool
	return d.eachUser(ctx, groupIDs, userFields, func(u listedUser, group string) error {
		if privileged == nil { // read once the listing answered (a refused listing says so first)
			p, err := d.privilegedUsers(ctx)
			if err != nil {
				return err
			}
			privileged = p
		}
		a := u.account()
		if group != "" {
			a.Groups = []string{group}
		}
		a.Privileged = privileged[a.ID]
		return fn(a)
	})
}

// privilegedUsers are the ids of everyone Lookup calls privileged, read with a few listings for
// the whole tenant instead of three calls per person: the principals of every directory role
// assignment (built-in or custom, any scope) and of every PIM eligibility, and the members of
// every role-assignable group (whether or not it holds a role yet, as memberships counts them).
//
// A listing longer than maxPrivilegePages pages is an error, as a failed one is: whoever is on
// the pages left unread may hold a role.
func (d *Directory) privilegedUsers(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	principals := func(op, path string) error {
		for pages := 0; path != "" && pages < maxPrivilegePages; pages++ {
			var page struct {
				Value []struct {
					PrincipalID string `json:"principalId"`
				} `json:"value"`
				Next string `json:"@odata.nextLink"`
			}
			if err := d.request(ctx, op, http.MethodGet, path, nil, &page); err != nil {
				return err
			}
			for _, v := range page.Value {
				out[v.PrincipalID] = true
			}
			path = strings.TrimPrefix(page.Next, d.base)
		}
		if path != "" {
			return fmt.Errorf("graph: %s: more than %d pages, the rest unread", op, maxPrivilegePages)
		}
		return nil
	}
	if err := principals("role assignments", "/roleManagement/directory/roleAssignments?$select=principalId"); err != nil {
		return nil, err
	}
	err := principals("role eligibility", "/roleManagement/directory/roleEligibilityScheduleInstances?$select=principalId")
	var se *statusError
	if errors.As(err, &se) && se.Status == http.StatusBadRequest && d.noPIM(batchCode(batchResp{Body: se.Body})) {
		err = nil // no PIM in this tenant: nobody is eligible through it
	}
	if err != nil {
		return nil, err
	}
	var groupIDs []string
	path := "/groups?$filter=" + url.QueryEscape("isAssignableToRole eq true") + "&$select=id"
	for pages := 0; path != "" && pages < maxPrivilegePages; pages++ {
		var page struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
			Next string `json:"@odata.nextLink"`
		}
		if err := d.request(ctx, "role-assignable groups", http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		for _, g := range page.Value {
			groupIDs = append(groupIDs, g.ID)
		}
		path = strings.TrimPrefix(page.Next, d.base)
	}
	if path != "" {
		return nil, fmt.Errorf("graph: role-assignable groups: more than %d pages, the rest unread", maxPrivilegePages)
	}
	if len(groupIDs) > 0 {
		if err := d.eachUser(ctx, groupIDs, []string{"id"}, func(u listedUser, _ string) error {
			out[u.ID] = true
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// maxPrivilegePages bounds the pages of each privilege listing privilegedUsers reads.
const maxPrivilegePages = 1000

// eachUser pages through all users (groups empty) or the transitive user members of groups
// (each once, with the group it was found in), selecting fields.
func (d *Directory) eachUser(ctx context.Context, groupIDs, fields []string, fn func(u listedUser, group string) error) error {
	top := pageSize
	if len(groupIDs) == 0 {
		b := d.client.Users()
		ri, err := b.ToGetRequestInformation(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: fields, Top: &top}})
		if err != nil {
			return apiErr("list users", err)
		}
		next := func(link string) (*abstractions.RequestInformation, error) {
			return b.WithUrl(link).ToGetRequestInformation(ctx, nil)
		}
		return d.pages(ctx, "list users", ri, next, func(u listedUser) error { return fn(u, "") })
	}
	seen := map[string]bool{}
	for _, g := range groupIDs {
		b := d.client.Groups().ByGroupId(g).TransitiveMembers().GraphUser()
		// a cast on transitive members is an advanced query: ConsistencyLevel: eventual and
		// $count=true (graph-docs concepts/aad-advanced-queries.md); next links keep $count
		hdr := abstractions.NewRequestHeaders()
		hdr.Add("ConsistencyLevel", "eventual")
		count := true
		ri, err := b.ToGetRequestInformation(ctx, &groups.ItemTransitiveMembersGraphUserRequestBuilderGetRequestConfiguration{Headers: hdr,
			QueryParameters: &groups.ItemTransitiveMembersGraphUserRequestBuilderGetQueryParameters{Select: fields, Top: &top, Count: &count}})
		if err != nil {
			return apiErr("group members", err)
		}
		next := func(link string) (*abstractions.RequestInformation, error) {
			return b.WithUrl(link).ToGetRequestInformation(ctx, &groups.ItemTransitiveMembersGraphUserRequestBuilderGetRequestConfiguration{Headers: hdr})
		}
		err = d.pages(ctx, "group members", ri, next, func(u listedUser) error {
			if seen[u.ID] {
				return nil
			}
			seen[u.ID] = true
			return fn(u, g)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// listedUser is a user in a listing page, as Graph's JSON names its properties.
type listedUser struct {
	ID                           string `json:"id"`
	DisplayName                  string `json:"displayName"`
	Mail                         string `json:"mail"`
	UserPrincipalName            string `json:"userPrincipalName"`
	AccountEnabled               *bool  `json:"accountEnabled"`
	OnPremisesSyncEnabled        *bool  `json:"onPremisesSyncEnabled"`
	OnPremisesSecurityIdentifier string `json:"onPremisesSecurityIdentifier"`
	// on $select only (password expiry reminders)
	LastPasswordChangeDateTime *time.Time `json:"lastPasswordChangeDateTime"`
	PasswordPolicies           string     `json:"passwordPolicies"`
}

func (u listedUser) account() flows.Account {
	return flows.Account{ID: u.ID, UPN: u.UserPrincipalName, Mail: u.Mail, DisplayName: u.DisplayName,
		Enabled: u.AccountEnabled != nil && *u.AccountEnabled, Synced: u.OnPremisesSyncEnabled != nil && *u.OnPremisesSyncEnabled,
		OnPremSID: u.OnPremisesSecurityIdentifier}
}

// pages sends a listing request and follows its @odata.nextLink pages, each through the SDK's
// request adapter (token, retries after 429 and 503, Graph's error body as an ODataError) but
// decoded with encoding/json into the few fields a listing needs: the SDK's generic parse nodes
// cost about 60 microseconds a user, three of the report's five seconds at 50,000 people
// (BenchmarkReport50k's profile).
func (d *Directory) pages(ctx context.Context, op string, ri *abstractions.RequestInformation,
	next func(link string) (*abstractions.RequestInformation, error), fn func(listedUser) error) error {
	errs := abstractions.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}
	for {
		body, err := d.client.GetAdapter().SendPrimitive(ctx, ri, "[]byte", errs)
		if err != nil {
			return apiErr(op, err)
		}
		raw, _ := body.([]byte)
		var page struct {
			Value []listedUser `json:"value"`
			Next  string       `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return apiErr(op, fmt.Errorf("page: %w", err))
		}
		for _, u := range page.Value {
			if err := fn(u); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		if ri, err = next(page.Next); err != nil {
			return apiErr(op, err)
		}
	}
}

// Members lists a group's transitive user members (whose privilege it does not need).
func (d *Directory) Members(ctx context.Context, groupID string) ([]flows.Account, error) {
	var out []flows.Account
	err := d.eachUser(ctx, []string{groupID}, userFields, func(u listedUser, _ string) error {
		a := u.account()
		a.Groups = []string{groupID}
		out = append(out, a)
		return nil
	})
	return out, err
}

var (
	_ flows.GroupResolver = (*Directory)(nil)
	_ flows.ManagerSource = (*Directory)(nil)
)

// ResolveGroup finds the one group with a display name.
func (d *Directory) ResolveGroup(ctx context.Context, name string) (string, error) {
	filter := "displayName eq '" + strings.ReplaceAll(name, "'", "''") + "'"
	top := int32(2)
	res, err := d.client.Groups().Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Filter: &filter, Select: []string{"id", "displayName"}, Top: &top}})
	if err != nil {
		return "", apiErr("find group", err)
	}
	if len(res.GetValue()) != 1 {
		return "", flows.ErrNotFound
	}
	return str(res.GetValue()[0].GetId()), nil
}

// Manager returns a user's manager.
func (d *Directory) Manager(ctx context.Context, userID string) (flows.Account, error) {
	o, err := d.client.Users().ByUserId(userID).Manager().Get(ctx, nil)
	if statusOf(err) == 404 {
		return flows.Account{}, flows.ErrNotFound
	}
	if err != nil {
		return flows.Account{}, apiErr("manager", err)
	}
	u, ok := o.(models.Userable)
	if !ok {
		return flows.Account{}, flows.ErrNotFound
	}
	return account(u), nil
}
