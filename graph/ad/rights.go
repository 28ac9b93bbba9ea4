package ad

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// writable are the attributes the bot writes on a user besides the password (which the Reset
// Password extended right covers): lockoutTime to unlock (and in the same change as every
// reset), pwdLastSet for "must change at next sign-in".
var writable = []struct{ attr, use string }{
	{"lockoutTime", "unlocking, and every password reset (the reset also unlocks, in the same change)"},
	{"pwdLastSet", "temporary passwords that must be changed at the next sign-in"},
}

// CheckRights reads allowedAttributesEffective (the attributes the bound account may write,
// computed by AD from the object's security descriptor) on one ordinary user under AD_BASE_DN
// and returns a problem, with the exact fix, for every attribute the service account cannot
// write. The "Reset user passwords and force password change at next logon" task of the
// Delegation of Control wizard grants Reset Password and pwdLastSet but not lockoutTime.
func (d *Directory) CheckRights(ctx context.Context) []string {
	var probe *ldap.Entry
	err := d.with(ctx, func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest(d.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, 0, false,
			"(&"+people+"(!(adminCount=1))(!(isCriticalSystemObject=TRUE))(!(distinguishedName="+ldap.EscapeFilter(d.cfg.BindDN)+")))",
			[]string{"allowedAttributesEffective"}, nil))
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && res != nil {
			err = nil
		}
		if err != nil {
			return err
		}
		if len(res.Entries) > 0 {
			probe = res.Entries[0]
		}
		return nil
	})
	if err != nil {
		return []string{fmt.Sprintf("cannot check the service account's rights under %s: %v", d.cfg.BaseDN, Explain(err))}
	}
	if probe == nil {
		return []string{fmt.Sprintf("no ordinary user under AD_BASE_DN %s to check the service account's rights on: is AD_BASE_DN right?", d.cfg.BaseDN)}
	}
	allowed := probe.GetAttributeValues("allowedAttributesEffective")
	sam := d.samOf(ctx, d.cfg.BindDN)
	var missing []string
	var problems []string
	for _, w := range writable {
		if !slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, w.attr) }) {
			missing = append(missing, w.attr)
			problems = append(problems, fmt.Sprintf("the service account %s cannot write %s on users under %s (checked on %s), needed for %s",
				d.cfg.BindDN, w.attr, d.cfg.BaseDN, probe.DN, w.use))
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "fix: "+RightsFix(d.cfg.BaseDN, sam, missing))
	}
	return problems
}

// samOf is an account's sAMAccountName (its CN when that cannot be read).
func (d *Directory) samOf(ctx context.Context, dn string) string {
	sam := dn
	if rdn, _, ok := strings.Cut(dn, ","); ok {
		sam = strings.TrimPrefix(strings.TrimPrefix(rdn, "CN="), "cn=")
	}
	_ = d.with(ctx, func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)",
			[]string{"sAMAccountName"}, nil))
		if err == nil && len(res.Entries) == 1 && res.Entries[0].GetAttributeValue("sAMAccountName") != "" {
			sam = res.Entries[0].GetAttributeValue("sAMAccountName")
		}
		return nil
	})
	return sam
}

// RightsFix is the exact delegation that grants write access to attrs on user objects under
// base to the account named who (its sAMAccountName), as dsacls and PowerShell commands (run
// on a domain-joined Windows machine by a domain administrator).
func RightsFix(base, who string, attrs []string) string {
	var ds []string
	for _, a := range attrs {
		ds = append(ds, fmt.Sprintf(`dsacls "%s" /I:S /G "DOMAIN\%s:RPWP;%s;user"`, base, who, a))
	}
	return strings.Join(ds, " && ") + " (DOMAIN is your domain's NETBIOS name; or in PowerShell: " +
		fmt.Sprintf(`$sid = (Get-ADUser "%s").SID; $acl = Get-Acl "AD:%s"; `, who, base) +
		`foreach ($a in '` + strings.Join(attrs, "','") + `') { $g = (Get-ADObject -SearchBase (Get-ADRootDSE).schemaNamingContext -LDAPFilter "(lDAPDisplayName=$a)" -Properties schemaIDGUID).schemaIDGUID; ` +
		`$acl.AddAccessRule((New-Object System.DirectoryServices.ActiveDirectoryAccessRule $sid, 'ReadProperty,WriteProperty', 'Allow', [guid]$g, 'Descendents', [guid]'bf967aba-0de6-11d0-a285-00aa003049e2')) }; ` +
		fmt.Sprintf(`Set-Acl "AD:%s" $acl)`, base)
}
