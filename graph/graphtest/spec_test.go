package graphtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/resetbot/resetbot/graph/graphtest"
)

// Every operation of the extract resolves against the trimmed CSDL: entity sets, navigation
// properties, casts and bound actions exist as Microsoft's metadata publishes them.
func TestOperationsResolveAgainstTheCSDL(t *testing.T) {
	ops := graphtest.Operations()
	if len(ops) < 14 {
		t.Fatalf("%d operations", len(ops))
	}
	for _, o := range ops {
		if err := graphtest.ResolvePath(o.Path); err != nil {
			t.Errorf("%s: %v", o.ID, err)
		}
		if o.Least == "" || o.Page == "" {
			t.Errorf("%s: no permission or page", o.ID)
		}
	}
	for _, bad := range []string{"/users/{id}/memberOfGroups", "/people", "/users/{id}/authentication/passwords"} {
		if graphtest.ResolvePath(bad) == nil {
			t.Errorf("%s resolved", bad)
		}
	}
}

// appToken gets an app-only token from the tenant.
func appToken(t *testing.T, tn *graphtest.Tenant) string {
	t.Helper()
	res, err := http.PostForm(tn.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {tn.ClientID},
		"client_secret": {tn.ClientSecret}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.AccessToken
}

type graphErr struct {
	Error struct {
		Code       string         `json:"code"`
		Message    string         `json:"message"`
		InnerError map[string]any `json:"innerError"`
	} `json:"error"`
}

func call(t *testing.T, tn *graphtest.Tenant, tok, method, path string, hdr map[string]string) (int, graphErr) {
	t.Helper()
	req, _ := http.NewRequest(method, tn.GraphURL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var e graphErr
	_ = json.NewDecoder(res.Body).Decode(&e)
	return res.StatusCode, e
}

// Requests outside the extract are refused and recorded; permissions, advanced queries and the
// PIM licence are enforced with Graph's error codes and body shape.
func TestGraphChecksRequestsAsDocumented(t *testing.T) {
	tn, users := started(t)
	alice := users[0].ID
	tok := appToken(t, tn)
	if code, _ := call(t, tn, tok, "GET", "/users/"+alice+"?$select=id", nil); code != 200 {
		t.Fatalf("documented call: %d", code)
	}
	if len(tn.Outside()) != 0 {
		t.Fatalf("recorded: %v", tn.Outside())
	}
	for _, p := range []string{"/users/" + alice + "/memberOf", "/users/" + alice + "?$top=1", "/roleManagement/directory/roleEligibilityScheduleInstances?$top=1"} {
		if code, e := call(t, tn, tok, "GET", p, nil); code != 400 || e.Error.Code != "BadRequest" {
			t.Errorf("%s: %d %+v", p, code, e)
		}
	}
	if n := len(tn.Outside()); n != 3 {
		t.Fatalf("outside: %v", tn.Outside())
	}
	// the cast on transitive members is an advanced query
	cast := "/groups/" + graphtest.SSPRGroup + "/transitiveMembers/microsoft.graph.user?$select=id"
	if code, e := call(t, tn, tok, "GET", cast, nil); code != 400 || e.Error.Code != "Request_UnsupportedQuery" {
		t.Fatalf("advanced query without ConsistencyLevel: %d %+v", code, e)
	}
	if code, _ := call(t, tn, tok, "GET", cast+"&$count=true", map[string]string{"ConsistencyLevel": "eventual"}); code != 200 {
		t.Fatalf("advanced query: %d", code)
	}
	// PIM needs Entra ID P2
	pim := "/roleManagement/directory/roleEligibilityScheduleInstances?$filter=" + url.QueryEscape("principalId eq '"+alice+"'")
	if code, e := call(t, tn, tok, "GET", pim, nil); code != 400 || e.Error.Code != "AadPremiumLicenseRequired" {
		t.Fatalf("PIM without licence: %d %+v", code, e)
	}
	tn.PremiumP2 = true
	if code, _ := call(t, tn, tok, "GET", pim, nil); code != 200 {
		t.Fatalf("PIM with licence: %d", code)
	}
	// a token without the permission gets 403 in Graph's error shape
	tn.AppPermissions = slices.DeleteFunc(graphtest.LeastPermissions(), func(p string) bool {
		return p == "RoleEligibilitySchedule.Read.Directory" || p == "RoleManagement.Read.Directory"
	})
	tok = appToken(t, tn)
	code, e := call(t, tn, tok, "GET", pim, nil)
	if code != 403 || e.Error.Code != "Authorization_RequestDenied" || e.Error.Message == "" || e.Error.InnerError["request-id"] == nil || e.Error.InnerError["date"] == nil {
		t.Fatalf("without the permission: %d %+v", code, e)
	}
	tn.AppPermissions = append(tn.AppPermissions, "RoleManagement.Read.All") // a higher one also grants it
	if code, _ := call(t, tn, appToken(t, tn), "GET", pim, nil); code != 200 {
		t.Fatalf("with a higher permission: %d", code)
	}
}
