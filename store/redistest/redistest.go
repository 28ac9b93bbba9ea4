// Package redistest starts a real redis-server for tests, on a unix socket in a temporary
// folder (nothing listens on the network), and stops it when the test ends.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one running redis-server.
type Server struct {
	t      testing.TB
	dir    string
	bin    string
	Socket string
	args   []string
	cmd    *exec.Cmd
	done   chan struct{}
}

// Start runs redis-server with extra config arguments (e.g. "--appendonly", "yes"). The test
// fails with an install hint when redis-server is missing.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found: run `make test` (installs it as root) or `apt-get install redis-server`")
	}
	dir := t.TempDir()
	s := &Server{t: t, dir: dir, bin: bin, Socket: filepath.Join(dir, "redis.sock")}
	s.args = append([]string{"--port", "0", "--unixsocket", s.Socket, "--unixsocketperm", "700",
		"--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "notice"}, extra...)
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, s.args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var log []string
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			log = append(log, line)
			if !signalled && strings.Contains(strings.ToLower(line), "ready to accept connections") {
				signalled = true
				ready <- nil
			}
		}
		if !signalled {
			ready <- fmt.Errorf("redis-server exited before it was ready:\n%s", strings.Join(log, "\n"))
		}
		_ = cmd.Wait()
		close(s.done)
	}()
	select {
	case err := <-ready:
		if err != nil {
			s.t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		s.t.Fatal("redis-server did not become ready in 10 s")
	}
}

// URL is the address for store.Connect.
func (s *Server) URL() string { return "unix://" + s.Socket }

// Client returns a new client; it is closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: s.Socket, DisableIdentity: true,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// Kill sends SIGKILL and waits for the process to go: no shutdown save, like a crash.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same socket and folder.
func (s *Server) Restart() {
	s.t.Helper()
	_ = os.Remove(s.Socket)
	s.start()
}

// Stop ends the server.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Flush empties the database between subtests.
func (s *Server) Flush(ctx context.Context) error { return s.Client().FlushAll(ctx).Err() }
