package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"
)

// Need is an application permission of Microsoft Graph that a feature of the bot needs: the
// least privileged one its API reference page names, and the higher ones that also grant it
// (graphtest's spec/operations.json holds the pages' tables; a test keeps both in step).
type Need struct {
	Permission string
	Feature    string
	Accepts    []string // higher privileged permissions that grant it for every call it covers
}

// Features are the optional parts of the bot that need permissions of their own.
type Features struct {
	MailViaGraph bool // MAIL_VIA=graph: codes and notices are sent with sendMail
	// ExpiryReminders (PASSWORD_EXPIRY_REMINDERS): the domains' password validity periods are read
	ExpiryReminders bool
}

// Needs lists the application permissions the bot's features need, each with its feature.
func Needs(f Features) []Need {
	n := []Need{
		{"User.Read.All", "finding users by their chat email or object id, with their groups and manager",
			[]string{"Directory.Read.All", "Directory.ReadWrite.All"}},
		{"RoleManagement.Read.Directory", "telling privileged users by their directory role assignments (built-in or custom, tenant-wide or in an administrative unit)",
			[]string{"RoleManagement.Read.All", "Directory.Read.All", "RoleManagement.ReadWrite.Directory", "Directory.ReadWrite.All"}},
		{"RoleEligibilitySchedule.Read.Directory", "telling users eligible for a directory role through Privileged Identity Management",
			[]string{"RoleManagement.Read.Directory", "RoleManagement.Read.All", "RoleEligibilitySchedule.ReadWrite.Directory", "RoleManagement.ReadWrite.Directory"}},
		{"User-PasswordProfile.ReadWrite.All", "password resets (the app also needs the User Administrator role)", nil},
		{"User.RevokeSessions.All", "signing users out everywhere after a reset",
			[]string{"User.ReadWrite.All", "Directory.ReadWrite.All"}},
		{"GroupMember.Read.All", "policy groups, bot-admin groups and registration reminders (group members)",
			[]string{"Group.Read.All", "Directory.Read.All", "Group.ReadWrite.All"}},
		{"UserAuthMethod-Phone.Read.All", "offering the phone numbers users registered in Entra (SMS and voice codes)",
			[]string{"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All", "UserAuthMethod-Phone.ReadWrite.All"}},
		{"UserAuthMethod-Email.Read.All", "offering the email address users registered in Entra (email codes)",
			[]string{"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All", "UserAuthMethod-Email.ReadWrite.All"}},
		{"UserAuthMethod-TAP.ReadWrite.All", "the Temporary Access Pass reset mode",
			[]string{"UserAuthenticationMethod.ReadWrite.All"}},
	}
	if f.ExpiryReminders {
		n = append(n, Need{"Domain.Read.All", "password expiry reminders (each domain's password validity period)",
			[]string{"Domain.ReadWrite.All", "Directory.Read.All"}})
	}
	if f.MailViaGraph {
		n = append(n, Need{"Mail.Send", "codes and notices by mail through Graph (MAIL_VIA=graph)", nil})
	}
	return n
}

// Missing returns the needs that the granted permissions (an app token's roles) do not cover.
func Missing(granted []string, f Features) []Need {
	var out []Need
	for _, n := range Needs(f) {
		if !slices.Contains(granted, n.Permission) && !slices.ContainsFunc(n.Accepts, func(p string) bool { return slices.Contains(granted, p) }) {
			out = append(out, n)
		}
	}
	return out
}

// GrantedPermissions reads the application permissions from the roles claim of the app's own
// Graph access token (entra-docs access-token-claims-reference: roles lists the application
// permissions granted to an app-only caller). The token is only decoded to read what was
// granted; Graph itself validates it.
func (d *Directory) GrantedPermissions(ctx context.Context) ([]string, error) {
	c, err := d.ownClaims(ctx)
	return c.Roles, err
}

// ownClaims decodes the app's own Graph access token.
func (d *Directory) ownClaims(ctx context.Context) (tokenClaims, error) {
	tok, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{d.scope}})
	if err != nil {
		return tokenClaims{}, fmt.Errorf("no token for %s: %w", d.scope, err)
	}
	return claimsOf(tok.Token)
}

// RolesOf decodes the roles claim of a JWT access token.
func RolesOf(token string) ([]string, error) {
	c, err := claimsOf(token)
	return c.Roles, err
}

// tokenClaims are the claims of the app's Graph access token the start-up checks read.
type tokenClaims struct {
	Roles []string `json:"roles"`
	OID   string   `json:"oid"`
}

// claimsOf decodes a JWT access token's payload (Graph itself validates the token).
func claimsOf(token string) (tokenClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return tokenClaims{}, fmt.Errorf("the Graph access token is not a JWT: its permissions cannot be read")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return tokenClaims{}, fmt.Errorf("the Graph access token cannot be decoded: %w", err)
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return tokenClaims{}, fmt.Errorf("the Graph access token cannot be decoded: %w", err)
	}
	return c, nil
}

// CheckPermissions returns one problem per application permission the app lacks, each naming
// the feature that needs it and the higher permissions that would also do.
func (d *Directory) CheckPermissions(ctx context.Context, f Features) []error {
	c, err := d.ownClaims(ctx)
	if err != nil {
		return []error{err}
	}
	var out []error
	missing := Missing(c.Roles, f)
	for _, n := range missing {
		msg := fmt.Sprintf("application permission %s is not granted (with admin consent); it is needed for %s", n.Permission, n.Feature)
		if len(n.Accepts) > 0 {
			msg += " (or one of " + strings.Join(n.Accepts, ", ") + ")"
		}
		out = append(out, fmt.Errorf("%s", msg))
	}
	if !slices.ContainsFunc(missing, func(n Need) bool { return n.Permission == "RoleManagement.Read.Directory" }) {
		if err := d.checkResetRole(ctx, c.OID); err != nil {
			out = append(out, err)
		}
	}
	return out
}

// resetRoles are the built-in directory roles (by template id, entra-docs permissions-reference)
// that let an app reset passwords (spec/operations.json update-user-password): User
// Administrator for people without admin roles, the other two for people with some as well.
var resetRoles = map[string]string{
	"fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
	"7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
	"62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
}

// checkResetRole reads the directory role assignments of the app's own service principal (the
// oid of its token) and reports when none lets it reset passwords: without one every reset
// fails with 403 Authorization_RequestDenied, which no application permission replaces. An
// assignment of any other role (a custom role may hold the password right) is not judged.
func (d *Directory) checkResetRole(ctx context.Context, oid string) error {
	if oid == "" {
		return nil // nothing names the service principal; the first reset will tell
	}
	filter := "principalId eq '" + strings.ReplaceAll(oid, "'", "''") + "'"
	res, err := d.client.RoleManagement().Directory().RoleAssignments().Get(ctx,
		&rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{
			QueryParameters: &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{Filter: &filter,
				Select: []string{"id", "roleDefinitionId", "directoryScopeId"}, Expand: []string{"roleDefinition"}}})
	if err != nil {
		return apiErr("the app's own role assignments", err)
	}
	for _, a := range res.GetValue() {
		rd := a.GetRoleDefinition()
		if rd == nil || rd.GetIsBuiltIn() == nil || !*rd.GetIsBuiltIn() || resetRoles[str(rd.GetTemplateId())] != "" ||
			resetRoles[str(a.GetRoleDefinitionId())] != "" {
			return nil
		}
	}
	return fmt.Errorf("the app's service principal (%s) holds no directory role that may reset passwords: assign it the User Administrator role "+
		"(Entra admin center: Roles & admins > User Administrator > Add assignments, then select the app); it is needed for password resets", oid)
}
