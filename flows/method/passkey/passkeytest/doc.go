// Package passkeytest is a software WebAuthn authenticator for tests: it answers the options
// the bot's pages hand to the browser with the JSON a browser posts back, built as WebAuthn
// Level 3 describes (6.1 authenticator data, 6.5.4 the "none" attestation format, 5.8.1 client
// data, 6.3.3 the assertion signature over authenticatorData || SHA-256(clientDataJSON)). Each
// field can be made wrong, so the server's checks can be shown to refuse it.
package passkeytest
