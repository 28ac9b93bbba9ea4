package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/redistest"
)

// idleConns fills the client's pool with n idle connections.
func idleConns(t *testing.T, rdb *redis.Client, n int) {
	t.Helper()
	ctx := context.Background()
	conns := make([]*redis.Conn, n)
	for i := range conns {
		conns[i] = rdb.Conn()
		if err := conns[i].Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	if got := rdb.PoolStats().IdleConns; got < uint32(n) {
		t.Fatalf("%d idle connections, want %d", got, n)
	}
}

// useAll runs a plain command, a pipeline, a MULTI/EXEC and scripts through the store; none
// may fail.
func useAll(t *testing.T, rdb redis.UniversalClient, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	steps := map[string]func() error{
		"plain": func() error { return rdb.Set(ctx, "k", "v", 0).Err() },
		"pipeline": func() error {
			_, err := st.Load(ctx, "u1", "slack:T:U1")
			return err
		},
		"multi": func() error {
			_, err := st.SpendPasswordChecks(ctx, "u1", 1)
			return err
		},
		"script": func() error {
			_, err := st.CountSend(ctx, "u1", flows.Limits{SendMax: 1000, SendWindow: time.Hour}, now)
			return err
		},
		"script with a plan": func() error {
			_, err := st.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: "slack:T:U1", Now: now,
				Session: &flows.Session{ID: "s1", ExpiresAt: now.Add(time.Hour)}})
			return err
		},
	}
	for _, name := range []string{"plain", "pipeline", "multi", "script", "script with a plan"} {
		if err := steps[name](); err != nil {
			t.Errorf("%s after Redis closed the pooled connections: %v", name, err)
		}
	}
}

// The store's connections skip go-redis's socket peek before each command (store/dial.go);
// connections Redis has closed while they sat in the pool still cost the caller nothing: the
// next commands of every kind succeed, over a unix socket and over TCP, whether Redis closed
// them with CLIENT KILL or for its idle timeout.
func TestClosedPooledConnectionsAreNotTheCallersProblem(t *testing.T) {
	for name, srv := range map[string]*redistest.Server{
		"unix": redistest.Start(t, "--loglevel", "verbose", "--timeout", "1"),
		"tcp":  redistest.StartTCP(t, "--loglevel", "verbose", "--timeout", "1"),
	} {
		t.Run(name, func(t *testing.T) {
			rdb, err := store.Connect(store.Options{URL: srv.URL()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rdb.Close() })
			st := store.New(rdb, newCrypto(t))
			c := rdb.(*redis.Client)
			ctx := context.Background()

			idleConns(t, c, 8)
			if err := srv.Client().Do(ctx, "CLIENT", "KILL", "TYPE", "normal").Err(); err != nil {
				t.Fatal(err)
			}
			useAll(t, rdb, st)

			// the idle timeout: the server logs each connection it closes
			before := strings.Count(strings.Join(srv.Log(), "\n"), "Closing idle client")
			idleConns(t, c, 8)
			srv.WaitLog("Closing idle client", before+8, 10*time.Second)
			useAll(t, rdb, st)
		})
	}
}

// A step's script runs as EVALSHA; when Redis has lost it (a restart, SCRIPT FLUSH) it is sent
// whole, and the step commits once.
func TestCommitAfterRedisLostTheScript(t *testing.T) {
	rdb := redistest.Start(t).Client()
	st := store.New(rdb, newCrypto(t))
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	commit := func(expect int64) flows.Outcome {
		t.Helper()
		out, err := st.Commit(ctx, flows.Commit{Subject: "u1", ChatKey: "slack:T:U1", Now: now, ExpectVersion: expect,
			Session: &flows.Session{ID: "s1", ExpiresAt: now.Add(time.Hour)}})
		if err != nil || out.Status != flows.Committed {
			t.Fatalf("commit: %+v %v", out, err)
		}
		return out
	}
	v := commit(0).Version
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if got := commit(v).Version; got != v+1 {
		t.Fatalf("version %d after %d: the step ran %d times", got, v, got-v)
	}
}
