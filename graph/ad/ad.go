// Package ad reaches on-premises Active Directory over LDAPS or StartTLS (never plain LDAP):
// it finds users, tells their lockout state and privilege, unlocks them and resets their
// passwords. It implements flows.Directory and never imports the Graph SDK.
package ad

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/resetbot/resetbot/flows"
)

// Config says how to reach the directory.
type Config struct {
	URL          string // ldaps://dc.example.com:636, or ldap://dc.example.com:389 (StartTLS is then required)
	CAFile       string // PEM bundle trusted for the directory's certificate; empty = the system roots
	ServerName   string // the certificate's name when it differs from the URL's host
	BindDN       string // the service account, delegated Reset Password and lockoutTime/pwdLastSet
	BindPassword string
	BaseDN       string        // where users are searched (e.g. DC=corp,DC=example,DC=com)
	PoolSize     int           // pooled service connections (default 4)
	Timeout      time.Duration // dial and per-request timeout (default 5 s)
	// AllowPrivileged lets the bot change protected accounts (adminCount=1, protected groups);
	// off by default, and only ever on together with the deployment's ALLOW_PRIVILEGED_USERS.
	AllowPrivileged bool
	Log             *slog.Logger
	Now             func() time.Time
	// Tap, when set, wraps each LDAPS connection after the TLS handshake: tests read what the
	// bot sends on the wire (the controls of a password reset).
	Tap func(net.Conn) net.Conn
}

// Directory is Active Directory over a small pool of TLS-protected service connections.
type Directory struct {
	cfg  Config
	tls  *tls.Config
	addr *url.URL
	pool chan *ldap.Conn
	log  *slog.Logger

	mu       sync.Mutex
	domain   Policy
	domainAt time.Time
	hintsOID string // the policy-hints control this DC takes; "" when it takes none
}

// Validate lists every problem of the configuration at once.
func (c Config) Validate() []string {
	var bad []string
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		bad = append(bad, "AD_URL is required (ldaps://host:636, or ldap://host:389 with StartTLS)")
	case err != nil || (u.Scheme != "ldaps" && u.Scheme != "ldap") || u.Host == "":
		bad = append(bad, "AD_URL must look like ldaps://host:636 or ldap://host:389 (StartTLS is always used on ldap://)")
	}
	if c.BindDN == "" || c.BindPassword == "" {
		bad = append(bad, "AD_BIND_DN and AD_BIND_PASSWORD are required (the delegated service account)")
	}
	if c.BaseDN == "" {
		bad = append(bad, "AD_BASE_DN is required (e.g. DC=corp,DC=example,DC=com)")
	} else if _, err := ldap.ParseDN(c.BaseDN); err != nil {
		bad = append(bad, "AD_BASE_DN is not a distinguished name: "+err.Error())
	}
	if c.CAFile != "" {
		if b, err := os.ReadFile(c.CAFile); err != nil {
			bad = append(bad, "AD_CA_FILE cannot be read: "+err.Error())
		} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
			bad = append(bad, "AD_CA_FILE holds no PEM certificate")
		}
	}
	return bad
}

