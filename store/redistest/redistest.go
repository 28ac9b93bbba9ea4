// Package redistest starts a real redis-server for tests, on a unix socket in a temporary
// folder (nothing listens on the network), and stops it when the test ends. Every server it
// starts also ends when the test binary ends, however it ends (see internal/childproc).
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/internal/childproc"
	"github.com/resetbot/resetbot/internal/freeport"
)

// Server is one running redis-server.
type Server struct {
	t      testing.TB
	dir    string
	bin    string
	Socket string // the unix socket, or "" for a TCP server
	Addr   string // host:port of a TCP server
	args   []string
	cmd    *childproc.Process
	done   chan struct{}

	ready string // the log line that says it is ready (lower case); "" for a data node's

	logMu sync.Mutex
	log   []string
	wake  chan struct{}
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
	if err := s.tryStart(); err != nil {
		s.t.Fatal(err)
	}
}

// tryStart starts the process and waits until it says it is ready.
func (s *Server) tryStart() error {
	cmd := exec.Command(s.bin, s.args...)
	// A pipe of our own rather than StdoutPipe: the log reader below reads it to its end while
	// childproc waits for the process.
	out, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = w, w
	proc, err := childproc.Start(cmd)
	w.Close()
	if err != nil {
		out.Close()
		return fmt.Errorf("start redis-server: %v", err)
	}
	s.cmd = proc
	done := make(chan struct{}) // this run's: a failed run's reader must not close the next run's
	s.done = done
	if s.wake == nil {
		s.wake = make(chan struct{}, 1)
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			s.logMu.Lock()
			s.log = append(s.log, line)
			s.logMu.Unlock()
			select {
			case s.wake <- struct{}{}:
			default:
			}
			marker := s.ready
			if marker == "" {
				marker = "ready to accept connections"
			}
			if !signalled && strings.Contains(strings.ToLower(line), marker) {
				signalled = true
				ready <- nil
			}
		}
		out.Close()
		if !signalled {
			ready <- errExited{strings.Join(s.Log(), "\n")}
		}
		_ = proc.Wait()
		close(done)
	}()
	select {
	case err := <-ready:
		if err != nil {
			<-done
			s.cmd = nil
		}
		return err
	case <-time.After(10 * time.Second):
		return fmt.Errorf("redis-server did not become ready in 10 s")
	}
}

// errExited is a server that ended before it was ready, with what it printed.
type errExited struct{ log string }

func (e errExited) Error() string { return "redis-server exited before it was ready:\n" + e.log }

// bindAttempts bounds the retries of a TCP server whose port was taken between the moment it
// was found free and the moment redis-server binds it (CI saw that when free ports came from
// the kernel's ephemeral range, which outgoing connections share): the server is then started
// again on a new port.
const bindAttempts = 5

// pickAddr finds a free loopback address (below the kernel's ephemeral range, see
// internal/freeport); a test replaces it to hand out a taken one.
var pickAddr = freeport.Addr

// startOnFreePort starts a TCP server, configured by build for the port in s.Addr, on a new
// port each time the one picked turns out to be taken.
func (s *Server) startOnFreePort(build func()) {
	s.t.Helper()
	for i := 1; ; i++ {
		s.Addr = pickAddr(s.t)
		build()
		err := s.tryStart()
		if err == nil {
			return
		}
		var exited errExited
		if i < bindAttempts && errors.As(err, &exited) && strings.Contains(exited.log, "Address already in use") {
			s.logMu.Lock()
			s.log = nil
			s.logMu.Unlock()
			continue
		}
		s.t.Fatal(err)
	}
}

// URL is the address for store.Connect.
func (s *Server) URL() string {
	if s.Socket == "" {
		return "redis://" + s.Addr
	}
	return "unix://" + s.Socket
}

// Pid is the server's process id (0 when it is not running).
func (s *Server) Pid() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Pid()
}

// Log is what the server printed so far.
func (s *Server) Log() []string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]string(nil), s.log...)
}

// WaitLog waits (woken by each line the server prints) until it has printed n lines
// containing text, failing after d.
func (s *Server) WaitLog(text string, n int, d time.Duration) { s.waitLog(n, d, text) }

// waitLog waits until n lines contain any of texts.
func (s *Server) waitLog(n int, d time.Duration, texts ...string) {
	s.t.Helper()
	text := strings.Join(texts, `" or "`)
	deadline := time.After(d)
	for {
		count := 0
		for _, l := range s.Log() {
			for _, x := range texts {
				if strings.Contains(l, x) {
					count++
					break
				}
			}
		}
		if count >= n {
			return
		}
		select {
		case <-s.wake:
		case <-deadline:
			s.t.Fatalf("redis-server %s never printed %q %d times:\n%s", s.Addr, text, n, strings.Join(s.Log(), "\n"))
		}
	}
}

