// Package childproc starts the servers and browsers that tests run so that none of them can
// outlive the process that started it, however that process ends.
package childproc
