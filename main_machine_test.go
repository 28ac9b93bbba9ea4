//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
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

// BenchmarkExchangeCosts measures the CPU time of one exchange of each kind a recovery makes, with
// nothing of the bot's own work in it: an HTTP/1.1 request and its answer on a kept-alive
// loopback connection (net/http at both ends, as the bot is towards Slack's and the browser's
// requests and towards Slack and Graph; and net/http's client alone, against a server that only
// answers), and a go-redis command and its answer with a redis-server on a unix socket,
// connected as the bot connects (store.Connect), as in the load test. It reports cpu-us/op, the
// CPU time of this process per exchange (processCPU, as the load test reads the bot's), and for
// Redis redis-cpu-us/op, redis-server's. A recovery's exchanges times these costs is the part of its CPU no change to
// the bot's own code can take away (see BENCHMARKS.md):
//
//	CGO_ENABLED=0 go test -trimpath -run XXX -bench ExchangeCosts .
func BenchmarkExchangeCosts(b *testing.B) {
	for _, conc := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("http/%d", conc), func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(answerBody))
			}))
			defer srv.Close()
			measureExchanges(b, conc, httpGet(srv.URL), nil)
		})
		b.Run(fmt.Sprintf("http-client/%d", conc), func(b *testing.B) {
			url, stop := answeringServer(b)
			defer stop()
			measureExchanges(b, conc, httpGet(url), nil)
		})
		b.Run(fmt.Sprintf("redis/%d", conc), func(b *testing.B) {
			rs := redistest.Start(b, "--appendonly", "yes", "--appendfsync", "everysec")
			rdb, err := store.Connect(store.Options{URL: rs.URL()}) // as the bot connects
			if err != nil {
				b.Fatal(err)
			}
			defer rdb.Close()
			ctx := context.Background()
			measureExchanges(b, conc, func() error {
				if err := rdb.Get(ctx, "absent").Err(); !errors.Is(err, redis.Nil) {
					return fmt.Errorf("GET of an absent key: %v", err)
				}
				return nil
			}, func() time.Duration { return processCPU(rs.Pid()) })
		})
	}
}

// answerBody is the answer of both servers of BenchmarkExchangeCosts, about the size of Slack's
// to chat.postMessage once its echo of the message is left out.
const answerBody = `{"ok":true,"channel":"D0123456789","ts":"1764666000.000100"}`

// httpGet is a GET of url by a client of its own, its answer read to the end.
func httpGet(url string) func() error {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	return func() error {
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if err := resp.Body.Close(); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}

// answeringServer answers every request on a connection with answerBody, reading only up to the
// empty line that ends a GET's header: the least a server can do, so what is measured is the
// client's part.
func answeringServer(b *testing.B) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	answer := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(answerBody), answerBody))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				br := bufio.NewReader(c)
				for {
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 { // "\r\n": the header's end
							break
						}
					}
					if _, err := c.Write(answer); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/", func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

// measureExchanges runs b.N exchanges, conc at a time, and reports this process's CPU time per
// exchange, and the other process's when other is given (its CPU time so far).
func measureExchanges(b *testing.B, conc int, exchange func() error, other func() time.Duration) {
	b.Helper()
	work := make(chan struct{}, conc)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	// conc exchanges at once first, so the connections are open before the measure
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := exchange(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ResetTimer()
	self := processCPU(os.Getpid())
	var o0 time.Duration
	if other != nil {
		o0 = other()
	}
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if err := exchange(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64((processCPU(os.Getpid())-self).Nanoseconds())/1e3/float64(b.N), "cpu-us/op")
	if other != nil {
		b.ReportMetric(float64((other()-o0).Nanoseconds())/1e3/float64(b.N), "redis-cpu-us/op")
	}
}
