// Package console is the terminal chat adapter: the offline demo, and the harness that
// end-to-end tests drive.
package console
