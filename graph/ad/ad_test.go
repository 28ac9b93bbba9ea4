package ad_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph/ad"
	"github.com/resetbot/resetbot/graph/ad/adtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	adtest.StopShared()
	os.Exit(code)
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// directory connects the bot's AD directory to the test DC as the delegated service account.
func directory(t *testing.T, dc *adtest.DC, edit ...func(*ad.Config)) (*ad.Directory, *logBuf) {
	t.Helper()
	logs := &logBuf{}
	cfg := ad.Config{URL: dc.URL, CAFile: dc.CAFile, BindDN: dc.ServiceDN, BindPassword: dc.ServicePW, BaseDN: adtest.BaseDN,
		Log: slog.New(slog.NewTextHandler(logs, nil)), Timeout: 5 * time.Second}
	for _, f := range edit {
		f(&cfg)
	}
	d, err := ad.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d, logs
}

func lookup(t *testing.T, d *ad.Directory, kind flows.ClaimKind, v string) flows.Account {
	t.Helper()
	a, err := d.Lookup(context.Background(), flows.Claim{Kind: kind, Value: v})
	if err != nil {
		t.Fatalf("lookup %s %q: %v", kind, v, err)
	}
	return a
}

func TestLookupByEveryClaim(t *testing.T) {
	dc := adtest.Get(t)
	d, _ := directory(t, dc)
	u := dc.CreateUser(t, "look")
	a := lookup(t, d, flows.ClaimUPN, u.Name)
	if a.UPN != u.UPN || a.Mail != u.Mail || !a.Enabled || a.Privileged || !a.Synced || a.Locked || len(a.ID) != 36 ||
		!strings.HasPrefix(a.OnPremSID, "S-1-5-21-") {
		t.Fatalf("account: %+v", a)
	}
	for _, c := range []flows.Claim{{Kind: flows.ClaimUPN, Value: u.UPN}, {Kind: flows.ClaimUPN, Value: `RESETBOT\` + u.Name},
		{Kind: flows.ClaimEmail, Value: u.Mail}, {Kind: flows.ClaimEmail, Value: strings.ToUpper(u.UPN)},
		{Kind: flows.ClaimObjectID, Value: a.ID}, {Kind: flows.ClaimSID, Value: a.OnPremSID}} {
		got, err := d.Lookup(context.Background(), c)
		if err != nil || got.ID != a.ID {
			t.Fatalf("lookup by %s %q: %+v %v", c.Kind, c.Value, got, err)
		}
	}
	// the objectGUID as AD tools show it
	raw := dc.Admin(t)
	res, err := raw.Search(ldap.NewSearchRequest(u.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"objectGUID"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	g := res.Entries[0].GetRawAttributeValue("objectGUID")
	if want := fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%x-%x", g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8:10], g[10:]); a.ID != want {
		t.Fatalf("id %s, want %s", a.ID, want)
	}
	for _, c := range []flows.Claim{{Kind: flows.ClaimUPN, Value: "nobody-here"}, {Kind: flows.ClaimEmail, Value: "x)(mail=*"},
		{Kind: flows.ClaimObjectID, Value: "not-a-guid"}, {Kind: flows.ClaimSID, Value: "S-1-5-21-1-2-3-999999"},
		{Kind: flows.ClaimSID, Value: "*"}, {Kind: flows.ClaimEmail, Value: "*"}} {
		if _, err := d.Lookup(context.Background(), c); !errors.Is(err, flows.ErrNotFound) {
			t.Fatalf("lookup %+v: %v, want not found", c, err)
		}
	}
	// two users with one mail address: ambiguous, never the first of them
	v := dc.CreateUser(t, "twin")
	dc.Modify(t, v.DN, map[string][]string{"mail": {u.Mail}})
	if _, err := d.Lookup(context.Background(), flows.Claim{Kind: flows.ClaimEmail, Value: u.Mail}); !errors.Is(err, flows.ErrAmbiguous) {
		t.Fatalf("shared mail: %v", err)
	}
	// disabled
	dc.Modify(t, v.DN, map[string][]string{"userAccountControl": {"514"}})
	if lookup(t, d, flows.ClaimUPN, v.Name).Enabled {
		t.Fatal("a disabled account reads as enabled")
	}
}

func TestNestedGroupsAndProtectedAccounts(t *testing.T) {
	dc := adtest.Get(t)
	d, logs := directory(t, dc)
	ctx := context.Background()
	// a group inside a group: the user's groups include both
	outer, inner := dc.CreateGroup(t, "rb-outer"), dc.CreateGroup(t, "rb-inner")
	u := dc.CreateUser(t, "nest")
	dc.AddMember(t, inner, u.DN)
	dc.AddMember(t, outer, inner)
	a := lookup(t, d, flows.ClaimUPN, u.Name)
	if len(a.Groups) < 2 || a.Privileged {
		t.Fatalf("groups %v privileged %v", a.Groups, a.Privileged)
	}

	// adminCount=1 alone makes an account protected
	withCount := dc.CreateUser(t, "cnt")
	dc.Modify(t, withCount.DN, map[string][]string{"adminCount": {"1"}})
	// a new member of Domain Admins, through a nested group, without adminCount (Samba has
	// no AdminSDHolder to set it)
	nested := dc.CreateUser(t, "da")
	dc.AddMember(t, "CN=Domain Admins,"+adtest.Users, inner)
	dc.AddMember(t, inner, nested.DN)
	// an account whose primary group is Domain Admins is in no member attribute at all
	primary := dc.CreateUser(t, "prim")
	dc.AddMember(t, "CN=Domain Admins,"+adtest.Users, primary.DN)
	dc.Modify(t, primary.DN, map[string][]string{"primaryGroupID": {"512"}})
	for _, p := range []struct {
		name, dn, pw string
	}{{withCount.Name, withCount.DN, withCount.Password}, {nested.Name, nested.DN, nested.Password},
		{primary.Name, primary.DN, primary.Password}, {"Administrator", dc.AdminDN, dc.AdminPW}} {
		a := lookup(t, d, flows.ClaimUPN, p.name)
		if !a.Privileged {
			t.Fatalf("%s is not privileged: %+v", p.name, a)
		}
		// the service account could change them (Samba lets it); the bot refuses by itself
		if err := d.SetPassword(ctx, a.ID, "Taken!Over-7731", false); !errors.Is(err, flows.ErrRefused) {
			t.Fatalf("reset of %s: %v", p.name, err)
		}
		if err := d.Unlock(ctx, a.ID); !errors.Is(err, flows.ErrRefused) {
			t.Fatalf("unlock of %s: %v", p.name, err)
		}
		if err := dc.Bind(p.dn, p.pw); err != nil {
			t.Fatalf("%s's password changed: %v", p.name, err)
		}
	}
	if !strings.Contains(logs.String(), "refused to change a protected Active Directory account") {
		t.Fatalf("log: %s", logs.String())
	}
	// a roster walk (and the expiry walk) marks privileged exactly whom a lookup does: the
	// reminders and the report judge who may self-serve as a chat step does
	want := map[string]bool{}
	for _, name := range []string{u.Name, withCount.Name, nested.Name, primary.Name, "Administrator"} {
		a := lookup(t, d, flows.ClaimUPN, name)
		want[a.ID] = a.Privileged
	}
	walked := map[string]bool{}
	if err := d.EachUser(ctx, nil, func(a flows.Account) error {
		if _, ok := want[a.ID]; ok {
			walked[a.ID] = a.Privileged
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	expiring := map[string]bool{}
	if err := d.PasswordExpiries(ctx, nil, func(p flows.PasswordExpiry) error {
		if _, ok := want[p.Account.ID]; ok {
			expiring[p.Account.ID] = p.Account.Privileged
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(walked, want) || !maps.Equal(expiring, want) {
		t.Fatalf("privileged by lookup %v, by the roster %v, by the expiry walk %v", want, walked, expiring)
	}
	// the deployment switch lets the bot serve them (the engine then asks for two methods)
	open, _ := directory(t, dc, func(c *ad.Config) { c.AllowPrivileged = true })
	if err := open.SetPassword(ctx, lookup(t, d, flows.ClaimUPN, withCount.Name).ID, "Allowed!Now-5521", false); err != nil {
		t.Fatalf("allowed privileged reset: %v", err)
	}
}

func TestLockUnlockResetAndForceChange(t *testing.T) {
	dc := adtest.Get(t)
	d, _ := directory(t, dc)
	ctx := context.Background()
	u := dc.CreateUser(t, "lock")
	id := lookup(t, d, flows.ClaimUPN, u.Name).ID
	dc.Lock(t, u)
	locked, at, err := d.LockedOut(ctx, id)
	if err != nil || !locked || time.Since(at) > time.Minute || time.Until(at) > time.Minute {
		t.Fatalf("locked %v at %v err %v", locked, at, err)
	}
	a := lookup(t, d, flows.ClaimUPN, u.Name)
	if !a.Locked {
		t.Fatal("lookup does not show the lockout")
	}
	since, err := d.LockedOutSince(ctx, at.Add(-time.Second))
	if err != nil || !containsID(since, id) {
		t.Fatalf("lockouts since: %v %v", since, err)
	}
	if later, _ := d.LockedOutSince(ctx, at.Add(time.Minute)); containsID(later, id) {
		t.Fatal("a lockout before the window is listed")
	}
	if err := d.Unlock(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := dc.Bind(u.DN, u.Password); err != nil {
		t.Fatalf("bind after unlock: %v", err)
	}
	if locked, _, _ := d.LockedOut(ctx, id); locked {
		t.Fatal("still locked")
	}

	// a reset also unlocks
	dc.Lock(t, u)
	if err := d.SetPassword(ctx, id, "Fresh!Meadow-4417", false); err != nil {
		t.Fatal(err)
	}
	if err := dc.Bind(u.DN, "Fresh!Meadow-4417"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if err := dc.Bind(u.DN, u.Password); !strings.Contains(fmt.Sprint(err), "data 52e") {
		t.Fatalf("old password: %v", err)
	}
	// a temporary password must be changed at the next sign-in: AD says 773
	if err := d.SetPassword(ctx, id, "Temp!Harbor-9032", true); err != nil {
		t.Fatal(err)
	}
	if err := dc.Bind(u.DN, "Temp!Harbor-9032"); !strings.Contains(fmt.Sprint(err), "data 773") {
		t.Fatalf("forced change: %v", err)
	}
	if err := d.VerifyPassword(ctx, id, "Temp!Harbor-9032"); !errors.Is(err, flows.ErrMustChangePassword) {
		t.Fatalf("verify with 773: %v", err)
	}
}

func containsID(as []flows.Account, id string) bool {
	for _, a := range as {
		if a.ID == id {
			return true
		}
	}
	return false
}

func TestVerifyPassword(t *testing.T) {
	dc := adtest.Get(t)
	d, _ := directory(t, dc)
	ctx := context.Background()
	u := dc.CreateUser(t, "verify")
	id := lookup(t, d, flows.ClaimUPN, u.Name).ID
	if err := d.VerifyPassword(ctx, id, u.Password); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if err := d.VerifyPassword(ctx, id, ""); !errors.Is(err, flows.ErrWrongPassword) {
		t.Fatalf("empty password (an unauthenticated bind) accepted: %v", err)
	}
	if err := d.VerifyPassword(ctx, id, "Wrong!"+u.Password); !errors.Is(err, flows.ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	dc.Lock(t, u)
	if err := d.VerifyPassword(ctx, id, u.Password); !errors.Is(err, flows.ErrAccountLocked) {
		t.Fatalf("locked: %v", err)
	}
}

func TestWeakPasswordAndPolicy(t *testing.T) {
	dc := adtest.Get(t)
	d, logs := directory(t, dc)
	ctx := context.Background()
	p, err := d.Policy(ctx)
	if err != nil || p.MinLength != 7 || !p.Complexity || p.History != 0 || p.LockoutThreshold != 3 {
		t.Fatalf("policy %+v %v", p, err)
	}
	rules, err := d.PasswordRules(ctx, "")
	if err != nil || rules.MinLength != 7 || !rules.Complexity {
		t.Fatalf("rules %+v %v", rules, err)
	}
	u := dc.CreateUser(t, "weak")
	id := lookup(t, d, flows.ClaimUPN, u.Name).ID
	for _, pw := range []string{"Ab1!", "alllowercase"} {
		err := d.SetPassword(ctx, id, pw, false)
		var pe *flows.PasswordError
		if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "at least 7 characters") || strings.Contains(pe.Reason, "0000052D") {
			t.Fatalf("weak %q: %v", pw, err)
		}
	}
	if !strings.Contains(logs.String(), "does not meet the domain's rules") {
		t.Fatalf("log: %s", logs.String())
	}
	if err := dc.Bind(u.DN, u.Password); err != nil {
		t.Fatalf("the refused change touched the password: %v", err)
	}
}

func TestServiceAccountWithoutRights(t *testing.T) {
	dc := adtest.Get(t)
	d, logs := directory(t, dc, func(c *ad.Config) { c.BindDN, c.BindPassword = dc.BareDN, dc.BarePW })
	ctx := context.Background()
	u := dc.CreateUser(t, "rights")
	id := lookup(t, d, flows.ClaimUPN, u.Name).ID
	err := d.SetPassword(ctx, id, "Fine!Password-8812", false)
	var pe *flows.PasswordError
	if err == nil || errors.As(err, &pe) || !strings.Contains(err.Error(), "lacks the right") {
		t.Fatalf("reset without rights: %v", err)
	}
	if err := d.Unlock(ctx, id); err == nil || !strings.Contains(err.Error(), "lacks the right") {
		t.Fatalf("unlock without rights: %v", err)
	}
	l := logs.String()
	if !strings.Contains(l, "Active Directory refused a change") || !strings.Contains(l, "delegate Reset Password") || !strings.Contains(l, u.DN) {
		t.Fatalf("log: %s", l)
	}
	// a wrong service password is named at start-up
	bad, _ := directory(t, dc, func(c *ad.Config) { c.BindPassword = "nope" })
	if err := bad.Check(ctx); err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Fatalf("check: %v", err)
	}
}

func TestOnlyEncryptedConnections(t *testing.T) {
	dc := adtest.Get(t)
	ctx := context.Background()
	// StartTLS on 389 works
	st, _ := directory(t, dc, func(c *ad.Config) { c.URL = dc.PlainURL })
	if err := st.Check(ctx); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	u := dc.CreateUser(t, "tls")
	if err := st.SetPassword(ctx, lookup(t, st, flows.ClaimUPN, u.Name).ID, "Over!StartTLS-2290", false); err != nil {
		t.Fatalf("reset over StartTLS: %v", err)
	}
	// an untrusted certificate is refused
	other := t.TempDir() + "/other.pem"
	if err := os.WriteFile(other, selfSigned(t), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{dc.URL, dc.PlainURL} {
		d, _ := directory(t, dc, func(c *ad.Config) { c.URL, c.CAFile = url, other })
		if err := d.Check(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("%s with an untrusted CA: %v", url, err)
		}
	}
	// configuration problems are all named at once
	bad := ad.Config{URL: "http://dc", CAFile: "/nonexistent.pem", BaseDN: "not a dn"}.Validate()
	if len(bad) != 4 {
		t.Fatalf("validate: %q", bad)
	}
}

func TestReconnectsAfterTheConnectionDrops(t *testing.T) {
	dc := adtest.Get(t)
	p := newProxy(t, dc.IP+":636")
	d, _ := directory(t, dc, func(c *ad.Config) { c.URL = "ldaps://" + p.addr; c.ServerName = dc.IP })
	u := dc.CreateUser(t, "reconn")
	a := lookup(t, d, flows.ClaimUPN, u.Name)
	p.drop() // every pooled connection is cut, as when a DC restarts or a firewall idles it out
	if got := lookup(t, d, flows.ClaimObjectID, a.ID); got.ID != a.ID {
		t.Fatal("lookup after drop")
	}
	if p.accepted() < 2 {
		t.Fatalf("connections: %d, want a new one after the drop", p.accepted())
	}
}

// proxy forwards TCP to the DC and can cut every connection.
type proxy struct {
	addr  string
	mu    sync.Mutex
	conns []net.Conn
	n     int
}

func newProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: l.Addr().String()}
	t.Cleanup(func() { l.Close(); p.drop() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.n++
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) accepted() int { p.mu.Lock(); defer p.mu.Unlock(); return p.n }

func TestRosterGroupsAndManager(t *testing.T) {
	dc := adtest.Get(t)
	d, _ := directory(t, dc)
	ctx := context.Background()
	outer, inner := dc.CreateGroup(t, "rb-staff"), dc.CreateGroup(t, "rb-team")
	a, b, c := dc.CreateUser(t, "ra"), dc.CreateUser(t, "rb"), dc.CreateUser(t, "rc")
	dc.AddMember(t, outer, a.DN)
	dc.AddMember(t, outer, inner)
	dc.AddMember(t, inner, b.DN)
	dc.AddMember(t, inner, a.DN) // a is in both: listed once
	gid, err := d.ResolveGroup(ctx, strings.TrimPrefix(strings.Split(outer, ",")[0], "CN="))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ResolveGroup(ctx, "no-such-group"); !errors.Is(err, flows.ErrNotFound) {
		t.Fatalf("unknown group: %v", err)
	}
	var names []string
	if err := d.EachUser(ctx, []string{gid}, func(x flows.Account) error { names = append(names, x.UPN); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || !strings.Contains(strings.Join(names, ","), a.UPN) || !strings.Contains(strings.Join(names, ","), b.UPN) {
		t.Fatalf("members of the nested group: %v", names)
	}
	all := 0
	if err := d.EachUser(ctx, nil, func(x flows.Account) error {
		if x.UPN == c.UPN {
			all++
		}
		return nil
	}); err != nil || all != 1 {
		t.Fatalf("all users: %d %v", all, err)
	}
	if ms, err := d.Members(ctx, gid); err != nil || len(ms) != 2 {
		t.Fatalf("members: %v %v", ms, err)
	}
	dc.Modify(t, b.DN, map[string][]string{"manager": {c.DN}})
	m, err := d.Manager(ctx, lookup(t, d, flows.ClaimUPN, b.Name).ID)
	if err != nil || m.UPN != c.UPN {
		t.Fatalf("manager: %+v %v", m, err)
	}
	if _, err := d.Manager(ctx, lookup(t, d, flows.ClaimUPN, c.Name).ID); !errors.Is(err, flows.ErrNotFound) {
		t.Fatalf("no manager: %v", err)
	}
}