// Client returns a new client; it is closed when the test ends.
func (s *Server) Client() *redis.Client {
	network, addr := "unix", s.Socket
	if s.Socket == "" {
		network, addr = "tcp", s.Addr
	}
	c := redis.NewClient(&redis.Options{Network: network, Addr: addr, DisableIdentity: true,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// Kill sends SIGKILL and waits for the process to go: no shutdown save, like a crash.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same socket and folder.
func (s *Server) Restart() {
	s.t.Helper()
	if s.Socket != "" {
		_ = os.Remove(s.Socket)
	}
	s.start()
}

// StartTCP runs redis-server on a free loopback TCP port: replication and Sentinel need one.
func StartTCP(t testing.TB, extra ...string) *Server {
	t.Helper()
	s := newTCP(t)
	s.startOnFreePort(func() {
		s.args = append([]string{"--port", s.port(), "--bind", "127.0.0.1", "--dir", s.dir, "--save", "", "--appendonly", "no",
			"--daemonize", "no", "--loglevel", "notice"}, extra...)
	})
	t.Cleanup(s.Stop)
	return s
}

func newTCP(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found: run `make test` (installs it as root) or `apt-get install redis-server`")
	}
	return &Server{t: t, dir: t.TempDir(), bin: bin}
}

func (s *Server) port() string { return s.Addr[strings.LastIndexByte(s.Addr, ':')+1:] }

// Sentinel is a primary, two replicas and three sentinels watching them as MasterName.
type Sentinel struct {
	Primary   *Server
	Replicas  []*Server
	Sentinels []*Server
}

// MasterName is the name the sentinels know the primary by.
const MasterName = "resetbot"

// StartSentinel starts the group and waits until both replicas are in sync and every sentinel
// knows them and the other two sentinels, so a failover can happen.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	g := &Sentinel{Primary: StartTCP(t, "--appendonly", "yes")}
	for i := 0; i < 2; i++ {
		r := StartTCP(t, "--appendonly", "yes", "--replicaof", "127.0.0.1", g.Primary.port())
		r.WaitLog("MASTER <-> REPLICA sync: Finished with success", 1, 20*time.Second)
		g.Replicas = append(g.Replicas, r)
	}
	for i := 0; i < 3; i++ {
		s := newTCP(t)
		s.ready = "+monitor master"
		s.startOnFreePort(func() {
			conf := filepath.Join(s.dir, "sentinel.conf")
			body := fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %s 2\n"+
				"sentinel down-after-milliseconds %s 1500\nsentinel failover-timeout %s 10000\nsentinel parallel-syncs %s 2\n",
				s.port(), s.dir, MasterName, g.Primary.port(), MasterName, MasterName, MasterName)
			if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			s.args = []string{conf, "--sentinel"}
		})
		t.Cleanup(s.Stop)
		g.Sentinels = append(g.Sentinels, s)
	}
	for _, s := range g.Sentinels {
		s.WaitLog("+slave slave", 2, 30*time.Second)
		s.WaitLog("+sentinel sentinel", 2, 30*time.Second)
	}
	return g
}

// Addrs are the sentinels' addresses, for store.Connect.
func (g *Sentinel) Addrs() []string { return addrs(g.Sentinels) }

func addrs(servers []*Server) []string {
	out := make([]string, 0, len(servers))
	for _, s := range servers {
		out = append(out, s.Addr)
	}
	return out
}

// WaitFailover waits until a sentinel announces that a replica took over and the other
// replica is in sync with it, so writes can be acknowledged again.
func (g *Sentinel) WaitFailover() {
	g.Primary.t.Helper()
	// A sentinel whose timer ran more than 2 s late (a loaded machine) enters TILT mode for
	// 30 s and starts no failover meanwhile (Redis' sentinel.c: SENTINEL_TILT_TRIGGER and
	// SENTINEL_TILT_PERIOD), so the wait covers one tilt on top of the usual few seconds.
	g.Sentinels[0].WaitLog("+switch-master "+MasterName, 1, 90*time.Second)
	addr, err := g.Sentinels[0].Client().Do(context.Background(), "SENTINEL", "get-master-addr-by-name", MasterName).StringSlice()
	if err != nil || len(addr) != 2 {
		g.Primary.t.Fatalf("sentinel: master address: %v %v", addr, err)
	}
	for _, r := range g.Replicas {
		if r.Addr != addr[0]+":"+addr[1] {
			r.waitLog(2, 30*time.Second, "sync: Finished with success", "Master accepted a Partial Resynchronization")
		}
	}
}

// Stop ends the server.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Signal(syscall.SIGKILL)
		<-s.done
	}
	s.cmd = nil
}

// Flush empties the database between subtests.
func (s *Server) Flush(ctx context.Context) error { return s.Client().FlushAll(ctx).Err() }

// Cluster is three masters with a replica each.
type Cluster struct{ Nodes []*Server }

// StartCluster starts six nodes, joins them with redis-cli (three masters, one replica each)
// and waits until every node says the cluster is ok.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redis-cli not found: apt-get install redis-tools (it comes with redis-server)")
	}
	c := &Cluster{}
	args := []string{"--cluster", "create"}
	for i := 0; i < 6; i++ {
		n := StartTCP(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
			"--appendonly", "yes")
		c.Nodes = append(c.Nodes, n)
		args = append(args, n.Addr)
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := childproc.CombinedOutput(exec.Command(cli, args...)); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range c.Nodes {
		n.WaitLog("Cluster state changed: ok", 1, 30*time.Second)
	}
	return c
}

// Addrs are the nodes' addresses, for store.Connect.
func (c *Cluster) Addrs() []string { return addrs(c.Nodes) }
