// Package freeport finds a free loopback TCP address for a server a test starts in another
// process (redis-server, the bot itself), which must be told its port before it binds.
//
// Asking the kernel for port 0 and closing the listener leaves a window in which the port can
// be taken again: the kernel hands out the same range (net.ipv4.ip_local_port_range, 32768 to
// 60999 by default) to every outgoing connection, and a busy test run makes many. CI met that
// race. The ports handed out here lie below that range, where only listeners that chose their
// port live, are picked at random and are checked free before they are returned.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
)

// low and high bound the ports handed out: above the well-known and most registered ports a
// test machine runs, below the kernel's ephemeral range. A cluster node also binds its port
// plus 10000 (its bus), which still lies below the range.
const (
	low  = 12000
	high = 22000
)

// Addr returns a free loopback address ("127.0.0.1:port").
func Addr(t testing.TB) string {
	t.Helper()
	for range 200 {
		addr := fmt.Sprintf("127.0.0.1:%d", low+rand.IntN(high-low))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		return addr
	}
	t.Fatal("freeport: no free loopback port found below the ephemeral range")
	return ""
}
