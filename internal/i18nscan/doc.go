// Package i18nscan holds the test that keeps user-facing English inside the message catalogs.
package i18nscan
