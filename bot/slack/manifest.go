package slack

import (
	_ "embed"
	"strings"
)

// manifest is the app manifest operators paste into Slack's app settings.
//
//go:embed manifest.yaml
var manifest string

// Manifest returns the app manifest (YAML).
func Manifest() string { return manifest }

// ManifestScopes lists the bot scopes the manifest asks for (oauth_config.scopes.bot).
func ManifestScopes() []string {
	var out []string
	in := false
	for _, l := range strings.Split(manifest, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case t == "bot:":
			in = true
		case in && strings.HasPrefix(t, "- "):
			out = append(out, strings.TrimSpace(strings.TrimPrefix(t, "- ")))
		case in && t != "" && !strings.HasPrefix(t, "#"):
			return out
		}
	}
	return out
}
