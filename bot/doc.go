// Package bot holds resetbot's deployment configuration; its sub-packages face people: chat
// adapters, the web pages and out-of-chat delivery.
package bot
