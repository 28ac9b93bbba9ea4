// Package notify delivers messages outside the chat: email over SMTP, and the demo's terminal
// outbox.
package notify
