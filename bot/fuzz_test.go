package bot_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot"
)

// The configuration loader takes any environment without a panic; whatever it accepts has the
// properties serve relies on.
func FuzzConfig(f *testing.F) {
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	f.Add("PUBLIC_BASE_URL=https://bot.example.com\nREDIS_URL=redis://r:6379\nSEAL_KEYS=k1:" + key + "\nMAC_KEY=" + key +
		"\nGRAPH_TENANT_ID=t\nGRAPH_CLIENT_ID=c\nGRAPH_CLIENT_SECRET=s\nOIDC_ISSUER=https://login.example.com/t/v2.0\nSMTP_ADDR=smtp:587\nSMTP_FROM=a@b.c")
	f.Add("AD_URL=ldaps://dc\nAD_LOCKOUT_POLL=1s\nSEAL_KEYS=:,:x\nPHONE_BUDGET_PER_HOUR=-1\nSLACK_BOT_TOKEN=xoxb-1\nSLACK_MODE=http")
	f.Add("PUBLIC_BASE_URL=http://127.0.0.1:8080\nREDIS_ADDRS=a:1,b:2\nREDIS_CLUSTER=maybe\nAUDIT_MAX_AGE_DAYS=0")
	f.Fuzz(func(t *testing.T, env string) {
		vals := map[string]string{}
		for _, line := range strings.Split(env, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				vals[k] = v
			}
		}
		c, errs := bot.FromEnv(func(k string) string { return vals[k] })
		if len(errs) > 0 || c.Validate() != nil {
			return
		}
		u, err := url.Parse(c.PublicBaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			t.Fatalf("accepted PUBLIC_BASE_URL %q", c.PublicBaseURL)
		}
		if len(c.MACKey) < 32 || len(c.SealKeys) == 0 {
			t.Fatal("accepted without keys")
		}
		for id, k := range c.SealKeys {
			if len(k) != 32 {
				t.Fatalf("accepted seal key %q of %d bytes", id, len(k))
			}
		}
		if !c.Entra() && !c.AD() {
			t.Fatal("accepted without a directory")
		}
		if c.RedisURL == "" && len(c.RedisAddrs) == 0 {
			t.Fatal("accepted without Redis")
		}
	})
}
