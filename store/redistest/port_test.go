package redistest

import (
	"context"
	"net"
	"strings"
	"testing"
)

// A TCP server whose picked port is taken by someone else before redis-server binds it (the
// race CI met) is started again on another port.
func TestTakenPortIsPickedAgain(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	real := pickAddr
	t.Cleanup(func() { pickAddr = real })
	handedOut := 0
	pickAddr = func(t testing.TB) string {
		handedOut++
		if handedOut%2 == 1 { // every first pick of a server is the taken port
			return taken.Addr().String()
		}
		return real(t)
	}
	s := StartTCP(t)
	if s.Addr == taken.Addr().String() {
		t.Fatalf("the server claims the taken port %s", s.Addr)
	}
	if err := s.Client().Ping(context.Background()).Err(); err != nil {
		t.Fatalf("ping %s: %v", s.Addr, err)
	}
	if handedOut != 2 {
		t.Fatalf("%d ports picked, want 2", handedOut)
	}
	for _, l := range s.Log() {
		if l == "" {
			continue
		}
		if strings.Contains(l, "Address already in use") {
			t.Fatalf("the failed attempt's log was kept: %q", l)
		}
	}
}
