// Package web serves the bot's one-time-link pages: directory sign-in, method enrolment and the
// new password. Secrets are entered and shown only here, and only after a POST.
package web
