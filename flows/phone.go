package flows

import (
	"context"
	"errors"
	"regexp"
	"strings"
)

// PhoneSender delivers SMS and voice calls through a provider.
type PhoneSender interface {
	SendSMS(ctx context.Context, to, body string) error
	Call(ctx context.Context, to, speech string) error
}

// ErrBudget: the global hourly budget of SMS and calls is spent (toll-fraud guard).
var ErrBudget = errors.New("phone budget exhausted")

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// ParsePhone normalises a number typed on the page to E.164 and checks the policy's country
// allow-list (calling codes such as "1" or "44").
func ParsePhone(input string, allowed []string) (string, error) {
	s := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '.':
			return -1
		}
		return r
	}, strings.TrimSpace(input))
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if !e164.MatchString(s) {
		return "", BadInput("input.phone_form")
	}
	for _, cc := range allowed {
		if strings.HasPrefix(s[1:], cc) {
			return s, nil
		}
	}
	return "", BadInput("input.phone_country")
}
