// Package adtest runs a real Active Directory domain controller (Samba) for tests: a throwaway
// domain provisioned in a temporary folder, served single-process on its own loopback address
// (Samba's LDAP ports are fixed), with a certificate authority and server certificate made here
// (Go refuses Samba's self-made one), password age and history relaxed, and a delegated service
// account that may reset passwords and unlock users and nothing more.
package adtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/resetbot/resetbot/graph/ad"
	"github.com/resetbot/resetbot/internal/childproc"
)

// Domain names of the throwaway domain.
const (
	Realm  = "RESETBOT.TEST"
	BaseDN = "DC=resetbot,DC=test"
	Users  = "CN=Users," + BaseDN
)

// DC is one running domain controller.
type DC struct {
	IP        string // its own loopback address
	URL       string // ldaps://IP:636
	PlainURL  string // ldap://IP:389, for StartTLS
	CAFile    string // PEM of the CA that signed the server certificate
	CAPEM     []byte
	AdminDN   string
	AdminPW   string
	ServiceDN string // delegated: reset password, lockoutTime and pwdLastSet on CN=Users
	ServicePW string
	BareDN    string // a user with no delegated rights
	BarePW    string
	// WizardDN has what the Delegation of Control wizard's "Reset user passwords and force
	// password change at next logon" task grants on CN=Users: Reset Password and pwdLastSet,
	// not lockoutTime.
	WizardDN string
	WizardPW string

	dir  string
	lock *os.File
	cmd  *childproc.Process
	done chan struct{}
	log  bytes.Buffer
	mu   sync.Mutex
	seq  int
}

var (
	shared     *DC
	sharedErr  error
	sharedOnce sync.Once
)

// Get returns the process's domain controller, starting it on first use. The test fails with
// an install hint when Samba is missing. Call StopShared from TestMain after the tests.
func Get(t testing.TB) *DC {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		t.Fatalf("samba AD domain controller: %v", sharedErr)
	}
	return shared
}

// StopShared stops the process's domain controller if Get started one.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
}

// Start provisions a new domain and runs its domain controller until Stop.
func Start() (*DC, error) {
	for _, bin := range []string{"samba", "samba-tool"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s not found: run `make test` (installs samba as root) or `apt-get install samba samba-vfs-modules`", bin)
		}
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("the test domain controller needs root: Samba binds the fixed LDAP ports 389 and 636 on its own loopback address")
	}
	ip, lock, err := claimAddress()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "resetbot-samba-")
	if err != nil {
		lock.Close()
		return nil, err
	}
	d := &DC{IP: ip, URL: "ldaps://" + ip + ":636", PlainURL: "ldap://" + ip + ":389", dir: dir, lock: lock,
		AdminDN: "CN=Administrator," + Users, AdminPW: "Adm1n!" + randomWord(),
		ServiceDN: "CN=svc-resetbot," + Users, ServicePW: "Svc!" + randomWord(),
		BareDN: "CN=svc-norights," + Users, BarePW: "Bare!" + randomWord(),
		WizardDN: "CN=svc-wizard," + Users, WizardPW: "Wiz!" + randomWord()}
	if err := d.provision(); err != nil {
		d.Stop()
		return nil, err
	}
	if err := d.run(); err != nil {
		d.Stop()
		return nil, err
	}
	return d, nil
}

