//go:build linux

package main

import (
	"net"
	"syscall"
	"testing"
)

// BenchmarkSyscallCosts measures what the load test's figures depend on most besides the
// code: a recovery makes about 130 system calls (a write and one or two reads per exchange with
// Slack, Redis, Graph, the mail relay and the browser), and their cost differs by machine much
// more than the cost of computing does. Run it beside the load test to compare two machines:
//
//	CGO_ENABLED=0 go test -trimpath -run XXX -bench SyscallCosts .
func BenchmarkSyscallCosts(b *testing.B) {
	b.Run("getpid", func(b *testing.B) {
		for b.Loop() {
			syscall.Getpid()
		}
	})
	// the read a connection makes before its answer has come (EAGAIN), then parks
	b.Run("read-EAGAIN", func(b *testing.B) {
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
			b.Fatal(err)
		}
		defer syscall.Close(p[0])
		defer syscall.Close(p[1])
		buf := make([]byte, 64)
		for b.Loop() {
			if _, err := syscall.Read(p[0], buf); err != syscall.EAGAIN {
				b.Fatalf("read of an empty pipe: %v", err)
			}
		}
	})
	// a one-byte write on a loopback TCP connection whose peer reads it
	b.Run("loopback-write", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		done := make(chan struct{})
		go func() {
			defer close(done)
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf := make([]byte, 1<<16)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer func() { c.Close(); <-done }()
		one := []byte{1}
		for b.Loop() {
			if _, err := c.Write(one); err != nil {
				b.Fatal(err)
			}
		}
	})
}
