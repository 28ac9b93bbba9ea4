package ad

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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
	LockoutWindow    time.Duration // how long a wrong password counts (lockOutObservationWindow)
	Unknown          bool          // the user's own policy could not be read
}

// interval reads an AD interval (negative 100-nanosecond units; the most negative is "never").
func interval(v string) time.Duration {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n >= 0 || n == -1<<63 {
		return 0
	}
	return time.Duration(-n) * 100
}

// Describe says the rules in words (English), for a password the domain refused.
func (p Policy) Describe() string { return p.Refused().Reason }

// Refused is the refusal of a password the domain did not accept, saying its rules in the
// catalog's words (the page shows it in the person's language).
func (p Policy) Refused() *flows.PasswordError {
	parts := []flows.Msg{{ID: "pw.ad_refused"}}
	if p.Unknown {
		return flows.PasswordRefused(append(parts, flows.Msg{ID: "pw.ad_own_rules"})...)
	}
	if p.MinLength > 0 {
		if p.Complexity {
			parts = append(parts, flows.Msg{ID: "pw.ad_min_complex", Args: []any{p.MinLength}})
		} else {
			parts = append(parts, flows.Msg{ID: "pw.ad_min", Args: []any{p.MinLength}})
		}
	}
	if p.History > 0 {
		parts = append(parts, flows.Msg{ID: "pw.ad_history", Args: []any{p.History}})
	}
	return flows.PasswordRefused(append(parts, flows.Msg{ID: "pw.ad_choose_other"})...)
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
			"(objectClass=*)", []string{"minPwdLength", "pwdProperties", "pwdHistoryLength", "lockoutThreshold", "lockoutDuration", "lockOutObservationWindow"}, nil))
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
		p.LockoutDuration = interval(e.GetAttributeValue("lockoutDuration"))
		p.LockoutWindow = interval(e.GetAttributeValue("lockOutObservationWindow"))
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

// policyFor is the policy that governs one user: their fine-grained password policy (the
// msDS-ResultantPSO AD computes for them) when they have one, else the domain's.
func (d *Directory) policyFor(ctx context.Context, dn string) (Policy, error) {
	var pso string
	err := d.with(ctx, func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"msDS-ResultantPSO"}, nil))
		if err != nil {
			return err
		}
		if len(res.Entries) > 0 {
			pso = res.Entries[0].GetAttributeValue("msDS-ResultantPSO")
		}
		return nil
	})
	if err != nil || pso == "" {
		return d.Policy(ctx)
	}
	var p Policy
	err = d.with(ctx, func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest(pso, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)",
			[]string{"msDS-MinimumPasswordLength", "msDS-PasswordComplexityEnabled", "msDS-PasswordHistoryLength", "msDS-LockoutThreshold",
				"msDS-LockoutObservationWindow", "msDS-LockoutDuration"}, nil))
		if err != nil {
			return err
		}
		if len(res.Entries) == 0 {
			return fmt.Errorf("no password settings object at %s", pso)
		}
		e := res.Entries[0]
		if e.GetAttributeValue("msDS-MinimumPasswordLength") == "" {
			return fmt.Errorf("the service account cannot read %s: grant it read access to the Password Settings Container", pso)
		}
		p.MinLength, _ = strconv.Atoi(e.GetAttributeValue("msDS-MinimumPasswordLength"))
		p.Complexity = strings.EqualFold(e.GetAttributeValue("msDS-PasswordComplexityEnabled"), "TRUE")
		p.History, _ = strconv.Atoi(e.GetAttributeValue("msDS-PasswordHistoryLength"))
		p.LockoutThreshold, _ = strconv.Atoi(e.GetAttributeValue("msDS-LockoutThreshold"))
		p.LockoutWindow = interval(e.GetAttributeValue("msDS-LockoutObservationWindow"))
		p.LockoutDuration = interval(e.GetAttributeValue("msDS-LockoutDuration"))
		return nil
	})
	if err != nil {
		d.log.Warn("a user's fine-grained password policy is unreadable", "pso", pso, "err", Explain(err))
		return Policy{Unknown: true}, nil
	}
	return p, nil
}

// PasswordRules implements flows.RulesSource: the rules that govern this user (a fine-grained
// policy, or the domain's), checked before the directory is asked.
func (d *Directory) PasswordRules(ctx context.Context, userID string) (flows.PasswordRules, error) {
	p, err := d.Policy(ctx)
	if userID != "" {
		u, ferr := d.find(ctx, flows.Claim{Kind: flows.ClaimObjectID, Value: userID})
		if ferr != nil {
			return flows.PasswordRules{}, ferr
		}
		p, err = d.policyFor(ctx, u.DN)
	}
	if err != nil {
		return flows.PasswordRules{}, err
	}
	return flows.PasswordRules{MinLength: p.MinLength, Complexity: p.Complexity, History: p.History, Known: !p.Unknown, Source: "your domain"}, nil
}
