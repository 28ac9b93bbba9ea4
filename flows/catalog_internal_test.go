package flows

import (
	"strings"
	"testing"
)

// No message says "(s)" or names a product or protocol the person does not need.
func TestCatalogPlainWords(t *testing.T) {
	c := catalogs.Load()
	for id, e := range c.msgs["en"] {
		text := strings.Join(e.texts(), " ")
		for _, bad := range []string{"(s)", "Entra", "LDAP", "Graph", "OIDC", "TOTP", "(SMS)"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s says %q: %q", id, bad, text)
			}
		}
	}
	for _, m := range AllMethods {
		if l := methodLabel("en", m); strings.Contains(l, "(") {
			t.Errorf("label %q", l)
		}
	}
}
