// Package totp is the authenticator-app method: RFC 6238 codes (SHA-1, 6 digits, 30 s, one step
// of skew) where a step once accepted is never accepted again.
package totp
