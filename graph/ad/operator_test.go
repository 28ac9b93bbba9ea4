package ad_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/bot/web/webtest"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph/ad"
	"github.com/resetbot/resetbot/graph/ad/adtest"
	"github.com/resetbot/resetbot/store/storetest"
)

// A service account delegated with the wizard's "Reset user passwords and force password
// change at next logon" is told at start that it cannot write lockoutTime, with the fix.
func TestStartupCheckNamesTheRightsTheServiceAccountLacks(t *testing.T) {
	dc := adtest.Get(t)
	ctx := context.Background()
	dc.CreateUser(t, "probe") // an ordinary user to check on
	full, _ := directory(t, dc)
	if p := full.CheckRights(ctx); len(p) != 0 {
		t.Fatalf("the delegated service account: %q", p)
	}
	wizard, _ := directory(t, dc, func(c *ad.Config) { c.BindDN, c.BindPassword = dc.WizardDN, dc.WizardPW })
	p := wizard.CheckRights(ctx)
	all := strings.Join(p, "\n")
	if len(p) != 2 || !strings.Contains(p[0], "cannot write lockoutTime") || strings.Contains(all, "cannot write pwdLastSet") ||
		!strings.Contains(p[1], `dsacls "`+adtest.BaseDN+`" /I:S /G "DOMAIN\svc-wizard:RPWP;lockoutTime;user"`) || !strings.Contains(p[1], "Set-Acl") {
		t.Fatalf("wizard rights: %q", p)
	}
	bare, _ := directory(t, dc, func(c *ad.Config) { c.BindDN, c.BindPassword = dc.BareDN, dc.BarePW })
	if p := strings.Join(bare.CheckRights(ctx), "\n"); !strings.Contains(p, "cannot write lockoutTime") || !strings.Contains(p, "cannot write pwdLastSet") {
		t.Fatalf("no rights: %q", p)
	}
}

// tap keeps what the bot writes on its LDAPS connections (the plaintext inside TLS).
type tap struct {
	mu  sync.Mutex
	out bytes.Buffer
}

type tapped struct {
	net.Conn
	t *tap
}

func (c tapped) Write(p []byte) (int, error) {
	c.t.mu.Lock()
	c.t.out.Write(p)
	c.t.mu.Unlock()
	return c.Conn.Write(p)
}

// modifyControls lists, for each ModifyRequest written, its controls as "oid critical value-hex".
func (t *tap) modifyControls(tb testing.TB) [][]string {
	t.mu.Lock()
	r := bytes.NewReader(t.out.Bytes())
	t.mu.Unlock()
	var out [][]string
	for r.Len() > 0 {
		p, err := ber.ReadPacket(r)
		if err != nil {
			tb.Fatalf("reading what was sent: %v", err)
		}
		if len(p.Children) < 2 || p.Children[1].Tag != ldap.ApplicationModifyRequest {
			continue
		}
		var cs []string
		if len(p.Children) > 2 {
			for _, c := range p.Children[2].Children {
				oid := fmt.Sprint(c.Children[0].Value)
				crit := len(c.Children) > 2 && c.Children[1].Value == true
				val := ""
				if len(c.Children) > 1 {
					val = fmt.Sprintf("%x", c.Children[len(c.Children)-1].Data.Bytes())
				}
				cs = append(cs, fmt.Sprintf("%s %v %s", oid, crit, val))
			}
		}
		out = append(out, cs)
	}
	return out
}

