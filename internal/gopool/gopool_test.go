package gopool

import (
	"sync/atomic"
	"testing"
	"time"
)

// A job runs on an idle goroutine when there is one: of a thousand jobs, each given once the
// goroutine of the one before is about to wait for work, nearly all run on that goroutine (a
// job given in the instant before it waits starts another one).
func TestIdleGoroutineTakesTheNextJob(t *testing.T) {
	p := New(time.Minute)
	idle := make(chan struct{}, 1)
	var spawned, ran atomic.Int64
	p.spawned = func() { spawned.Add(1) }
	p.idled = func() {
		select {
		case idle <- struct{}{}:
		default:
		}
	}
	for range 1000 {
		p.Go(func() { ran.Add(1) })
		<-idle
	}
	p.Wait()
	if ran.Load() != 1000 {
		t.Fatalf("%d jobs ran", ran.Load())
	}
	if n := spawned.Load(); n > 50 {
		t.Fatalf("1000 jobs one after another started %d goroutines", n)
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