// claimAddress picks a loopback address no other test process uses: a lock file per address,
// and the LDAPS port free on it.
func claimAddress() (string, *os.File, error) {
	for n := 2; n < 64; n++ {
		ip := fmt.Sprintf("127.0.0.%d", n)
		f, err := os.OpenFile(filepath.Join(os.TempDir(), "resetbot-samba-"+ip+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return "", nil, err
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close()
			continue
		}
		l, err := net.Listen("tcp", ip+":636")
		if err != nil {
			f.Close()
			continue
		}
		l.Close()
		return ip, f, nil
	}
	return "", nil, errors.New("no free loopback address for a test domain controller")
}

func (d *DC) tool(args ...string) error {
	out, err := childproc.CombinedOutput(exec.Command("samba-tool", args...))
	if err != nil {
		return fmt.Errorf("samba-tool %s: %v\n%s", args[0]+" "+args[1], err, out)
	}
	return nil
}

func (d *DC) provision() error {
	empty := filepath.Join(d.dir, "empty.conf")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		return err
	}
	target := filepath.Join(d.dir, "dc")
	if err := d.tool("domain", "provision", "--realm="+Realm, "--domain=RESETBOT", "--server-role=dc",
		"--dns-backend=NONE", "--host-name=rbdc", "--adminpass="+d.AdminPW, "--targetdir="+target,
		"-s", empty, "--option=interfaces="+d.IP+"/8", "--option=bind interfaces only=yes", "--option=server services=ldap"); err != nil {
		return err
	}
	if err := d.certificates(); err != nil {
		return err
	}
	conf := filepath.Join(target, "etc", "smb.conf")
	b, err := os.ReadFile(conf)
	if err != nil {
		return err
	}
	extra := "\told password allowed period = 0\n\ttls enabled = yes\n" +
		"\ttls keyfile = " + filepath.Join(d.dir, "server.key") + "\n" +
		"\ttls certfile = " + filepath.Join(d.dir, "server.pem") + "\n" +
		"\ttls cafile = " + d.CAFile + "\n\tlog level = 1\n" +
		// its own pid file: Samba refuses to start while another DC's pid file in the shared
		// default folder names a live process (test binaries run their DCs at once)
		"\tpid directory = " + target + "\n"
	b = bytes.Replace(b, []byte("[global]\n"), []byte("[global]\n"+extra), 1)
	if err := os.WriteFile(conf, b, 0o600); err != nil {
		return err
	}
	sam := "ldb://" + filepath.Join(target, "private", "sam.ldb")
	steps := [][]string{
		{"domain", "passwordsettings", "set", "-H", sam, "--min-pwd-age=0", "--history-length=0",
			"--account-lockout-threshold=3", "--account-lockout-duration=0", "--reset-account-lockout-after=30"},
		{"user", "create", "svc-resetbot", d.ServicePW, "-H", sam},
		{"user", "create", "svc-norights", d.BarePW, "-H", sam},
		{"user", "create", "svc-wizard", d.WizardPW, "-H", sam},
	}
	for _, s := range steps {
		if err := d.tool(s...); err != nil {
			return err
		}
	}
	sid, err := d.sidOf(target, "svc-resetbot")
	if err != nil {
		return err
	}
	// Reset Password on user objects, and read/write lockoutTime and pwdLastSet.
	const user = "bf967aba-0de6-11d0-a285-00aa003049e2"
	sddl := "(OA;CIIO;CR;00299570-246d-11d0-a768-00aa006e0529;" + user + ";" + sid + ")" +
		"(OA;CIIO;RPWP;28630ebf-41d5-11d1-a9c1-0000f80367c1;" + user + ";" + sid + ")" +
		"(OA;CIIO;RPWP;bf967a0a-0de6-11d0-a285-00aa003049e2;" + user + ";" + sid + ")"
	if err := d.tool("dsacl", "set", "-H", sam, "--objectdn="+Users, "--sddl="+sddl); err != nil {
		return err
	}
	wsid, err := d.sidOf(target, "svc-wizard")
	if err != nil {
		return err
	}
	wizard := "(OA;CIIO;CR;00299570-246d-11d0-a768-00aa006e0529;" + user + ";" + wsid + ")" +
		"(OA;CIIO;RPWP;bf967a0a-0de6-11d0-a285-00aa003049e2;" + user + ";" + wsid + ")"
	if err := d.tool("dsacl", "set", "-H", sam, "--objectdn="+Users, "--sddl="+wizard); err != nil {
		return err
	}
	// read access to fine-grained password policies, as the README asks of deployments using them
	return d.tool("dsacl", "set", "-H", sam, "--objectdn=CN=Password Settings Container,CN=System,"+BaseDN,
		"--sddl=(A;CI;RPLCLORC;;;"+sid+")")
}

func (d *DC) sidOf(target, name string) (string, error) {
	out, err := childproc.CombinedOutput(exec.Command("samba-tool", "user", "show", name, "-H",
		"ldb://"+filepath.Join(target, "private", "sam.ldb"), "--attributes=objectSid"))
	if err != nil {
		return "", fmt.Errorf("samba-tool user show: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "objectSid: "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no objectSid for %s", name)
}

// certificates makes a CA and a server certificate for the DC's address.
func (d *DC) certificates() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "resetbot test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "rbdc.resetbot.test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"rbdc.resetbot.test"},
		IPAddresses: []net.IP{net.ParseIP(d.IP)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, srv, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	d.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	d.CAFile = filepath.Join(d.dir, "ca.pem")
	for name, data := range map[string][]byte{
		"ca.pem":     d.CAPEM,
		"server.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"server.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}),
	} {
		if err := os.WriteFile(filepath.Join(d.dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// run starts samba in the foreground, single-process, and waits until LDAPS answers.
func (d *DC) run() error {
	cmd := exec.Command("samba", "-i", "-M", "single", "-s", filepath.Join(d.dir, "dc", "etc", "smb.conf"))
	cmd.Stdout, cmd.Stderr = &lockedWriter{d: d}, &lockedWriter{d: d}
	proc, err := childproc.Start(cmd) // ends with this process, however it ends
	if err != nil {
		return fmt.Errorf("start samba: %v", err)
	}
	d.cmd, d.done = proc, make(chan struct{})
	go func() { _ = proc.Wait(); close(d.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := d.dial()
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-d.done:
			conf, _ := os.ReadFile(filepath.Join(d.dir, "dc", "etc", "smb.conf"))
			return fmt.Errorf("samba exited before it was ready:\n%s\n%s", d.output(), conf)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("samba not ready after 60 s: %v\n%s", err, d.output())
		}
	}
}

type lockedWriter struct{ d *DC }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	if w.d.log.Len() < 1<<20 {
		w.d.log.Write(p)
	}
	return len(p), nil
}

func (d *DC) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// Stop ends samba and removes the domain.
func (d *DC) Stop() {
	if d.cmd != nil {
		d.cmd.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			d.cmd.Signal(syscall.SIGKILL)
			<-d.done
		}
	}
	if d.dir != "" {
		_ = os.RemoveAll(d.dir)
	}
	if d.lock != nil {
		d.lock.Close()
	}
}

// TLSConfig trusts the test CA.
func (d *DC) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(d.CAPEM)
	return &tls.Config{RootCAs: pool, ServerName: d.IP, MinVersion: tls.VersionTLS12}
}

