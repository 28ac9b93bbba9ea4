// Package flows holds resetbot's conversations as persisted state machines; it imports no chat
// platform, Redis, HTTP or Graph package and reaches them only through the ports in ports.go.
package flows
