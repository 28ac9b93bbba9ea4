package ad

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// bindCodes are the "data" sub-codes AD puts in a refused bind (result 49).
var bindCodes = map[string]string{
	"525": "no such user",
	"52e": "wrong password",
	"530": "not allowed to sign in at this time",
	"531": "not allowed to sign in from this workstation",
	"532": "password expired",
	"533": "account disabled",
	"701": "account expired",
	"773": "must change password at next sign-in",
	"775": "account locked out",
}

var dataCode = regexp.MustCompile(`(?i)\bdata ([0-9a-f]{3,4})\b`)

// bindCode is the AD sub-code of a refused bind ("52e", "775", ...), or "".
func bindCode(err error) string {
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		return ""
	}
	m := dataCode.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

// BindReason says why AD refused a bind, in words.
func BindReason(err error) string {
	if r, ok := bindCodes[bindCode(err)]; ok {
		return r
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		return "invalid credentials"
	}
	return Explain(err).Error()
}

// Explain names the cause of an LDAP error precisely, for the log and for operators.
func Explain(err error) error {
	var le *ldap.Error
	if !errors.As(err, &le) {
		return err
	}
	msg := strings.ToUpper(err.Error())
	switch {
	case le.ResultCode == ldap.LDAPResultInsufficientAccessRights:
		return fmt.Errorf("the service account lacks the right for this change: delegate Reset Password and write access to lockoutTime and pwdLastSet on the users' OU (%w)", err)
	case le.ResultCode == ldap.LDAPResultStrongAuthRequired:
		return fmt.Errorf("the directory requires an encrypted connection: use ldaps:// or StartTLS (%w)", err)
	case strings.Contains(msg, "0000052D"):
		return fmt.Errorf("the password does not meet the domain's rules: length, complexity, history or minimum age (%w)", err)
	case le.ResultCode == ldap.LDAPResultConstraintViolation:
		return fmt.Errorf("the directory refused the value (%w)", err)
	case le.ResultCode == ldap.LDAPResultUnwillingToPerform:
		return fmt.Errorf("the directory will not do this change (an unquoted or unencrypted password, or a value AD does not accept) (%w)", err)
	case le.ResultCode == ldap.LDAPResultInvalidCredentials:
		return fmt.Errorf("bind refused: %s (%w)", BindReason(err), err)
	case le.ResultCode == ldap.LDAPResultNoSuchObject:
		return fmt.Errorf("no such object: check AD_BASE_DN (%w)", err)
	case le.ResultCode == ldap.ErrorNetwork:
		return fmt.Errorf("network error talking to the directory (%w)", err)
	}
	return err
}
