package gopool

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A job runs on an idle goroutine when there is one: after a first job, a thousand jobs one
// after another start no new goroutine.
func TestIdleGoroutineTakesTheNextJob(t *testing.T) {
	p := New(time.Minute)
	var started atomic.Int64
	var wg sync.WaitGroup
	run := func() {
		wg.Add(1)
		p.Go(func() {
			started.Add(1)
			wg.Done()
		})
		wg.Wait()
	}
	run()
	// the goroutine is idle once it waits for work again
	waitIdle(t, p, 1)
	before := runtime.NumGoroutine()
	for range 1000 {
		run()
		waitIdle(t, p, 1)
	}
	if started.Load() != 1001 {
		t.Fatalf("%d jobs ran", started.Load())
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after the jobs, %d before", n, before)
	}
}

// A job never waits for a busy goroutine: while one job blocks, others start and finish.
func TestJobsNeverWaitForABusyGoroutine(t *testing.T) {
	p := New(time.Minute)
	release := make(chan struct{})
	p.Go(func() { <-release })
	done := make(chan struct{})
	for range 10 {
		p.Go(func() { done <- struct{}{} })
	}
	for range 10 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a job waited behind a blocked one")
		}
	}
	close(release)
	p.Wait()
}

// An idle goroutine ends after the idle time; Wait waits for the jobs given.
func TestIdleGoroutinesEnd(t *testing.T) {
	p := New(time.Millisecond)
	ended := make(chan struct{}, 4)
	p.exited = func() { ended <- struct{}{} }
	var ran atomic.Int64
	for range 4 {
		p.Go(func() { ran.Add(1) })
	}
	p.Wait()
	if ran.Load() != 4 {
		t.Fatalf("Wait returned after %d of 4 jobs", ran.Load())
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("an idle goroutine did not end")
	}
}

// waitIdle waits until n goroutines of p wait for work (a send to p.work would be taken).
func waitIdle(t *testing.T, p *Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// a goroutine blocked receiving on p.work shows as a waiting receiver: a probe job
		// sent without blocking is taken only then
		probe := make(chan struct{})
		p.wg.Add(1)
		select {
		case p.work <- func() { close(probe) }:
			<-probe
			return
		default:
			p.wg.Done()
		}
		if time.Now().After(deadline) {
			t.Fatal("no goroutine became idle")
		}
		runtime.Gosched()
	}
}
