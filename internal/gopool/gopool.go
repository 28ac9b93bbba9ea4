// Package gopool runs short jobs on goroutines it keeps for the next job.
//
// A chat step runs deep (the engine, the Redis, Graph and Slack clients, JSON): a new goroutine
// for each one starts with a small stack and copies it each time it doubles (runtime.copystack
// was about 4% of the bot's CPU in the load test). A kept goroutine has grown already. A job
// never waits for a kept goroutine: when none is idle, a new one starts, so a slow job delays
// nobody, and a goroutine idle for the pool's idle time ends.
package gopool

import (
	"sync"
	"time"
)

// Pool hands jobs to idle goroutines; see New.
type Pool struct {
	work chan func()
	idle time.Duration
	wg   sync.WaitGroup
	// spawned, idled and exited, when set, are called when a goroutine starts, when it is about
	// to wait for a job, and when it ends after waiting too long (tests)
	spawned, idled, exited func()
}

// New returns a pool whose goroutines end after idle without a job.
func New(idle time.Duration) *Pool {
	return &Pool{work: make(chan func()), idle: idle}
}

// shared is the process's pool.
var shared = New(30 * time.Second)

// Go runs f on an idle goroutine of the process's pool, or on a new one.
func Go(f func()) { shared.Go(f) }

// Go runs f on an idle goroutine of the pool, or on a new one when none is idle.
func (p *Pool) Go(f func()) {
	p.wg.Add(1)
	select {
	case p.work <- f:
	default:
		if p.spawned != nil {
			p.spawned()
		}
		go p.run(f)
	}
}

// Wait waits until every job given so far has ended.
func (p *Pool) Wait() { p.wg.Wait() }

func (p *Pool) run(f func()) {
	t := time.NewTimer(p.idle)
	defer t.Stop()
	for {
		f()
		f = nil // nothing of the job is kept while idle
		p.wg.Done()
		t.Reset(p.idle) // (since Go 1.23 a Reset timer never delivers an earlier expiry)
		if p.idled != nil {
			p.idled()
		}
		select {
		case f = <-p.work:
		case <-t.C:
			if p.exited != nil {
				p.exited()
			}
			return
		}
	}
}
