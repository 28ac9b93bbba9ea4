package graphtest

import "slices"

// SSPRGroup is the demo group self-service is enabled for.
const SSPRGroup = "5e1f0000-0000-4000-8000-000000000551"

// DemoPassword is every demo user's starting password on the sign-in form.
const DemoPassword = "Demo-Passw0rd!"

// DemoUsers seeds the tenant with the demo cast and returns them in display order.
func DemoUsers(t *Tenant) []User {
	t.AddGroup(Group{ID: SSPRGroup, Name: "SSPR users"})
	users := []User{
		{ID: "a11ce000-0000-4000-8000-000000000001", UPN: "alice@contoso.test", Mail: "alice@contoso.test", DisplayName: "Alice Cloud",
			Enabled: true, Groups: []string{SSPRGroup}},
		{ID: "b0b00000-0000-4000-8000-000000000002", UPN: "bob@contoso.test", Mail: "bob@contoso.test", DisplayName: "Bob Outside",
			Enabled: true},
		{ID: "ca401000-0000-4000-8000-000000000003", UPN: "carol@contoso.test", Mail: "carol@contoso.test", DisplayName: "Carol Admin",
			Enabled: true, Groups: []string{SSPRGroup}, Roles: []string{"Global Administrator"}},
		{ID: "da4e0000-0000-4000-8000-000000000004", UPN: "dave@contoso.test", Mail: "dave@contoso.test", DisplayName: "Dave Synced",
			Enabled: true, Synced: true, Groups: []string{SSPRGroup}},
		{ID: "e4140000-0000-4000-8000-000000000005", UPN: "erin@contoso.test", Mail: "erin@contoso.test", DisplayName: "Erin Disabled",
			Enabled: false, Groups: []string{SSPRGroup}},
	}
	for _, u := range users {
		u.Password = DemoPassword
		t.AddUser(u)
	}
	return users
}

// AdminGroup is the demo group of bot admins (BOT_ADMIN_GROUPS in a deployment).
const AdminGroup = "5e1f0000-0000-4000-8000-0000000000ad"

// AdminAuthContext is the demo tenant's authentication context for a bot admin's confirmation
// (ADMIN_AUTH_CONTEXT): DemoAdmins protects it with multi-factor authentication.
const AdminAuthContext = "c1"

// DemoAdmins sets the tenant up for the demo's bot admins as the README's "Bot-admin step-up"
// asks of a real tenant (the acrs optional claim, context c1 requiring MFA), adds the
// "resetbot-admins" group and two admins with a multi-factor method (a weakening policy change
// needs a second admin's approval), and returns them in display order.
func DemoAdmins(t *Tenant) []User {
	t.mu.Lock()
	if !slices.Contains(t.OptionalClaims, "acrs") {
		t.OptionalClaims = append(t.OptionalClaims, "acrs")
	}
	if !slices.Contains(t.MFAContexts, AdminAuthContext) {
		t.MFAContexts = append(t.MFAContexts, AdminAuthContext)
	}
	t.mu.Unlock()
	t.AddGroup(Group{ID: AdminGroup, Name: "resetbot-admins"})
	admins := []User{
		{ID: "da4a0000-0000-4000-8000-0000000000a1", UPN: "dana@contoso.test", Mail: "dana@contoso.test", DisplayName: "Dana Admin",
			Enabled: true, MFA: true, Groups: []string{AdminGroup}},
		{ID: "f4a40000-0000-4000-8000-0000000000a2", UPN: "frank@contoso.test", Mail: "frank@contoso.test", DisplayName: "Frank Admin",
			Enabled: true, MFA: true, Groups: []string{AdminGroup}},
	}
	for _, u := range admins {
		u.Password = DemoPassword
		t.AddUser(u)
	}
	return admins
}

// HelpdeskGroup is the demo group of helpdesk agents (HELPDESK_GROUPS in a deployment).
const HelpdeskGroup = "5e1f0000-0000-4000-8000-0000000000de"

// DemoHelpdesk adds the demo's helpdesk agent, Hana, who verifies callers ("verify <user>"); she
// is not a bot admin.
func DemoHelpdesk(t *Tenant) []User {
	t.AddGroup(Group{ID: HelpdeskGroup, Name: "resetbot-helpdesk"})
	u := User{ID: "4a4a0000-0000-4000-8000-0000000000de", UPN: "hana@contoso.test", Mail: "hana@contoso.test", DisplayName: "Hana Helpdesk",
		Enabled: true, MFA: true, Groups: []string{HelpdeskGroup}, Password: DemoPassword}
	t.AddUser(u)
	return []User{u}
}
