//go:build !linux

package childproc

import "syscall"

// dieWithParent has no equivalent outside Linux; the process group still lets Stop end it all.
func dieWithParent(*syscall.SysProcAttr) {}
