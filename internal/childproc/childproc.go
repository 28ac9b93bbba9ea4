package childproc

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
)

// Process is one started command. Wait for it through Process, not through Cmd: Process owns
// the Cmd's Wait.
type Process struct {
	Cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts cmd so that it cannot outlive this process:
//
//   - it gets SIGKILL from the kernel when its parent goes (PR_SET_PDEATHSIG). Linux sends that
//     signal when the *thread* that forked the child ends, not the process (golang/go#27505), and
//     the Go runtime ends a thread whenever a goroutine locked to it returns. So the fork happens
//     on a goroutine locked to its thread that stays blocked in Wait for the child's whole life:
//     that thread ends only with the child, or with this whole process;
//   - it leads a process group of its own, so Stop reaches whatever it forks;
//   - it inherits no descriptor but 0, 1 and 2 (and cmd.ExtraFiles): a Go fuzz worker holds its
//     coordinator's pipes as descriptors 3 and 4 without close-on-exec, and a server that
//     inherited them kept `go test` waiting for their end long after the worker was gone.
//
// When cmd's output goes to a pipe, only the child holds its write end.
func Start(cmd *exec.Cmd) (*Process, error) {
	sealInherited()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	dieWithParent(cmd.SysProcAttr)
	cmd.SysProcAttr.Setpgid = true
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread ends with this goroutine, once the child has ended.
		if err := cmd.Start(); err != nil {
			started <- err
			close(p.done)
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// CombinedOutput runs cmd to its end like exec.Cmd.CombinedOutput, started by Start.
func CombinedOutput(cmd *exec.Cmd) ([]byte, error) {
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	p, err := Start(cmd)
	if err != nil {
		return nil, err
	}
	err = p.Wait()
	return b.Bytes(), err
}

// Pid is the process id, which is also its process group id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Done is closed when the process has ended and its output is read.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the end and returns what exec.Cmd.Wait returned.
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// Signal sends sig to the process and everything in its group.
func (p *Process) Signal(sig syscall.Signal) { _ = syscall.Kill(-p.Pid(), sig) }

// Hold calls start on a goroutine locked to its OS thread and keeps that thread until done is
// closed, for libraries that fork their own child with a parent-death signal (chromedp does
// for Chromium): close done only after that child has ended.
func Hold(start func() error, done <-chan struct{}) error {
	sealInherited()
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		res <- start()
		<-done
	}()
	return <-res
}

var sealMu sync.Mutex

// sealInherited sets close-on-exec on every descriptor above 2 that this process holds. Go opens
// its own with it already, so only inherited ones change, and nothing here execs them on purpose.
func sealInherited() {
	sealMu.Lock()
	defer sealMu.Unlock()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
