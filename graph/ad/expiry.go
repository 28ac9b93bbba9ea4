package ad

import (
	"context"
	"strconv"

	"github.com/go-ldap/ldap/v3"

	"github.com/resetbot/resetbot/flows"
)

var _ flows.ExpirySource = (*Directory)(nil)

// expiryAttrs adds what says when a password expires. msDS-UserPasswordExpiryTimeComputed is
// constructed by the DC from pwdLastSet and the user's effective policy (the domain's maximum
// password age, or a fine-grained password policy); it is the largest 64-bit number when the
// password never expires (DONT_EXPIRE_PASSWORD, a maximum age of 0) and 0 when it must be
// changed at the next sign-in ([MS-ADTS] 3.1.1.4.5.41 msDS-UserPasswordExpiryTimeComputed).
var expiryAttrs = append(append([]string(nil), userAttrs...), "msDS-UserPasswordExpiryTimeComputed", "pwdLastSet")

// neverExpires is msDS-UserPasswordExpiryTimeComputed for a password that never expires.
const neverExpires = 0x7FFFFFFFFFFFFFFF

// PasswordExpiries implements flows.ExpirySource: every user (or the transitive members of
// the groups), with the DC's computed expiry of their password.
func (d *Directory) PasswordExpiries(ctx context.Context, groups []string, fn func(flows.PasswordExpiry) error) error {
	protected, err := d.protectedMembers(ctx)
	if err != nil {
		return err
	}
	return d.eachUser(ctx, groups, expiryAttrs, func(u user, e *ldap.Entry) error {
		p := flows.PasswordExpiry{Account: rosterAccount(u)}
		p.Account.Privileged = u.selfProtected() || protected[p.Account.ID]
		if ft, err := strconv.ParseInt(e.GetAttributeValue("msDS-UserPasswordExpiryTimeComputed"), 10, 64); err == nil && ft > 0 && ft != neverExpires {
			p.ExpiresAt = fromFiletime(ft)
		}
		if ft, err := strconv.ParseInt(e.GetAttributeValue("pwdLastSet"), 10, 64); err == nil && ft > 0 {
			p.ChangedAt = fromFiletime(ft)
		}
		return fn(p)
	})
}