// A reset carries LDAP_SERVER_POLICY_HINTS_OID (critical, value SEQUENCE { INTEGER 1 }), so a
// domain that keeps a password history applies it to the bot's resets; a DC that does not know
// it refuses the critical control, and the deprecated OID, then no control, follow. (Samba 4.17
// takes the control but does not apply the history to resets, so only the wire is checked.)
func TestResetSendsThePolicyHintsControl(t *testing.T) {
	dc := adtest.Get(t)
	tp := &tap{}
	d, logs := directory(t, dc, func(c *ad.Config) { c.Tap = func(n net.Conn) net.Conn { return tapped{n, tp} } })
	u := dc.CreateUser(t, "hints")
	id := lookup(t, d, flows.ClaimUPN, u.Name).ID
	if err := d.SetPassword(context.Background(), id, "Hinted!Reset-731", false); err != nil {
		t.Fatal(err)
	}
	if err := dc.Bind(u.DN, "Hinted!Reset-731"); err != nil {
		t.Fatalf("password not set: %v", err)
	}
	mods := tp.modifyControls(t)
	t.Logf("controls of the modify requests sent: %q", mods)
	if len(mods) == 0 || len(mods[0]) != 1 || mods[0][0] != "1.2.840.113556.1.4.2239 true 3003020101" {
		t.Fatalf("the first reset's controls: %q", mods)
	}
	if len(mods) > 1 && (len(mods) != 3 || mods[1][0] != "1.2.840.113556.1.4.2066 true 3003020101" || len(mods[2]) != 0 ||
		!strings.Contains(logs.String(), "does not apply password history")) {
		t.Fatalf("the fallback: %q", mods)
	}
	// the next reset goes straight to what the DC takes
	before := len(mods)
	if err := d.SetPassword(context.Background(), id, "Hinted!Reset-732", false); err != nil {
		t.Fatal(err)
	}
	if mods := tp.modifyControls(t); len(mods) != before+1 {
		t.Fatalf("the second reset tried again: %q", mods[before:])
	}
}

// Three wrong passwords on the registration page, with badPwdCount already at 1 and a lockout
// threshold of 3: the page tries one (leaving the person one try at their computer), then says
// plainly why it stops; the account is never locked.
func TestPageSignInNeverLocksTheAccount(t *testing.T) {
	dc := adtest.Get(t)
	h, d, _ := adBot(t, dc, nil)
	srv := httptest.NewTLSServer(web.New(h.Engine, nil, h.Crypto, h.Store, slogDiscard()).Handler())
	t.Cleanup(srv.Close)
	u := dc.CreateUser(t, "nolock")
	id := lookup(t, d, flows.ClaimUPN, u.Name).ID
	if err := dc.Bind(u.DN, "Typo!"+u.Password); err == nil { // a typo at the workstation
		t.Fatal("a wrong password bound")
	}
	if n := badPwdCount(t, dc, u.DN); n != 1 {
		t.Fatalf("badPwdCount %d", n)
	}
	rs := h.Say("U15", u.Mail, "register")
	link := strings.Replace(storetest.Link(t, rs), "https://bot.test", srv.URL, 1)
	b := webtest.New(t, srv.Client())
	b.Get(link)
	b.Submit("", nil)
	b.Submit("/signin", url.Values{"password": {"Wrong!1"}})
	if b.Status != 401 || !strings.Contains(b.Last, "That password isn") {
		t.Fatalf("first wrong password: %d %s", b.Status, b.Last)
	}
	for i := 2; i <= 3; i++ {
		b.Submit("/signin", url.Values{"password": {fmt.Sprintf("Wrong!%d", i)}})
		if b.Status != 429 || !strings.Contains(b.Last, "did not check that password") || !strings.Contains(b.Last, "locks it after 3") {
			t.Fatalf("wrong password %d: %d %s", i, b.Status, b.Last)
		}
	}
	if locked, _, err := d.LockedOut(context.Background(), id); err != nil || locked {
		t.Fatalf("locked %v, %v", locked, err)
	}
	if n := badPwdCount(t, dc, u.DN); n != 2 {
		t.Fatalf("badPwdCount %d: the page tried more than one password", n)
	}
	// a sign-in at the workstation clears the count; the page then takes the right password
	if err := dc.Bind(u.DN, u.Password); err != nil {
		t.Fatal(err)
	}
	b.Submit("/signin", url.Values{"password": {u.Password}})
	if b.Status != 200 || !strings.Contains(b.URL.Path, "/enrol") {
		t.Fatalf("right password: %d %s", b.Status, b.Last)
	}
}

