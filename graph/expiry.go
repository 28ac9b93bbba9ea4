package graph

import (
	"context"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/domains"

	"github.com/resetbot/resetbot/flows"
)

var _ flows.ExpirySource = (*Directory)(nil)

// Password expiry in Entra: lastPasswordChangeDateTime of the user (returned only on $select,
// graph-docs resources/user.md) plus passwordValidityPeriodInDays of the domain of the user's
// UPN (resources/domain.md: 90 days when the property is not set). A password never expires
// when the user's passwordPolicies include DisablePasswordExpiration, or when the domain's period
// is 2147483647 (the value Entra stores for "passwords never expire"). Users synced from AD
// follow AD's policy (the AD directory reports theirs) and are left out here.

// expiryFields are the user properties the expiry walk selects.
var expiryFields = append(append([]string(nil), userFields...), "lastPasswordChangeDateTime", "passwordPolicies")

const (
	defaultValidityDays = 90
	neverExpireDays     = 2147483647
)

// validity reads every domain's password validity period, in days (0: never expires).
func (d *Directory) validity(ctx context.Context) (map[string]int, error) {
	res, err := d.client.Domains().Get(ctx, &domains.DomainsRequestBuilderGetRequestConfiguration{
		QueryParameters: &domains.DomainsRequestBuilderGetQueryParameters{Select: []string{"id", "isVerified", "passwordValidityPeriodInDays"}}})
	out := map[string]int{}
	for {
		if err != nil {
			return nil, apiErr("list domains", err)
		}
		for _, dm := range res.GetValue() {
			days := defaultValidityDays
			if p := dm.GetPasswordValidityPeriodInDays(); p != nil {
				days = int(*p)
			}
			if days >= neverExpireDays || days <= 0 {
				days = 0
			}
			out[strings.ToLower(str(dm.GetId()))] = days
		}
		next := res.GetOdataNextLink()
		if next == nil || *next == "" {
			return out, nil
		}
		res, err = d.client.Domains().WithUrl(*next).Get(ctx, nil)
	}
}

// PasswordExpiries implements flows.ExpirySource for cloud users.
func (d *Directory) PasswordExpiries(ctx context.Context, groupIDs []string, fn func(flows.PasswordExpiry) error) error {
	days, err := d.validity(ctx)
	if err != nil {
		return err
	}
	// privileged as Lookup finds them: their reminder has no "Change it now" where they may not
	// self-serve
	var privileged map[string]bool
	return d.eachUser(ctx, groupIDs, expiryFields, func(u listedUser, group string) error {
		if privileged == nil {
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
		if a.Synced {
			return nil
		}
		p := flows.PasswordExpiry{Account: a}
		if t := u.LastPasswordChangeDateTime; t != nil {
			p.ChangedAt = *t
		}
		p.ExpiresAt = expiresAt(p.ChangedAt, u.PasswordPolicies, a.UPN, days)
		return fn(p)
	})
}

// expiresAt is when a password changed at changed expires (zero: never, or unknown).
func expiresAt(changed time.Time, policies, upn string, days map[string]int) time.Time {
	if changed.IsZero() || strings.Contains(strings.ToLower(policies), "disablepasswordexpiration") {
		return time.Time{}
	}
	_, domain, _ := strings.Cut(upn, "@")
	n, ok := days[strings.ToLower(domain)]
	if !ok {
		n = defaultValidityDays // a domain without the property set
	}
	if n == 0 {
		return time.Time{}
	}
	return changed.Add(time.Duration(n) * 24 * time.Hour)
}
