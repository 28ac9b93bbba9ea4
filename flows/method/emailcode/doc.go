// Package emailcode is the email method: a 6-digit code from crypto/rand, valid 10 minutes,
// stored only as a MAC bound to the session, single use.
package emailcode
