package deploy_test

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

	"github.com/resetbot/resetbot/internal/childproc"
	"github.com/resetbot/resetbot/internal/freeport"
)

// composeRedis starts, with the real redis-server, the command a Compose file gives a Redis
// service: Compose's $$ escapes undone, /run/secrets and /data pointed at temporary folders, and
// a free loopback port added. It returns a client that knows the password.
func composeRedis(t *testing.T, file, service string, env ...string) (*redis.Client, string) {
	t.Helper()
	var c map[string]any
	readYAML(t, file, &c)
	cmd := fmt.Sprint(dig(c, "services", service, "command", 0))
	if dig(c, "services", service, "entrypoint", 0) != "sh" || cmd == "<nil>" {
		t.Fatalf("%s: %s has no shell command", file, service)
	}
	dir := t.TempDir()
	secrets, data := filepath.Join(dir, "secrets"), filepath.Join(dir, "data")
	os.Mkdir(secrets, 0o700)
	os.Mkdir(data, 0o700)
	const password = "pw-from-the-secret-file"
	if err := os.WriteFile(filepath.Join(secrets, "REDIS_PASSWORD"), []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = strings.ReplaceAll(cmd, "$$", "$")
	cmd = strings.ReplaceAll(cmd, "/run/secrets/", secrets+"/")
	cmd = strings.ReplaceAll(cmd, "--dir /data", "--dir "+data)
	// The port is found free and closed before redis-server binds it, so another process may
	// take it first: then the server is started again on another (as store/redistest does).
	var port string
	for attempt := 1; ; attempt++ {
		var err error
		if port, err = startComposeRedis(t, cmd, env); err == nil {
			break
		} else if attempt == 5 || !strings.Contains(err.Error(), "Address already in use") {
			t.Fatal(err)
		}
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, Password: password})
	t.Cleanup(func() { rdb.Close() })
	return rdb, port
}

// startComposeRedis runs the shell command on a free loopback port and waits until redis-server
// is ready, returning the port, or what it printed when it ended first.
func startComposeRedis(t *testing.T, cmd string, env []string) (string, error) {
	addr := freeport.Addr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	p := exec.Command("sh", "-c", cmd+" --port "+port+" --bind 127.0.0.1")
	p.Env = append(os.Environ(), env...)
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.Stdout, p.Stderr = w, w
	// the shell and the redis-server it starts are one process group that ends with the test
	proc, err := childproc.Start(p)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Signal(syscall.SIGKILL); _ = proc.Wait(); out.Close() })
	ready := make(chan error, 1)
	go func() {
		var log strings.Builder
		s := bufio.NewScanner(out)
		for s.Scan() {
			log.WriteString(s.Text() + "\n")
			if strings.Contains(s.Text(), "Ready to accept connections") {
				ready <- nil
				for s.Scan() {
				}
				return
			}
		}
		ready <- fmt.Errorf("redis-server ended:\n%s", log.String())
	}()
	select {
	case err := <-ready:
		return port, err
	case <-time.After(20 * time.Second):
		t.Fatal("redis-server did not start")
	}
	return "", nil
}

// The Compose files' Redis really runs with the append-only file fsynced on every write, takes
// the password from the secret file (refusing clients without it) and never shows it in its
// command line; in the Sentinel variant a replica follows the primary with that password.
func TestComposeRedisKeepsWritesAndItsPassword(t *testing.T) {
	ctx := context.Background()
	check := func(name string, rdb *redis.Client) {
		for k, want := range map[string]string{"appendonly": "yes", "appendfsync": "always", "save": ""} {
			if got, err := rdb.ConfigGet(ctx, k).Result(); err != nil || got[k] != want {
				t.Errorf("%s: %s = %q (%v), want %q", name, k, got[k], err, want)
			}
		}
		anon := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr})
		defer anon.Close()
		if err := anon.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
			t.Errorf("%s: a client without the password got %v", name, err)
		}
		info, err := rdb.InfoMap(ctx, "server").Result()
		if err != nil {
			t.Fatal(err)
		}
		cmdline, err := os.ReadFile("/proc/" + info["Server"]["process_id"] + "/cmdline")
		if err != nil || strings.Contains(string(cmdline), rdb.Options().Password) {
			t.Errorf("%s: the password is on the command line (%v): %q", name, err, cmdline)
		}
	}
	single, _ := composeRedis(t, "compose/compose.yaml", "redis")
	check("compose.yaml", single)

	primary, port := composeRedis(t, "compose/compose.sentinel.yaml", "redis-1")
	check("compose.sentinel.yaml primary", primary)
	replica, _ := composeRedis(t, "compose/compose.sentinel.yaml", "redis-2", "REPLICAOF=127.0.0.1 "+port)
	check("compose.sentinel.yaml replica", replica)
	if err := primary.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// WAIT returns once the replica has the write: it connected with masterauth from the file
	if n, err := primary.Do(ctx, "WAIT", 1, 20000).Int(); err != nil || n != 1 {
		t.Fatalf("the replica did not acknowledge the write: %d %v", n, err)
	}
	if v, err := replica.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Errorf("the replica has %q (%v)", v, err)
	}
}
