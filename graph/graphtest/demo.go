package graphtest

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