// New checks the configuration; it does not connect (Check does).
func New(cfg Config) (*Directory, error) {
	if bad := cfg.Validate(); len(bad) > 0 {
		return nil, errors.New("ad: " + strings.Join(bad, "; "))
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 4
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	u, _ := url.Parse(cfg.URL)
	if u.Port() == "" {
		port := "636"
		if u.Scheme == "ldap" {
			port = "389"
		}
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
	if cfg.ServerName != "" {
		tc.ServerName = cfg.ServerName
	}
	if cfg.CAFile != "" {
		b, _ := os.ReadFile(cfg.CAFile)
		tc.RootCAs = x509.NewCertPool()
		tc.RootCAs.AppendCertsFromPEM(b)
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	return &Directory{cfg: cfg, tls: tc, addr: u, pool: make(chan *ldap.Conn, cfg.PoolSize), log: log, hintsOID: PolicyHintsOID}, nil
}

// Close drops the pooled connections.
func (d *Directory) Close() {
	for {
		select {
		case c := <-d.pool:
			c.Close()
		default:
			return
		}
	}
}

// Check connects and binds as the service account: a start-up check.
func (d *Directory) Check(ctx context.Context) error {
	return d.with(ctx, func(c *ldap.Conn) error {
		_, err := c.Search(ldap.NewSearchRequest(d.cfg.BaseDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"distinguishedName"}, nil))
		return err
	})
}

// dial opens a TLS-protected connection: LDAPS, or StartTLS before anything else is sent.
func (d *Directory) dial(ctx context.Context) (*ldap.Conn, error) {
	dl := &net.Dialer{Timeout: d.cfg.Timeout}
	if dead, ok := ctx.Deadline(); ok && time.Until(dead) < d.cfg.Timeout {
		dl.Timeout = time.Until(dead)
	}
	var c *ldap.Conn
	var err error
	if d.addr.Scheme == "ldaps" {
		var tc *tls.Conn
		tc, err = tls.DialWithDialer(dl, "tcp", d.addr.Host, d.tls)
		if err == nil {
			var nc net.Conn = tc
			if d.cfg.Tap != nil {
				nc = d.cfg.Tap(nc)
			}
			c = ldap.NewConn(nc, true)
			c.Start()
		}
	} else {
		c, err = ldap.DialURL("ldap://"+d.addr.Host, ldap.DialWithDialer(dl))
		if err == nil {
			c.SetTimeout(d.cfg.Timeout)
			if err = c.StartTLS(d.tls); err != nil {
				c.Close()
				return nil, fmt.Errorf("ad: StartTLS with %s refused: %w", d.addr.Host, err)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ad: connect to %s: %w", d.addr.Host, err)
	}
	c.SetTimeout(d.cfg.Timeout)
	return c, nil
}

// get takes a pooled service connection or opens and binds a new one.
func (d *Directory) get(ctx context.Context) (*ldap.Conn, error) {
	select {
	case c := <-d.pool:
		if !c.IsClosing() {
			return c, nil
		}
		c.Close()
	default:
	}
	c, err := d.dial(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.Bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
		c.Close()
		return nil, fmt.Errorf("ad: the service account %s cannot sign in (%s): %w", d.cfg.BindDN, BindReason(err), err)
	}
	return c, nil
}

func (d *Directory) put(c *ldap.Conn) {
	select {
	case d.pool <- c:
	default:
		c.Close()
	}
}

// with runs fn on a service connection. A connection that broke is dropped and fn is tried
// once more on a fresh one (every call here is safe to repeat).
func (d *Directory) with(ctx context.Context, fn func(*ldap.Conn) error) error {
	for try := 0; ; try++ {
		c, err := d.get(ctx)
		if err != nil {
			return err
		}
		err = fn(c)
		if err != nil && broken(err, c) {
			c.Close()
			if try == 0 && ctx.Err() == nil {
				continue
			}
			return fmt.Errorf("ad: connection to %s lost: %w", d.addr.Host, err)
		}
		d.put(c)
		return err
	}
}

func broken(err error, c *ldap.Conn) bool {
	var le *ldap.Error
	if errors.As(err, &le) && (le.ResultCode == ldap.ErrorNetwork || le.ResultCode == ldap.LDAPResultServerDown) {
		return true
	}
	return c.IsClosing()
}

// attributes read for a user.
var userAttrs = []string{"objectGUID", "objectSid", "sAMAccountName", "userPrincipalName", "mail", "displayName",
	"userAccountControl", "adminCount", "primaryGroupID", "lockoutTime", "msDS-User-Account-Control-Computed",
	"preferredLanguage", "badPwdCount", "badPasswordTime"}

const people = "(objectCategory=person)(objectClass=user)"

// user is what the directory says of one user.
type user struct {
	DN       string
	GUID     string
	SID      string
	Sam      string
	UPN      string
	Mail     string
	Name     string
	UAC      int64
	Computed int64
	Admin    bool
	Primary  int
	Lockout  time.Time
	BadPwd   int       // badPwdCount on this domain controller (not replicated)
	BadAt    time.Time // badPasswordTime: the last wrong password
}

func parseUser(e *ldap.Entry) user {
	u := user{DN: e.DN, Sam: e.GetAttributeValue("sAMAccountName"), UPN: e.GetAttributeValue("userPrincipalName"),
		Mail: e.GetAttributeValue("mail"), Name: e.GetAttributeValue("displayName")}
	u.GUID = guidString(e.GetRawAttributeValue("objectGUID"))
	u.SID = sidString(e.GetRawAttributeValue("objectSid"))
	u.UAC, _ = strconv.ParseInt(e.GetAttributeValue("userAccountControl"), 10, 64)
	u.Computed, _ = strconv.ParseInt(e.GetAttributeValue("msDS-User-Account-Control-Computed"), 10, 64)
	u.Admin = e.GetAttributeValue("adminCount") == "1"
	u.Primary, _ = strconv.Atoi(e.GetAttributeValue("primaryGroupID"))
	if ft, err := strconv.ParseInt(e.GetAttributeValue("lockoutTime"), 10, 64); err == nil && ft > 0 {
		u.Lockout = fromFiletime(ft)
	}
	u.BadPwd, _ = strconv.Atoi(e.GetAttributeValue("badPwdCount"))
	if ft, err := strconv.ParseInt(e.GetAttributeValue("badPasswordTime"), 10, 64); err == nil && ft > 0 {
		u.BadAt = fromFiletime(ft)
	}
	if u.Name == "" {
		u.Name = u.Sam
	}
	return u
}

// userAccountControl and its computed twin.
const (
	uacDisabled = 0x2
	uacLockout  = 0x10
)

func (u user) locked() bool { return u.Computed&uacLockout != 0 }

// find searches for exactly one user by the claim.
func (d *Directory) find(ctx context.Context, c flows.Claim) (user, error) {
	v := strings.TrimSpace(c.Value)
	if v == "" || len(v) > 256 {
		return user{}, flows.ErrNotFound
	}
	var f string
	switch c.Kind {
	case flows.ClaimEmail:
		e := ldap.EscapeFilter(v)
		f = "(|(mail=" + e + ")(userPrincipalName=" + e + ")(proxyAddresses=smtp:" + e + "))"
	case flows.ClaimUPN:
		e := ldap.EscapeFilter(v)
		if _, name, ok := strings.Cut(v, `\`); ok {
			f = "(sAMAccountName=" + ldap.EscapeFilter(name) + ")"
		} else if strings.Contains(v, "@") {
			f = "(userPrincipalName=" + e + ")"
		} else {
			f = "(sAMAccountName=" + e + ")"
		}
	case flows.ClaimObjectID:
		g, err := guidBytes(v)
		if err != nil {
			return user{}, flows.ErrNotFound
		}
		f = "(objectGUID=" + ldap.EscapeFilter(string(g)) + ")"
	case flows.ClaimSID:
		if !validSID(v) {
			return user{}, flows.ErrNotFound
		}
		f = "(objectSid=" + v + ")"
	default:
		return user{}, flows.ErrNotFound
	}
	var found []*ldap.Entry
	err := d.with(ctx, func(conn *ldap.Conn) error {
		res, err := conn.Search(ldap.NewSearchRequest(d.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false,
			"(&"+people+f+")", userAttrs, nil))
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			found = []*ldap.Entry{nil, nil}
			return nil
		}
		if err != nil {
			return err
		}
		found = res.Entries
		return nil
	})
	if err != nil {
		return user{}, fmt.Errorf("ad: find user: %w", Explain(err))
	}
	switch len(found) {
	case 0:
		return user{}, flows.ErrNotFound
	case 1:
		return parseUser(found[0]), nil
	default:
		return user{}, flows.ErrAmbiguous
	}
}

// Lookup implements flows.Directory: the user, their transitive groups and whether AD protects
// them. If group membership cannot be read, the lookup fails: unknown privilege is never served.
func (d *Directory) Lookup(ctx context.Context, c flows.Claim) (flows.Account, error) {
	u, err := d.find(ctx, c)
	if err != nil {
		return flows.Account{}, err
	}
	groups, protected, err := d.groups(ctx, u)
	if err != nil {
		return flows.Account{}, err
	}
	a := rosterAccount(u)
	a.Groups, a.Privileged = groups, protected
	return a, nil
}

// inChain is LDAP_MATCHING_RULE_IN_CHAIN: membership through any depth of nesting.
const inChain = "1.2.840.113556.1.4.1941"

// groups lists the user's transitive groups (by objectGUID) and says whether the user is
// protected: adminCount=1, a protected primary group or account, or a transitive member of a
// protected group.
func (d *Directory) groups(ctx context.Context, u user) ([]string, bool, error) {
	protected := u.selfProtected()
	es, err := d.search(ctx, "(&(objectClass=group)(member:"+inChain+":="+ldap.EscapeFilter(u.DN)+"))", []string{"objectGUID", "objectSid"})
	if err != nil {
		return nil, true, fmt.Errorf("ad: group membership of %s unknown, refusing: %w", u.DN, err)
	}
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, guidString(e.GetRawAttributeValue("objectGUID")))
		protected = protected || protectedRID(sidString(e.GetRawAttributeValue("objectSid")))
	}
	return out, protected, nil
}

// selfProtected: the account itself says it is protected (adminCount=1, or a protected account
// or primary group by RID), before its group memberships are read.
func (u user) selfProtected() bool {
	return u.Admin || protectedRID(u.SID) || protectedRID(domainPart(u.SID)+"-"+strconv.Itoa(u.Primary))
}

// protectedMembers are the objectGUIDs of every transitive member of a protected group, read
// once for a whole walk (a search for the groups, one per protected group): with selfProtected,
// what groups says of each user, so a roster walk marks privileged whom Lookup does.
func (d *Directory) protectedMembers(ctx context.Context) (map[string]bool, error) {
	gs, err := d.search(ctx, "(objectClass=group)", []string{"objectSid"})
	if err != nil {
		return nil, fmt.Errorf("ad: protected groups unknown: %w", err)
	}
	out := map[string]bool{}
	for _, g := range gs {
		if !protectedRID(sidString(g.GetRawAttributeValue("objectSid"))) {
			continue
		}
		es, err := d.search(ctx, "(&"+people+"(memberOf:"+inChain+":="+ldap.EscapeFilter(g.DN)+"))", []string{"objectGUID"})
		if err != nil {
			return nil, fmt.Errorf("ad: members of %s unknown: %w", g.DN, err)
		}
		for _, e := range es {
			out[guidString(e.GetRawAttributeValue("objectGUID"))] = true
		}
	}
	return out, nil
}

// changeable finds a user by object id (GUID) for a change, and refuses protected accounts.
func (d *Directory) changeable(ctx context.Context, userID string) (user, error) {
	u, err := d.find(ctx, flows.Claim{Kind: flows.ClaimObjectID, Value: userID})
	if err != nil {
		return user{}, err
	}
	_, protected, err := d.groups(ctx, u)
	if err != nil {
		return user{}, err
	}
	if protected && !d.cfg.AllowPrivileged {
		d.log.Warn("refused to change a protected Active Directory account", "dn", u.DN,
			"why", "adminCount=1 or a member of a protected group (Domain Admins, Administrators, ...)")
		return user{}, fmt.Errorf("%w: %s is a protected account", flows.ErrRefused, u.DN)
	}
	return u, nil
}

// SetPassword implements flows.Directory: the new password replaces unicodePwd (quoted,
// UTF-16LE), the account is unlocked in the same change and, when asked, must change the
// password at the next sign-in.
func (d *Directory) SetPassword(ctx context.Context, userID, password string, forceChange bool) error {
	u, err := d.changeable(ctx, userID)
	if err != nil {
		return err
	}
	for {
		hints := d.hints()
		var controls []ldap.Control
		if hints != "" {
			controls = []ldap.Control{policyHints(hints)}
		}
		m := ldap.NewModifyRequest(u.DN, controls)
		m.Replace("unicodePwd", []string{QuotePassword(password)})
		m.Replace("lockoutTime", []string{"0"})
		if forceChange {
			m.Replace("pwdLastSet", []string{"0"})
		}
		err = d.with(ctx, func(c *ldap.Conn) error { return c.Modify(m) })
		if hints != "" && ldap.IsErrorWithCode(err, ldap.LDAPResultUnavailableCriticalExtension) {
			d.noHints(hints)
			continue
		}
		if err != nil {
			return d.changeFailed("reset the password of", u, err)
		}
		return nil
	}
}

// changeFailed turns a refused change into a plain reason for the person (a *flows.PasswordError
// when the password itself was refused) and a precise line in the log.
func (d *Directory) changeFailed(what string, u user, err error) error {
	x := Explain(err)
	d.log.Error("Active Directory refused a change", "change", what, "dn", u.DN, "reason", x.Error(), "err", err)
	if strings.Contains(strings.ToUpper(err.Error()), "0000052D") {
		d.mu.Lock()
		d.domainAt = time.Time{} // the rules may have changed since they were read: read them again
		d.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout)
		defer cancel()
		pol, _ := d.policyFor(ctx, u.DN)
		return pol.Refused()
	}
	return fmt.Errorf("ad: cannot %s %s: %w", what, u.DN, x)
}

// RevokeSessions implements flows.Directory. AD keeps no sign-in sessions the bot can end
// (Kerberos tickets run out on their own); with Entra as well, the hybrid router revokes there.
func (d *Directory) RevokeSessions(ctx context.Context, userID string) error { return nil }

// LockedOut implements flows.Unlocker: whether AD has the user locked out now, and since when.
func (d *Directory) LockedOut(ctx context.Context, userID string) (bool, time.Time, error) {
	u, err := d.find(ctx, flows.Claim{Kind: flows.ClaimObjectID, Value: userID})
	if err != nil {
		return false, time.Time{}, err
	}
	return u.locked(), u.Lockout, nil
}

// Unlock implements flows.Unlocker: lockoutTime goes back to 0 (the only value AD accepts).
func (d *Directory) Unlock(ctx context.Context, userID string) error {
	u, err := d.changeable(ctx, userID)
	if err != nil {
		return err
	}
	m := ldap.NewModifyRequest(u.DN, nil)
	m.Replace("lockoutTime", []string{"0"})
	if err := d.with(ctx, func(c *ldap.Conn) error { return c.Modify(m) }); err != nil {
		return d.changeFailed("unlock", u, err)
	}
	return nil
}

// LockedOutSince implements flows.LockoutSource: users whose lockout began at or after since
// and who are still locked.
func (d *Directory) LockedOutSince(ctx context.Context, since time.Time) ([]flows.Account, error) {
	es, err := d.search(ctx, "(&"+people+"(lockoutTime>="+strconv.FormatInt(toFiletime(since), 10)+"))", userAttrs)
	if err != nil {
		return nil, fmt.Errorf("ad: lockouts: %w", err)
	}
	var out []flows.Account
	for _, e := range es {
		if u := parseUser(e); u.locked() {
			out = append(out, rosterAccount(u))
		}
	}
	return out, nil
}

// VerifyPassword implements flows.PasswordVerifier: a bind as the user's own DN on a fresh
// connection. The error says why in plain words (flows.ErrWrongPassword and friends).
func (d *Directory) VerifyPassword(ctx context.Context, userID, password string) error {
	if password == "" {
		return flows.ErrWrongPassword // an empty password would be an unauthenticated bind
	}
	u, err := d.find(ctx, flows.Claim{Kind: flows.ClaimObjectID, Value: userID})
	if err != nil {
		return err
	}
	if u.locked() {
		return flows.ErrAccountLocked // a bind would only add to the count
	}
	pol, err := d.policyFor(ctx, u.DN)
	if err != nil {
		return fmt.Errorf("ad: the lockout policy of %s is unknown, not trying a password: %w", u.DN, err)
	}
	if err := lockoutMargin(u, pol, d.cfg.Now()); err != nil {
		return err
	}
	c, err := d.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	err = c.Bind(u.DN, password)
	if err == nil {
		return nil
	}
	code := bindCode(err)
	switch code {
	case "52e":
		return flows.ErrWrongPassword
	case "775":
		return flows.ErrAccountLocked
	case "773", "532":
		return flows.ErrMustChangePassword
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		return fmt.Errorf("%w: %s", flows.ErrWrongPassword, BindReason(err))
	}
	return fmt.Errorf("ad: bind as %s: %w", u.DN, Explain(err))
}

// lockoutMargin keeps the page's sign-in from ever locking an account: a bind is tried only
// while a wrong password would still leave the person at least one more try before the lockout
// threshold of their policy (fine-grained or the domain's). Wrong passwords older than the
// observation window no longer count (AD resets badPwdCount at the next bind after it).
// https://learn.microsoft.com/windows/security/threat-protection/security-policy-settings/account-lockout-threshold
func lockoutMargin(u user, p Policy, now time.Time) error {
	if p.Unknown {
		return &flows.LockoutNearError{Failed: u.BadPwd}
	}
	if p.LockoutThreshold <= 0 {
		return nil // this policy never locks
	}
	failed := u.BadPwd
	var clears time.Duration
	if p.LockoutWindow > 0 && !u.BadAt.IsZero() {
		clears = u.BadAt.Add(p.LockoutWindow).Sub(now)
		if clears <= 0 {
			failed, clears = 0, 0
		}
	}
	// after a wrong password here failed+1 must stay below the threshold minus the margin of one
	if failed+1 > p.LockoutThreshold-lockoutMarginTries {
		return &flows.LockoutNearError{Failed: failed, Threshold: p.LockoutThreshold, ClearsIn: clears}
	}
	return nil
}

// lockoutMarginTries is how many tries before the lockout the page always leaves to the person
// (a typo at their workstation, or a phone retrying an old password, must not finish the job).
const lockoutMarginTries = 1
