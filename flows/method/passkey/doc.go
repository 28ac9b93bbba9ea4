// Package passkey is the passkey and FIDO2 security key method (WebAuthn, with go-webauthn):
// keys are registered and used only on the bot's pages, where the browser binds every
// signature to the bot's origin, so a proof cannot be phished or relayed.
package passkey
