package flows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
)

func TestPolicyValidate(t *testing.T) {
	ok := flows.DefaultPolicy()
	cases := []struct {
		name string
		mod  func(*flows.Policy)
		want string // "" = valid
	}{
		{"default", func(*flows.Policy) {}, ""},
		{"selected without groups", func(p *flows.Policy) { p.EnabledFor = flows.EnabledSelected }, "at least one group"},
		{"unknown enablement", func(p *flows.Policy) { p.EnabledFor = "some" }, "none, selected or all"},
		{"questions alone", func(p *flows.Policy) { p.Required = 1; p.Methods = []flows.MethodKind{flows.MethodQuestions} }, "security questions alone"},
		{"sms alone", func(p *flows.Policy) { p.Required = 1; p.Methods = []flows.MethodKind{flows.MethodSMS} }, "explicit allow-phone-alone"},
		{"sms alone allowed", func(p *flows.Policy) {
			p.Required = 1
			p.Methods = []flows.MethodKind{flows.MethodSMS}
			p.AllowPhoneAlone = true
		}, ""},
		{"sms and questions", func(p *flows.Policy) { p.Methods = []flows.MethodKind{flows.MethodSMS, flows.MethodQuestions} }, "phone alone"},
		{"required 3", func(p *flows.Policy) { p.Required = 3 }, "1 or 2"},
		{"more required than allowed", func(p *flows.Policy) { p.Methods = []flows.MethodKind{flows.MethodTOTP} }, "only 1 allowed"},
		{"duplicate method", func(p *flows.Policy) { p.Methods = []flows.MethodKind{flows.MethodTOTP, flows.MethodTOTP} }, "twice"},
		{"unknown method", func(p *flows.Policy) { p.Methods = append(p.Methods, "pigeon") }, "unknown method"},
		{"reconfirm 731", func(p *flows.Policy) { p.ReconfirmDays = 731 }, "0 to 730"},
		{"reconfirm 0", func(p *flows.Policy) { p.ReconfirmDays = 0 }, ""},
		{"questions 6", func(p *flows.Policy) { p.QuestionsToRegister = 6 }, "3 to 5"},
		{"answer more than registered", func(p *flows.Policy) { p.QuestionsToAnswer = 5; p.QuestionsToRegister = 4 }, "cannot exceed"},
		{"nothing allowed", func(p *flows.Policy) { p.AllowReset = false; p.AllowUnlock = false }, "reset, unlock or both"},
		{"reset mode", func(p *flows.Policy) { p.ResetMode = "magic" }, "reset mode"},
		{"limits", func(p *flows.Policy) { p.Limits.FailMax = 0 }, "attempt limits"},
		{"windows", func(p *flows.Policy) { p.Limits.BlockFor = -time.Hour }, "positive"},
		{"helpdesk", func(p *flows.Policy) { p.HelpdeskURL = "javascript:alert(1)" }, "helpdesk link"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := ok
			p.Methods = append([]flows.MethodKind(nil), ok.Methods...)
			c.mod(&p)
			err := p.Validate()
			if c.want == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
	// every problem at once
	p := ok
	p.Required, p.ReconfirmDays, p.ResetMode = 9, -1, "x"
	if err := p.Validate(); err == nil || strings.Count(err.Error(), "\n") < 2 {
		t.Fatalf("not all problems reported: %v", err)
	}
}

func TestScopeAndUsable(t *testing.T) {
	p := flows.DefaultPolicy()
	a := flows.Account{Groups: []string{"G1"}}
	if p.InScope(a) {
		t.Fatal("enabled for none, yet in scope")
	}
	p.EnabledFor, p.Groups = flows.EnabledSelected, []string{"g1"}
	if !p.InScope(a) {
		t.Fatal("member not in scope")
	}
	p.Methods = append(p.Methods, flows.MethodQuestions)
	en := flows.Enrollment{Methods: map[flows.MethodKind]flows.Registered{flows.MethodTOTP: {}, flows.MethodQuestions: {}}}
	if got := p.Usable(a, en); len(got) != 2 {
		t.Fatalf("usable %v", got)
	}
	a.Privileged = true
	if got := p.Usable(a, en); len(got) != 1 || got[0] != flows.MethodTOTP {
		t.Fatalf("privileged may use %v", got)
	}
	p.Required = 1
	if p.RequiredFor(a) != 2 {
		t.Fatal("privileged with one method")
	}
}

func TestJudge(t *testing.T) {
	l := flows.DefaultLimits()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var e flows.Enrollment
	var st flows.Status
	for i := 1; i <= l.FailMax; i++ {
		e, st = flows.Judge(e, flows.Attempt{Method: flows.MethodEmail, Limits: l}, now)
		if st != flows.Rejected {
			t.Fatalf("attempt %d: %d", i, st)
		}
	}
	if !flows.IsBlocked(e, now) || flows.IsBlocked(e, now.Add(l.BlockFor)) {
		t.Fatalf("block until %v", e.BlockedUntil)
	}
	if _, st = flows.Judge(e, flows.Attempt{Method: flows.MethodEmail, Correct: true, Limits: l}, now); st != flows.Blocked {
		t.Fatal("a right answer passed a block")
	}
	// tries per method per hour, even when right, and success clears the count
	e = flows.Enrollment{}
	for i := 0; i < l.TriesMax; i++ {
		e, st = flows.Judge(e, flows.Attempt{Method: flows.MethodTOTP, Correct: true, Limits: l}, now)
		if st != flows.Committed || e.Tries[flows.MethodTOTP].Count != 0 {
			t.Fatalf("success %d: %d %+v", i, st, e.Tries)
		}
	}
	// the fail window forgets after 24 hours
	e = flows.Enrollment{}
	for i := 0; i < l.FailMax-1; i++ {
		e, _ = flows.Judge(e, flows.Attempt{Method: flows.MethodTOTP, Limits: l}, now)
	}
	e.Tries = nil
	e, st = flows.Judge(e, flows.Attempt{Method: flows.MethodEmail, Limits: l}, now.Add(l.FailWindow))
	if st != flows.Rejected || flows.IsBlocked(e, now.Add(l.FailWindow)) || e.Fails.Count != 1 {
		t.Fatalf("window: %d %+v", st, e.Fails)
	}
}
