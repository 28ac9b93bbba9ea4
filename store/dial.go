package store

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// keepAlive is go-redis's own TCP keep-alive policy for the connections it dials (start probing
// after 30 s idle, give up after 3 unanswered probes 5 s apart).
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}

// quietFor is how long a pooled connection may sit unused and still be handed out without a
// look at its socket: Redis closes idle clients only after its `timeout`, a whole number of
// seconds.
const quietFor = time.Second

// dialer dials as go-redis's default dialer does (the same timeout and keep-alive and, when
// tlsConf is set, TLS with that configuration: its ServerName, or the host of the address when
// it has none), for TCP and unix sockets alike, and honours ctx. A plain connection is handed
// to go-redis as a quietConn; a TLS one as it is.
//
// Why: before each command go-redis health-checks the pooled connection it takes, when the
// connection implements syscall.Conn: SetDeadline, SyscallConn (an allocation), then a
// non-blocking recvfrom with MSG_PEEK (a syscall), so that a connection Redis closed while it sat
// in the pool is dropped before a command is sent on it. go-redis skips the check for every
// connection that does not implement syscall.Conn, as it always does for TLS ones. Hiding the
// socket altogether (as TLS does) is not safe enough: after a restart or a CLIENT KILL every
// idle connection is dead, each one a command takes costs one of go-redis's retries, and four
// in a row fail the command (TestClosedPooledConnectionsAreNotTheCallersProblem shows it). So a
// quietConn still implements syscall.Conn, and its peek is real unless the answer is known:
// the connection was used less than quietFor ago and no connection of this client has failed
// since it was last looked at. A connection Redis closed that still slips through (killed
// within the last second, before any other failed) fails its command before Redis ran it: over
// TCP the reply read sees the end of the stream, over a unix socket the write is refused (which
// a quietConn reports as the end of the stream when nothing has been written since the last
// reply, so that go-redis retries it as it retries EOF). go-redis then runs the command again
// on another connection, and every other pooled connection is looked at before its next use.
func dialer(timeout time.Duration, tlsConf *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := &net.Dialer{Timeout: timeout, KeepAliveConfig: keepAlive}
	if tlsConf != nil {
		td := &tls.Dialer{NetDialer: nd, Config: tlsConf}
		return td.DialContext
	}
	failures := new(atomic.Uint64) // connections of this client that failed
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := nd.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		sc, ok := c.(syscall.Conn)
		if !ok {
			return c, nil
		}
		q := &quietConn{Conn: c, sock: sc, failures: failures}
		q.seen.Store(failures.Load())
		q.used.Store(time.Now().UnixNano())
		q.raw.c = q
		return q, nil
	}
}

// quietConn is a pooled connection whose health check is skipped while its health is known (see
// dialer).
type quietConn struct {
	net.Conn // an interface: only net.Conn's methods are promoted
	sock     syscall.Conn
	raw      quietRaw
	failures *atomic.Uint64 // shared by the client's connections
	seen     atomic.Uint64  // failures when this connection was last known healthy
	used     atomic.Int64   // unix ns of its last write
	sent     atomic.Bool    // a write succeeded since the last read
}

func (c *quietConn) Read(b []byte) (int, error) {
	c.sent.Store(false)
	n, err := c.Conn.Read(b)
	if err != nil {
		c.failed(err)
	}
	return n, err
}

func (c *quietConn) Write(b []byte) (int, error) {
	c.used.Store(time.Now().UnixNano())
	n, err := c.Conn.Write(b)
	if err != nil {
		c.failed(err)
		if n == 0 && !c.sent.Load() && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
			return 0, &peerClosedError{err}
		}
	}
	if n > 0 {
		c.sent.Store(true)
	}
	return n, err
}

// failed counts a failure of the connection (not a timeout go-redis set) against the client.
func (c *quietConn) failed(err error) {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		c.failures.Add(1)
	}
}

// SyscallConn lets go-redis health-check the connection; quietRaw decides whether the check
// looks at the socket.
func (c *quietConn) SyscallConn() (syscall.RawConn, error) { return &c.raw, nil }

// quietRaw is a quietConn's syscall.RawConn. go-redis calls only Read, with its peek.
type quietRaw struct{ c *quietConn }

func (r *quietRaw) Read(peek func(fd uintptr) bool) error {
	c := r.c
	n := c.failures.Load()
	if c.seen.Load() == n && time.Now().UnixNano()-c.used.Load() < int64(quietFor) {
		return nil // the peek would find nothing: no failure since the last look, and recent use
	}
	raw, err := c.sock.SyscallConn()
	if err != nil {
		return err
	}
	healthy := true
	err = raw.Read(func(fd uintptr) bool {
		// go-redis's own peek: nothing to read (EAGAIN) is a healthy connection
		var b [1]byte
		_, _, perr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if healthy = perr == syscall.EAGAIN || perr == syscall.EWOULDBLOCK; !healthy {
			// closed, failed or holding unexpected data: go-redis judges it with its own peek
			// (which sees the same), and the others are looked at before their next use
			return peek(fd)
		}
		return true
	})
	if err != nil || !healthy {
		c.failures.Add(1)
	} else {
		c.seen.Store(n)
	}
	return err
}

func (r *quietRaw) Write(f func(fd uintptr) bool) error {
	raw, err := r.c.sock.SyscallConn()
	if err != nil {
		return err
	}
	return raw.Write(f)
}

func (r *quietRaw) Control(f func(fd uintptr)) error {
	raw, err := r.c.sock.SyscallConn()
	if err != nil {
		return err
	}
	return raw.Control(f)
}

// peerClosedError is a write refused on a connection Redis had already closed, with nothing of
// the request sent: to go-redis's retry it is the end of the stream.
type peerClosedError struct{ err error }

func (e *peerClosedError) Error() string   { return "redis closed the connection: " + e.err.Error() }
func (e *peerClosedError) Unwrap() []error { return []error{e.err, io.EOF} }
