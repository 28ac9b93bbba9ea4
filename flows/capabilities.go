package flows

import "reflect"

// Capabilities are a directory's optional abilities beyond Directory, as an explicit set: each
// implementation fills the fields it can do (the assignment is the compile-time check that it
// can), and callers test a field against nil instead of asserting types on the Directory. The
// hybrid Router builds its set from its two directories' sets.
type Capabilities struct {
	// Contacts are the verified phone and email methods the directory keeps (Entra's).
	Contacts ContactSource
	// TAPs issues Temporary Access Passes (Entra).
	TAPs TAPIssuer
	// Roster pages through the users in scope: reminders and the report.
	Roster Roster
	// Groups finds a group's id by its display name (policy set groups).
	Groups GroupResolver
	// Members lists a group's members (the bot admins told about policy changes).
	Members GroupMembers
	// Managers finds a user's manager (the reminder escalation).
	Managers ManagerSource
	// Unlocker ends a lockout the directory keeps itself (Active Directory).
	Unlocker Unlocker
	// Lockouts lists new lockouts (the lockout alerts).
	Lockouts LockoutSource
	// Rules are the directory's own rules for new passwords.
	Rules RulesSource
	// Passwords checks a user's current password: the step-up sign-in without Entra.
	Passwords PasswordVerifier
	// Expiries lists password expiries (the expiry reminders and the report's line).
	Expiries ExpirySource
}

// Unlisted names the capabilities whose interface d's type implements but which its
// Capabilities leaves nil: what an implementation (or a test's wrapper that adds a method to an
// embedded directory) forgot to list. Each implementation's tests call it.
func Unlisted(d Directory) []string {
	var out []string
	caps := reflect.ValueOf(d.Capabilities())
	t := reflect.TypeOf(d)
	for i := range caps.NumField() {
		f := caps.Type().Field(i)
		if t.Implements(f.Type) && caps.Field(i).IsNil() {
			out = append(out, f.Name)
		}
	}
	return out
}
