// Package graphtest is an in-process fake Entra tenant over HTTP: the Graph endpoints resetbot
// calls and an OpenID Connect provider with a login form, recording every change. Tests and
// the demo point the real Graph SDK and the real OIDC client at it.
package graphtest
