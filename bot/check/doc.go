// Package check runs the named start-up checks of a deployment at once and reports every
// problem they find, for serve's start and for the `resetbot check` command.
package check
