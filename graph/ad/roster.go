package ad

import (
	"context"
	"fmt"

	"github.com/go-ldap/ldap/v3"

	"github.com/resetbot/resetbot/flows"
)

var (
	_ flows.Roster           = (*Directory)(nil)
	_ flows.GroupResolver    = (*Directory)(nil)
	_ flows.GroupMembers     = (*Directory)(nil)
	_ flows.ManagerSource    = (*Directory)(nil)
	_ flows.Unlocker         = (*Directory)(nil)
	_ flows.LockoutSource    = (*Directory)(nil)
	_ flows.RulesSource      = (*Directory)(nil)
	_ flows.PasswordVerifier = (*Directory)(nil)
)

// Capabilities: Active Directory keeps its own lockouts, password rules and expiries, and
// checks a user's password by a bind as them; it lists users, groups and managers. It holds no
// contact methods and issues no Temporary Access Passes.
func (d *Directory) Capabilities() flows.Capabilities {
	return flows.Capabilities{Roster: d, Groups: d, Members: d, Managers: d, Unlocker: d, Lockouts: d, Rules: d, Passwords: d, Expiries: d}
}

const pageSize = 500

// search runs a paged subtree search under the base DN.
func (d *Directory) search(ctx context.Context, filter string, attrs []string) ([]*ldap.Entry, error) {
	var out []*ldap.Entry
	err := d.with(ctx, func(c *ldap.Conn) error {
		res, err := c.SearchWithPaging(ldap.NewSearchRequest(d.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			filter, attrs, nil), pageSize)
		if err != nil {
			return err
		}
		out = res.Entries
		return nil
	})
	if err != nil {
		return nil, Explain(err)
	}
	return out, nil
}

func rosterAccount(u user) flows.Account {
	return flows.Account{ID: u.GUID, UPN: u.UPN, Mail: u.Mail, DisplayName: u.Name, Enabled: u.UAC&uacDisabled == 0,
		Synced: true, OnPremSID: u.SID, Locked: u.locked(), LockedAt: u.Lockout}
}

// groupDN finds a group by objectGUID.
func (d *Directory) groupDN(ctx context.Context, id string) (string, error) {
	g, err := guidBytes(id)
	if err != nil {
		return "", flows.ErrNotFound
	}
	es, err := d.search(ctx, "(&(objectClass=group)(objectGUID="+ldap.EscapeFilter(string(g))+"))", []string{"cn"})
	if err != nil {
		return "", fmt.Errorf("ad: group %s: %w", id, err)
	}
	if len(es) != 1 {
		return "", flows.ErrNotFound
	}
	return es[0].DN, nil
}

// EachUser implements flows.Roster: every user (groups empty) or the transitive members of the
// groups, each once, privileged as Lookup finds them (protectedMembers), so the reminders and
// the report judge who may self-serve as a chat step does.
func (d *Directory) EachUser(ctx context.Context, groups []string, fn func(flows.Account) error) error {
	protected, err := d.protectedMembers(ctx)
	if err != nil {
		return err
	}
	return d.eachUser(ctx, groups, userAttrs, func(u user, _ *ldap.Entry) error {
		a := rosterAccount(u)
		a.Privileged = u.selfProtected() || protected[a.ID]
		return fn(a)
	})
}

// eachUser walks every user (groups empty) or the transitive members of the groups, each once,
// reading attrs.
func (d *Directory) eachUser(ctx context.Context, groups, attrs []string, fn func(user, *ldap.Entry) error) error {
	filters := []string{"(&" + people + ")"}
	if len(groups) > 0 {
		filters = filters[:0]
		for _, g := range groups {
			dn, err := d.groupDN(ctx, g)
			if err != nil {
				return err
			}
			filters = append(filters, "(&"+people+"(memberOf:"+inChain+":="+ldap.EscapeFilter(dn)+"))")
		}
	}
	seen := map[string]bool{}
	for _, f := range filters {
		es, err := d.search(ctx, f, attrs)
		if err != nil {
			return fmt.Errorf("ad: users: %w", err)
		}
		for _, e := range es {
			u := parseUser(e)
			if seen[u.GUID] {
				continue
			}
			seen[u.GUID] = true
			if err := fn(u, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// ResolveGroup implements flows.GroupResolver: a group's objectGUID by its name (cn or
// sAMAccountName).
func (d *Directory) ResolveGroup(ctx context.Context, name string) (string, error) {
	e := ldap.EscapeFilter(name)
	es, err := d.search(ctx, "(&(objectClass=group)(|(cn="+e+")(sAMAccountName="+e+")))", []string{"objectGUID"})
	if err != nil {
		return "", fmt.Errorf("ad: group %q: %w", name, err)
	}
	switch len(es) {
	case 0:
		return "", flows.ErrNotFound
	case 1:
		return guidString(es[0].GetRawAttributeValue("objectGUID")), nil
	}
	return "", flows.ErrAmbiguous
}

// Members implements flows.GroupMembers: the group's transitive user members.
func (d *Directory) Members(ctx context.Context, groupID string) ([]flows.Account, error) {
	var out []flows.Account
	err := d.EachUser(ctx, []string{groupID}, func(a flows.Account) error { out = append(out, a); return nil })
	return out, err
}

// Manager implements flows.ManagerSource: the user named by the manager attribute.
func (d *Directory) Manager(ctx context.Context, userID string) (flows.Account, error) {
	u, err := d.find(ctx, flows.Claim{Kind: flows.ClaimObjectID, Value: userID})
	if err != nil {
		return flows.Account{}, err
	}
	es, err := d.search(ctx, "(&"+people+"(directReports="+ldap.EscapeFilter(u.DN)+"))", userAttrs)
	if err != nil {
		return flows.Account{}, fmt.Errorf("ad: manager of %s: %w", u.DN, err)
	}
	if len(es) != 1 {
		return flows.Account{}, flows.ErrNotFound
	}
	return rosterAccount(parseUser(es[0])), nil
}
