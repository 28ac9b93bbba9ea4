package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// pair dials the listener with d and returns both ends.
func pair(t *testing.T, d func(context.Context, string, string) (net.Conn, error), ln net.Listener) (*quietConn, net.Conn) {
	t.Helper()
	c, err := d(context.Background(), "unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	q, ok := c.(*quietConn)
	if !ok {
		t.Fatalf("dialed %T", c)
	}
	return q, s
}

// checked runs go-redis's health check on c: SyscallConn, then its peek inside RawConn.Read.
// It reports whether the peek ran.
func checked(t *testing.T, c net.Conn) bool {
	t.Helper()
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	if err := raw.Read(func(uintptr) bool { ran = true; return true }); err != nil {
		t.Fatal(err)
	}
	return ran
}

// A connection used within the last second, with no failure of the client's connections since
// it was last looked at, is handed out without a syscall; after a failure of another
// connection, or after a second unused, its socket is looked at again.
func TestQuietConnPeeksOnlyWhenItsHealthIsUnknown(t *testing.T) {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := dialer(time.Second, nil)
	a, aPeer := pair(t, d, ln)
	b, bPeer := pair(t, d, ln)
	c, _ := pair(t, d, ln)

	aPeer.Close() // a is dead, and nothing has noticed yet
	if checked(t, a) {
		t.Fatal("a recently used connection was peeked with no failure known")
	}

	// b's peer is gone too: its first write is refused, reported as the end of the stream
	// (go-redis retries that), and counted as a failure of the client's connections
	bPeer.Close()
	if _, err := b.Write([]byte("PING\r\n")); !errors.Is(err, io.EOF) || !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write to a closed peer: %v", err)
	}
	if !checked(t, a) {
		t.Fatal("after another connection failed, a dead connection was not peeked")
	}
	if checked(t, c) {
		t.Fatal("a healthy connection's peek found something")
	}
	// c was found healthy: until the next failure or a second unused, no more syscalls
	if checked(t, c) {
		t.Fatal("c was peeked again with nothing new")
	}
	c.used.Add(-int64(quietFor))
	if c.seen.Load() != c.failures.Load() {
		t.Fatal("c's look was not remembered")
	}
	// quiet for a second: Redis's idle timeout may have closed it, so it is looked at (and
	// found healthy, which go-redis learns from no peek of its own)
	raw, _ := c.SyscallConn()
	if err := raw.Read(func(uintptr) bool { t.Fatal("a healthy connection's peek found something"); return true }); err != nil {
		t.Fatal(err)
	}
}

// A write that follows a partly sent request is not retried on go-redis's behalf: only a
// refused first write is the end of the stream.
func TestQuietConnReportsOnlyAnUnsentRequestAsEOF(t *testing.T) {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, aPeer := pair(t, dialer(time.Second, nil), ln)
	if _, err := a.Write([]byte("*1\r\n")); err != nil {
		t.Fatal(err)
	}
	aPeer.Close()
	if _, err := a.Write([]byte("$4\r\nPING\r\n")); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("a write after part of a request was sent: %v", err)
	}
}

// With TLS (rediss://) the dialer completes the handshake with the options' configuration,
// checking the certificate against its ServerName, and hands go-redis the *tls.Conn as its own
// dialer does.
func TestDialerSpeaksTLSWithTheConfiguredServerName(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redis.corp.test"},
		DNSNames: []string{"redis.corp.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); b := make([]byte, 4); n, _ := io.ReadFull(c, b); c.Write(b[:n]) }()
		}
	}()
	ctx := context.Background()
	good := dialer(time.Second, &tls.Config{RootCAs: roots, ServerName: "redis.corp.test"})
	c, err := good(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*tls.Conn); !ok {
		t.Fatalf("a TLS dial gave %T", c)
	}
	if _, err := c.Write([]byte("PING")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "PING" {
		t.Fatalf("echo %q %v", b, err)
	}
	wrong := dialer(time.Second, &tls.Config{RootCAs: roots, ServerName: "other.corp.test"})
	if c, err := wrong(ctx, "tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("a certificate for another name was accepted")
	}
}
