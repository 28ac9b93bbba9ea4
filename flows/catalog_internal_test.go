package flows

import (
	"strings"
	"testing"
)

// No message says "(s)" or names a product or protocol the person does not need.
func TestCatalogPlainWords(t *testing.T) {
	for id, text := range catalog["en"] {
		for _, bad := range []string{"(s)", "Entra", "LDAP", "Graph", "OIDC", "TOTP", "(SMS)"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s says %q: %q", id, bad, text)
			}
		}
	}
	for _, m := range AllMethods {
		if l := methodLabel(m); strings.Contains(l, "(") {
			t.Errorf("label %q", l)
		}
	}
}