func (d *DC) dial() (*ldap.Conn, error) {
	return ldap.DialURL(d.URL, ldap.DialWithTLSConfig(d.TLSConfig()),
		ldap.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}))
}

// Bind tries a simple bind as dn with password over LDAPS; the error is the directory's.
func (d *DC) Bind(dn, password string) error {
	c, err := d.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Bind(dn, password)
}

// Admin returns a connection bound as the domain administrator, closed when the test ends.
func (d *DC) Admin(t testing.TB) *ldap.Conn {
	t.Helper()
	c, err := d.dial()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(d.AdminDN, d.AdminPW); err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// User is a test user created in CN=Users.
type User struct {
	Name     string // sAMAccountName
	DN       string
	UPN      string
	Mail     string
	Password string
}

// CreateUser adds an enabled user with a unique name and deletes it when the test ends.
func (d *DC) CreateUser(t testing.TB, prefix string) User {
	t.Helper()
	d.mu.Lock()
	d.seq++
	n := d.seq
	d.mu.Unlock()
	name := fmt.Sprintf("%s%d%s", prefix, n, randomWord()[:4])
	if len(name) > 20 {
		name = name[len(name)-20:]
	}
	u := User{Name: name, DN: "CN=" + name + "," + Users, UPN: name + "@resetbot.test",
		Mail: name + "@mail.resetbot.test", Password: "Start!" + randomWord()}
	c := d.Admin(t)
	add := ldap.NewAddRequest(u.DN, nil)
	add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	add.Attribute("sAMAccountName", []string{name})
	add.Attribute("userPrincipalName", []string{u.UPN})
	add.Attribute("mail", []string{u.Mail})
	add.Attribute("displayName", []string{"Test " + name})
	add.Attribute("unicodePwd", []string{ad.QuotePassword(u.Password)})
	add.Attribute("userAccountControl", []string{"512"})
	if err := c.Add(add); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	d.cleanup(t, func(c *ldap.Conn) { _ = c.Del(ldap.NewDelRequest(u.DN, nil)) })
	return u
}

// CreateGroup adds a security group with a unique name and deletes it when the test ends.
func (d *DC) CreateGroup(t testing.TB, prefix string) string {
	t.Helper()
	dn := "CN=" + prefix + "-" + randomWord()[:6] + "," + Users
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"top", "group"})
	if err := d.Admin(t).Add(add); err != nil {
		t.Fatalf("create group %s: %v", dn, err)
	}
	d.cleanup(t, func(c *ldap.Conn) { _ = c.Del(ldap.NewDelRequest(dn, nil)) })
	return dn
}

// cleanup runs fn as the administrator on a fresh connection when the test ends.
func (d *DC) cleanup(t testing.TB, fn func(*ldap.Conn)) {
	t.Cleanup(func() {
		c, err := d.dial()
		if err != nil {
			return
		}
		defer c.Close()
		if c.Bind(d.AdminDN, d.AdminPW) == nil {
			fn(c)
		}
	})
}

// Modify replaces attributes of dn as the administrator.
func (d *DC) Modify(t testing.TB, dn string, attrs map[string][]string) {
	t.Helper()
	m := ldap.NewModifyRequest(dn, nil)
	for k, v := range attrs {
		m.Replace(k, v)
	}
	if err := d.Admin(t).Modify(m); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

// AddMember adds member to group (both DNs) as the administrator and removes it when the test ends.
func (d *DC) AddMember(t testing.TB, group, member string) {
	t.Helper()
	m := ldap.NewModifyRequest(group, nil)
	m.Add("member", []string{member})
	if err := d.Admin(t).Modify(m); err != nil {
		t.Fatalf("add %s to %s: %v", member, group, err)
	}
	d.cleanup(t, func(c *ldap.Conn) {
		r := ldap.NewModifyRequest(group, nil)
		r.Delete("member", []string{member})
		_ = c.Modify(r)
	})
}

// Lock makes the domain lock u out with bad binds (the threshold is 3).
func (d *DC) Lock(t testing.TB, u User) {
	t.Helper()
	for i := 0; i < 3; i++ {
		if err := d.Bind(u.DN, "Wrong!"+randomWord()); err == nil {
			t.Fatal("a wrong password bound")
		}
	}
	if err := d.Bind(u.DN, u.Password); !strings.Contains(fmt.Sprint(err), "data 775") {
		t.Fatalf("after three bad binds the right password gives %v, want data 775 (locked)", err)
	}
}

func randomWord() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}
