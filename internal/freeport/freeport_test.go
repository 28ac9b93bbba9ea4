package freeport

import (
	"net"
	"strconv"
	"testing"
)

// Every address is a free loopback port below the kernel's ephemeral range (so an outgoing
// connection cannot take it before the server binds it), and the bus port of a cluster node
// (port + 10000) is below that range too.
func TestAddrIsFreeAndBelowTheEphemeralRange(t *testing.T) {
	for range 50 {
		addr := Addr(t)
		host, p, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("%q: %v", addr, err)
		}
		port, _ := strconv.Atoi(p)
		if port < 1024 || port+10000 >= 32768 {
			t.Fatalf("port %d is not below the ephemeral range with its bus port", port)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s is not free: %v", addr, err)
		}
		l.Close()
	}
}
