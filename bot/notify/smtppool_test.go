package notify_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot/notify"
	"github.com/resetbot/resetbot/bot/notify/smtptest"
	"github.com/resetbot/resetbot/flows"
)

// gate holds every message the relay receives (before its 250) until opened, and reports each
// as it arrives.
type gate struct {
	open    chan struct{}
	arrived chan struct{}
	once    sync.Once
}

func holdMessages(srv *smtptest.Server) *gate {
	g := &gate{open: make(chan struct{}), arrived: make(chan struct{}, 1000)}
	srv.OnMessage(func(smtptest.Message) {
		g.arrived <- struct{}{}
		<-g.open
	})
	return g
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// await receives n signals from ch, or fails the test after 10 s.
func await(t *testing.T, ch <-chan struct{}, n int, what string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for i := range n {
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%d of %d %s", i, n, what)
		}
	}
}

func numbered(i int) flows.Mail {
	return flows.Mail{To: []string{"a@x.test"}, Subject: "s", Body: fmt.Sprintf("message %d", i)}
}

// TestSMTPBoundsItsSessions: many senders at once over a bound of k open k sessions: while k
// messages are in flight the others wait for a session instead of opening one, all are
// delivered, and steady load afterwards opens none (no session opened and ended per message).
func TestSMTPBoundsItsSessions(t *testing.T) {
	const k, n = 2, 12
	srv := smtptest.Start(t)
	m := &notify.SMTP{Addr: srv.Addr, From: "resetbot@contoso.test", MaxConns: k}
	defer m.Close()
	waits := make(chan struct{}, 1000)
	notify.OnWait(m, func() { waits <- struct{}{} })
	g := holdMessages(srv)
	defer g.release()
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- m.Send(context.Background(), numbered(i)) }()
	}
	await(t, g.arrived, k, "messages in flight")
	await(t, waits, n-k, "senders waiting for a session")
	if c := srv.Connections(); c != k {
		t.Fatalf("%d connections with %d messages in flight, want %d", c, k, k)
	}
	g.release()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	srv.Wait(t, n)
	// steady load: more rounds of n at once reuse the k sessions
	for round := 1; round <= 3; round++ {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if err := m.Send(context.Background(), numbered(round*n+i)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	srv.Wait(t, 4*n)
	if c := srv.Connections(); c != k {
		t.Fatalf("%d messages took %d connections, want %d", 4*n, c, k)
	}
}

// TestSMTPDefaultBound: without MaxConns the bound is DefaultMaxConns.
func TestSMTPDefaultBound(t *testing.T) {
	srv := smtptest.Start(t)
	m := &notify.SMTP{Addr: srv.Addr, From: "resetbot@contoso.test"}
	defer m.Close()
	waits := make(chan struct{}, 100)
	notify.OnWait(m, func() { waits <- struct{}{} })
	g := holdMessages(srv)
	defer g.release()
	errs := make(chan error, notify.DefaultMaxConns+1)
	for i := range notify.DefaultMaxConns + 1 {
		go func() { errs <- m.Send(context.Background(), numbered(i)) }()
	}
	await(t, g.arrived, notify.DefaultMaxConns, "messages in flight")
	await(t, waits, 1, "sender waiting")
	g.release()
	for range notify.DefaultMaxConns + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if c := srv.Connections(); c != notify.DefaultMaxConns {
		t.Fatalf("%d connections, want %d", c, notify.DefaultMaxConns)
	}
}

// TestSMTPWaitingSenderHonoursItsContext: a sender waiting for the one session gives up when
// its context ends, sends nothing and opens nothing; the session serves the next message.
func TestSMTPWaitingSenderHonoursItsContext(t *testing.T) {
	srv := smtptest.Start(t)
	m := &notify.SMTP{Addr: srv.Addr, From: "resetbot@contoso.test", MaxConns: 1}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	notify.OnWait(m, cancel)
	g := holdMessages(srv)
	defer g.release()
	first := make(chan error, 1)
	go func() { first <- m.Send(context.Background(), numbered(0)) }()
	await(t, g.arrived, 1, "message in flight")
	if err := m.Send(ctx, numbered(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("a waiting sender whose context ended: %v, want context.Canceled", err)
	}
	g.release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	notify.OnWait(m, nil)
	if err := m.Send(context.Background(), numbered(2)); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 2)
	if len(got) != 2 || got[1].Data == got[0].Data {
		t.Fatalf("messages: %+v", got)
	}
	if c := srv.Connections(); c != 1 {
		t.Fatalf("%d connections, want 1", c)
	}
}

// TestSMTPClosedSessionFreesItsPlace: a session closed after the relay's refusal frees its
// place for the next waiting sender, which opens a new one in its stead.
func TestSMTPClosedSessionFreesItsPlace(t *testing.T) {
	srv := smtptest.Start(t)
	m := &notify.SMTP{Addr: srv.Addr, From: "resetbot@contoso.test", MaxConns: 1}
	defer m.Close()
	waits := make(chan struct{}, 10)
	notify.OnWait(m, func() { waits <- struct{}{} })
	g := holdMessages(srv)
	defer g.release()
	errs := make([]chan error, 3)
	for i := range errs {
		errs[i] = make(chan error, 1)
	}
	go func() { errs[0] <- m.Send(context.Background(), numbered(0)) }()
	await(t, g.arrived, 1, "message in flight")
	go func() { errs[1] <- m.Send(context.Background(), numbered(1)) }()
	await(t, waits, 1, "first sender waiting")
	go func() { errs[2] <- m.Send(context.Background(), numbered(2)) }()
	await(t, waits, 1, "second sender waiting")
	srv.RejectNext(1) // the first waiting sender's message, in the session it is handed
	g.release()
	if err := <-errs[0]; err != nil {
		t.Fatal(err)
	}
	if err := <-errs[1]; err == nil {
		t.Fatal("a message the relay refused was reported as sent")
	}
	if err := <-errs[2]; err != nil {
		t.Fatal(err)
	}
	srv.Wait(t, 2)
	if c := srv.Connections(); c != 2 {
		t.Fatalf("%d connections, want 2 (the refused session's replacement)", c)
	}
}

// BenchmarkSMTPSendParallel sends messages from many senders at once (as the load test's 50
// recoveries do) and reports the connections the relay accepted per thousand messages.
func BenchmarkSMTPSendParallel(b *testing.B) {
	srv := smtptest.Start(b)
	m := &notify.SMTP{Addr: srv.Addr, From: "resetbot@contoso.test"}
	defer m.Close()
	b.SetParallelism(25)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := m.Send(context.Background(), numbered(0)); err != nil {
				b.Error(err)
			}
		}
	})
	b.ReportMetric(float64(srv.Connections())*1000/float64(b.N), "conns/1000msgs")
}

// TestSMTPCloseEndsSessionsInUse: a session whose message was still on its way when Close was
// called is ended when the message is, not kept (nothing would ever close it).
func TestSMTPCloseEndsSessionsInUse(t *testing.T) {
	srv := smtptest.Start(t)
	m := &notify.SMTP{Addr: srv.Addr, From: "resetbot@contoso.test", MaxConns: 1}
	g := holdMessages(srv)
	defer g.release()
	errs := make(chan error, 1)
	go func() { errs <- m.Send(context.Background(), numbered(1)) }()
	await(t, g.arrived, 1, "messages in flight")
	m.Close()
	g.release()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if k := notify.Kept(m); k != 0 {
		t.Fatalf("%d sessions kept after Close", k)
	}
}
