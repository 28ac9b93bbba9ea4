package redistest_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/resetbot/resetbot/store/redistest"
)

const orphanChild = "RESETBOT_ORPHAN_CHILD"

// Every server the kit starts (a plain one, a Sentinel group and a Cluster) ends when the test
// binary that started it is SIGKILLed, and none holds a pipe the binary inherited (as a Go fuzz
// worker inherits its coordinator's): a second copy of this test binary starts them, reports
// their process ids and is killed; each server must be gone and the pipe closed.
func TestServersDieWithTheTestBinary(t *testing.T) {
	if os.Getenv(orphanChild) != "" {
		startAndHang(t)
		return
	}
	inherited, held, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inherited.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServersDieWithTheTestBinary$", "-test.timeout=5m")
	// The killed child cannot remove its own test folders (its servers' sockets): they go into one
	// this test removes. Short, since a Unix socket's path has at most 107 bytes.
	scratch, err := os.MkdirTemp("", "orphan")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(scratch) })
	cmd.Env = append(os.Environ(), orphanChild+"=1", "TMPDIR="+scratch)
	cmd.ExtraFiles = []*os.File{held} // descriptor 3 in the child, without close-on-exec
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	held.Close()
	var pids []int
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "ready" {
		if p, ok := strings.CutPrefix(sc.Text(), "server "); ok {
			n, _ := strconv.Atoi(p)
			pids = append(pids, n)
		}
	}
	if len(pids) != 1+6+6 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the child reported %d servers, want 13 (one plain, a Sentinel group of six, a Cluster of six)", len(pids))
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(inherited.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	pipe := fmt.Sprintf("pipe:[%d]", st.Ino)
	for _, pid := range pids {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			t.Fatalf("server %d: %v", pid, err)
		}
		for _, fd := range fds {
			if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); l == pipe {
				t.Errorf("server %d holds the test binary's inherited pipe as descriptor %s", pid, fd.Name())
			}
		}
	}
	pidfds := make([]int, len(pids))
	for i, pid := range pids {
		if pidfds[i], err = unix.PidfdOpen(pid, 0); err != nil {
			t.Fatalf("server %d not running before the kill: %v", pid, err)
		}
		defer unix.Close(pidfds[i])
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for i, fd := range pidfds {
		// A pidfd becomes readable when its process ends.
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, max(int(time.Until(deadline).Milliseconds()), 1))
		for err == unix.EINTR {
			n, err = unix.Poll(pfd, max(int(time.Until(deadline).Milliseconds()), 1))
		}
		if err != nil || n == 0 {
			_ = syscall.Kill(-pids[i], syscall.SIGKILL)
			t.Errorf("server %d still running 10 s after its test binary was killed (%v)", pids[i], err)
		}
	}
	// Nothing holds the write end any more: a read ends at once.
	_ = inherited.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := inherited.Read(make([]byte, 1)); n != 0 || err == nil || !errors.Is(err, io.EOF) {
		t.Errorf("the inherited pipe is still open after the test binary died: %d %v", n, err)
	}
}

// startAndHang is the child's part: it starts the servers, says which they are, and waits to be
// killed.
func startAndHang(t *testing.T) {
	servers := []*redistest.Server{redistest.Start(t)}
	g := redistest.StartSentinel(t)
	servers = append(append(append(servers, g.Primary), g.Replicas...), g.Sentinels...)
	servers = append(servers, redistest.StartCluster(t).Nodes...)
	for _, s := range servers {
		fmt.Printf("server %d\n", s.Pid())
	}
	fmt.Println("ready")
	select {}
}