// The page states the domain's minimum length before typing (and its live checklist uses it);
// a password AD refuses (here: the domain raised its minimum after the page was shown) leaves
// the link usable, and a good password on the same link is set.
func TestDomainRulesOnThePageAndARefusalKeepsTheLink(t *testing.T) {
	dc := adtest.Get(t)
	h, d, _ := adBot(t, dc, nil)
	srv := httptest.NewTLSServer(web.New(h.Engine, nil, h.Crypto, h.Store, slogDiscard()).Handler())
	t.Cleanup(srv.Close)
	u, _, secret := registered(t, h, dc, d)
	dc.Modify(t, adtest.BaseDN, map[string][]string{"minPwdLength": {"12"}})
	t.Cleanup(func() { dc.Modify(t, adtest.BaseDN, map[string][]string{"minPwdLength": {"7"}}) })
	rs := prove(t, h, "U16", u.Mail, secret, "reset my password")
	link := strings.Replace(storetest.Link(t, rs), "https://bot.test", srv.URL, 1)
	b := webtest.New(t, srv.Client())
	b.Get(link)
	if !strings.Contains(b.Last, "at least 12 characters") || !strings.Contains(b.Last, `data-min="12"`) || !strings.Contains(b.Last, `minlength="12"`) {
		t.Fatalf("the page does not state the domain's minimum: %s", b.Last)
	}
	// the domain raises its minimum while the page is open
	dc.Modify(t, adtest.BaseDN, map[string][]string{"minPwdLength": {"16"}})
	b.Submit("", url.Values{"password": {"Thirteen!Ch-4"}, "confirm": {"Thirteen!Ch-4"}})
	if b.Status != 422 || !strings.Contains(b.Last, "at least 16 characters") || !strings.Contains(b.Last, `data-min="16"`) {
		t.Fatalf("refused by AD: %d %s", b.Status, b.Last)
	}
	b.Submit("", url.Values{"password": {"Seventeen!Chars-9"}, "confirm": {"Seventeen!Chars-9"}})
	if b.Status != 200 || !strings.Contains(b.Last, "Your password was changed") {
		t.Fatalf("a good password on the same link: %d %s", b.Status, b.Last)
	}
	if err := dc.Bind(u.DN, "Seventeen!Chars-9"); err != nil {
		t.Fatal(err)
	}
}

// applyPSO gives u a fine-grained password policy with the given settings over lenient
// defaults, removed when the test ends.
func applyPSO(t *testing.T, dc *adtest.DC, u adtest.User, set map[string]string) {
	t.Helper()
	dn := "CN=rb-pso-" + u.Name + ",CN=Password Settings Container,CN=System," + adtest.BaseDN
	attrs := map[string]string{"objectClass": "msDS-PasswordSettings", "msDS-PasswordSettingsPrecedence": "1",
		"msDS-PasswordReversibleEncryptionEnabled": "FALSE", "msDS-PasswordHistoryLength": "0", "msDS-PasswordComplexityEnabled": "TRUE",
		"msDS-MinimumPasswordLength": "7", "msDS-MinimumPasswordAge": "0", "msDS-MaximumPasswordAge": "-37108517437440",
		"msDS-LockoutThreshold": "0", "msDS-LockoutObservationWindow": "-18000000000", "msDS-LockoutDuration": "-18000000000",
		"msDS-PSOAppliesTo": u.DN}
	for k, v := range set {
		attrs[k] = v
	}
	add := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		add.Attribute(k, []string{v})
	}
	if err := dc.Admin(t).Add(add); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dc.Admin(t).Del(ldap.NewDelRequest(dn, nil)) })
}

// A locked-out person who never registered is sent to the helpdesk with what to tell them,
// both when asking to be unlocked and when asking to register: never to a registration page
// that cannot sign a locked account in.
func TestLockedOutAndNotRegisteredGetsTheHelpdesk(t *testing.T) {
	dc := adtest.Get(t)
	h, _, _ := adBot(t, dc, nil)
	u := dc.CreateUser(t, "lockreg")
	dc.Lock(t, u)
	for _, text := range []string{"I'm locked out", "register", "reset my password"} {
		rs := h.Say("U17", u.Mail, text)
		if len(rs) != 1 || rs[0].MsgID != flows.MsgLockedUnregistered || rs[0].Link != "" ||
			!strings.Contains(rs[0].Text, h.Policy.HelpdeskURL) || !strings.Contains(rs[0].Text, u.UPN) {
			t.Fatalf("%q: %s", text, storetest.Render(rs))
		}
	}
	// once unlocked by the helpdesk, "register" gives the link
	dc.Modify(t, u.DN, map[string][]string{"lockoutTime": {"0"}})
	if rs := h.Say("U17", u.Mail, "register"); !storetest.Has(rs, flows.MsgRegisterLink) {
		t.Fatalf("after the unlock: %s", storetest.Render(rs))
	}
}
