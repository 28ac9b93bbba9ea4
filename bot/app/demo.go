package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/console"
	"github.com/resetbot/resetbot/bot/notify"
	"github.com/resetbot/resetbot/bot/notify/phonetest"
	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/store"
)

// DemoDirectory builds the directory client over the demo tenant (main uses the real Graph
// client, so the demo exercises it).
type DemoDirectory func(t *graphtest.Tenant) (flows.Directory, error)

// Demo runs everything offline: an embedded Redis, the fake tenant, the web pages on loopback
// and the console chat on this terminal. It ends when the console does.
func Demo(ctx context.Context, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer, newDir DemoDirectory) error {
	log := bot.NewLogger(stderr, orDefault(getenv("LOG_LEVEL"), "warn"))
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return fmt.Errorf("embedded redis: %w", err)
	}
	defer m.Close()
	rdb, err := store.Connect(store.Options{URL: "redis://" + m.Addr()})
	if err != nil {
		return err
	}
	defer rdb.Close()

	tenant := graphtest.New()
	users := graphtest.DemoUsers(tenant)
	admins := graphtest.DemoAdmins(tenant)
	agents := graphtest.DemoHelpdesk(tenant)
	tenant.OnChange = func(c graphtest.Change, u graphtest.User) {
		switch c.Kind {
		case "password":
			fmt.Fprintf(stdout, "\n🏢 [demo tenant] password of %s changed (force change at next sign-in: %v)\n", u.UPN, c.ForceChange)
		case "revoke":
			fmt.Fprintf(stdout, "\n🏢 [demo tenant] sign-in sessions of %s revoked\n", u.UPN)
		}
	}
	if err := tenant.Start(); err != nil {
		return err
	}
	defer tenant.Close()

	addr := orDefault(getenv("DEMO_ADDR"), "127.0.0.1:8080")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return errors.New("the demo listens on loopback only; set DEMO_ADDR to 127.0.0.1:PORT")
	}
	// localhost, not the address: browsers offer passkeys to a domain name only (the RP ID)
	base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	keys := store.Keys{SealKeys: map[string][]byte{"demo": randomBytes(32)}, CurrentID: "demo", MACKey: randomBytes(32)}
	crypto, err := store.NewCrypto(keys)
	if err != nil {
		ln.Close()
		return err
	}
	dir, err := newDir(tenant)
	if err != nil {
		ln.Close()
		return err
	}
	phone := phonetest.Start()
	defer phone.Close()
	phone.OnSend = func(s phonetest.Sent) {
		if s.Kind == "sms" {
			fmt.Fprintf(stdout, "\n📱 [sms to %s] %s\n", s.To, s.Text)
		} else {
			fmt.Fprintf(stdout, "\n📞 [call to %s] %s\n", s.To, s.Text)
		}
	}
	o, err := web.NewOIDC(ctx, tenant.Issuer(), tenant.ClientID, tenant.ClientSecret, base, time.Now)
	if err != nil {
		ln.Close()
		return err
	}
	people := make([]console.Person, 0, len(users)+len(admins)+1)
	notes := []string{"in the SSPR group: can register and reset", "not in the SSPR group", "Global Administrator (privileged)",
		"synced from on-premises AD", "disabled account"}
	for i, u := range users {
		people = append(people, console.Person{UPN: u.UPN, Note: notes[i]})
	}
	people = append(people, console.Person{UPN: "mallory@elsewhere.test", Note: "not in the directory"})
	for _, u := range admins {
		people = append(people, console.Person{UPN: u.UPN, Note: "bot admin (resetbot-admins, multi-factor sign-in): /sspr help"})
	}
	for _, u := range agents {
		people = append(people, console.Person{UPN: u.UPN, Note: "helpdesk agent (resetbot-helpdesk): /sspr verify alice@contoso.test"})
	}
	a, err := New(ctx, Options{Redis: rdb, Crypto: crypto, Directory: Directory{Directory: dir}, Mailer: &notify.Outbox{W: stdout},
		Phone:       &notify.Twilio{BaseURL: phone.URL, AccountSID: phone.SID, AuthToken: phone.Token, From: "+14255550100"},
		PhoneBudget: 100, Log: log, BaseURL: base, OIDC: o, Listener: ln,
		// the demo's bot admins, as BOT_ADMIN_GROUPS and ADMIN_AUTH_CONTEXT set them up
		AdminGroups: []string{graphtest.AdminGroup}, AdminAuthContext: graphtest.AdminAuthContext,
		// and its helpdesk agent, as HELPDESK_GROUPS sets them up
		HelpdeskGroups: []string{graphtest.HelpdeskGroup},
		Console:        &Console{In: stdin, Out: stdout, People: people, Ends: true, Admin: true}})
	if err != nil {
		ln.Close()
		return err
	}
	pol := flows.DefaultPolicy()
	pol.EnabledFor, pol.Groups, pol.HelpdeskURL = flows.EnabledSelected, []string{graphtest.SSPRGroup}, "https://helpdesk.contoso.test"
	pol.Methods = []flows.MethodKind{flows.MethodTOTP, flows.MethodEmail, flows.MethodSMS, flows.MethodVoice, flows.MethodQuestions, flows.MethodPasskey}
	pol.PhoneCountries = []string{"1", "44"}
	if _, err := a.Store.PutPolicy(ctx, pol, 0); err != nil {
		ln.Close()
		a.Close()
		return err
	}
	fmt.Fprintf(stdout, `
==============================================================================
 resetbot DEMO — offline, loopback only, nothing is kept after you quit.
 Embedded Redis %s · demo tenant %s · web pages %s
 Locked out without chat? The recovery page works in any browser: %s/recover
 Demo users sign in to the demo tenant with the password: %s
 Emails appear below as [outbox]; directory changes as [demo tenant].
 Type "help" after choosing who you are; /who lists users; /quit ends.
 Bot admins (/as dana@contoso.test) type "/sspr help" for the admin commands.
 Passkeys: on the registration page, "Add a passkey or security key" uses your
 browser's own passkey support (this computer's fingerprint, face or screen lock,
 a phone via QR code, or a USB security key); %s is a valid relying
 party. No authenticator at hand? In Chrome, DevTools > More tools > WebAuthn >
 "Enable virtual authenticator environment" and add a ctap2/internal one with
 user verification. Then "reset" offers "Passkey or security key".
 The helpdesk agent (/as hana@contoso.test) verifies a caller: /sspr verify <email>.
==============================================================================
`, m.Addr(), tenant.URL(), base, base, graphtest.DemoPassword, base)
	return a.Run(ctx)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}
