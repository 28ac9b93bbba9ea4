package ad

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/resetbot/resetbot/flows"
)

// Policy is the domain's password and lockout policy, as the domain object holds it.
type Policy struct {
	MinLength        int
	Complexity       bool // three of four kinds of character, no account or display name in it
	History          int
	LockoutThreshold int
	LockoutDuration  time.Duration // 0: until an administrator unlocks
}

// Describe says the rules in words, for a password the domain refused.
func (p Policy) Describe() string {
	s := "Active Directory did not accept this password."
	if p.MinLength > 0 {
		s += fmt.Sprintf(" Use at least %d characters", p.MinLength)
		if p.Complexity {
			s += ", with three of: lowercase letters, uppercase letters, digits, symbols, and without your account name"
		}
		s += "."
	}
	if p.History > 0 {
		s += fmt.Sprintf(" It may not be one of your last %d passwords.", p.History)
	}
	return s + " Choose a different password."
}

// Policy reads the domain's policy (cached for five minutes).
func (d *Directory) Policy(ctx context.Context) (Policy, error) {
	d.mu.Lock()
	if !d.domainAt.IsZero() && d.cfg.Now().Sub(d.domainAt) < 5*time.Minute {
		p := d.domain
		d.mu.Unlock()
		return p, nil
	}
	d.mu.Unlock()
	var p Policy
	err := d.with(ctx, func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest(d.cfg.BaseDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"minPwdLength", "pwdProperties", "pwdHistoryLength", "lockoutThreshold", "lockoutDuration"}, nil))
		if err != nil {
			return err
		}
		if len(res.Entries) == 0 {
			return fmt.Errorf("no domain object at %s", d.cfg.BaseDN)
		}
		e := res.Entries[0]
		p.MinLength, _ = strconv.Atoi(e.GetAttributeValue("minPwdLength"))
		props, _ := strconv.Atoi(e.GetAttributeValue("pwdProperties"))
		p.Complexity = props&1 != 0
		p.History, _ = strconv.Atoi(e.GetAttributeValue("pwdHistoryLength"))
		p.LockoutThreshold, _ = strconv.Atoi(e.GetAttributeValue("lockoutThreshold"))
		if v, err := strconv.ParseInt(e.GetAttributeValue("lockoutDuration"), 10, 64); err == nil && v < 0 && v != -1<<63 {
			p.LockoutDuration = time.Duration(-v) * 100
		}
		return nil
	})
	if err != nil {
		return Policy{}, fmt.Errorf("ad: domain password policy: %w", Explain(err))
	}
	d.mu.Lock()
	d.domain, d.domainAt = p, d.cfg.Now()
	d.mu.Unlock()
	return p, nil
}

// PasswordRules implements flows.RulesSource: the domain's length and complexity rules, checked
// before the directory is asked.
func (d *Directory) PasswordRules(ctx context.Context, userID string) (flows.PasswordRules, error) {
	p, err := d.Policy(ctx)
	if err != nil {
		return flows.PasswordRules{}, err
	}
	return flows.PasswordRules{MinLength: p.MinLength, Complexity: p.Complexity, Source: "your domain"}, nil
}
