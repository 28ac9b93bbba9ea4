package graph

import (
	"context"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
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
// with $select so each page stays small. Members of several groups are visited once.
func (d *Directory) EachUser(ctx context.Context, groupIDs []string, fn func(flows.Account) error) error {
	return d.eachUser(ctx, groupIDs, userFields, func(u models.Userable, group string) error {
		a := account(u)
		if group != "" {
			a.Groups = []string{group}
		}
		return fn(a)
	})
}

// eachUser pages through all users (groups empty) or the transitive user members of groups
// (each once, with the group it was found in), selecting fields.
func (d *Directory) eachUser(ctx context.Context, groupIDs, fields []string, fn func(u models.Userable, group string) error) error {
	top := pageSize
	if len(groupIDs) == 0 {
		b := d.client.Users()
		res, err := b.Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: fields, Top: &top}})
		for {
			if err != nil {
				return apiErr("list users", err)
			}
			for _, u := range res.GetValue() {
				if err := fn(u, ""); err != nil {
					return err
				}
			}
			next := res.GetOdataNextLink()
			if next == nil || *next == "" {
				return nil
			}
			res, err = b.WithUrl(*next).Get(ctx, nil)
		}
	}
	seen := map[string]bool{}
	for _, g := range groupIDs {
		b := d.client.Groups().ByGroupId(g).TransitiveMembers().GraphUser()
		// a cast on transitive members is an advanced query: ConsistencyLevel: eventual and
		// $count=true (graph-docs concepts/aad-advanced-queries.md); next links keep $count
		hdr := abstractions.NewRequestHeaders()
		hdr.Add("ConsistencyLevel", "eventual")
		count := true
		res, err := b.Get(ctx, &groups.ItemTransitiveMembersGraphUserRequestBuilderGetRequestConfiguration{Headers: hdr,
			QueryParameters: &groups.ItemTransitiveMembersGraphUserRequestBuilderGetQueryParameters{Select: fields, Top: &top, Count: &count}})
		for {
			if err != nil {
				return apiErr("group members", err)
			}
			for _, u := range res.GetValue() {
				id := str(u.GetId())
				if seen[id] {
					continue
				}
				seen[id] = true
				if err := fn(u, g); err != nil {
					return err
				}
			}
			next := res.GetOdataNextLink()
			if next == nil || *next == "" {
				break
			}
			res, err = b.WithUrl(*next).Get(ctx, &groups.ItemTransitiveMembersGraphUserRequestBuilderGetRequestConfiguration{Headers: hdr})
		}
	}
	return nil
}

// Members lists a group's transitive user members.
func (d *Directory) Members(ctx context.Context, groupID string) ([]flows.Account, error) {
	var out []flows.Account
	err := d.EachUser(ctx, []string{groupID}, func(a flows.Account) error { out = append(out, a); return nil })
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
