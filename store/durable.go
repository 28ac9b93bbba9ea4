package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotReplicated: a write was applied on the primary but not acknowledged by enough
// replicas in time; the caller must not tell anybody it is done.
var ErrNotReplicated = errors.New("store: the write was not acknowledged by the replicas")

// Durable makes every security-relevant write (enrollments, pins, blocks, and each chat step
// with its attempt counters and last TOTP step) wait until n replicas acknowledged it, with
// WAIT in the same round trip. With Sentinel a failover then loses no write anybody was told
// about. It does nothing on a Cluster client (WAIT has no key to route by) or for n = 0.
func (s *Store) Durable(n int, timeout time.Duration) *Store {
	if _, cluster := s.rdb.(*redis.ClusterClient); cluster || n <= 0 {
		s.waitN = 0
		return s
	}
	s.waitN, s.waitTimeout = n, timeout
	return s
}

// runScript runs sc (EVALSHA, then EVAL when the server lacks the script, as a new primary
// does after a failover) and, when writes must be replicated, WAIT in the same pipeline: one
// round trip on one connection, which is what WAIT is about.
func (s *Store) runScript(ctx context.Context, sc *redis.Script, keys []string, args ...any) *redis.Cmd {
	if s.waitN == 0 {
		return sc.Run(ctx, s.rdb, keys, args...)
	}
	run := func(eval bool) (*redis.Cmd, *redis.Cmd) {
		var cmd *redis.Cmd
		var w *redis.Cmd
		_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			if eval {
				cmd = sc.Eval(ctx, p, keys, args...)
			} else {
				cmd = sc.EvalSha(ctx, p, keys, args...)
			}
			w = p.Do(ctx, "WAIT", s.waitN, s.waitTimeout.Milliseconds())
			return nil
		})
		return cmd, w
	}
	cmd, w := run(false)
	if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		cmd, w = run(true)
	}
	if cmd.Err() != nil {
		return cmd
	}
	if n, err := w.Int64(); err != nil || n < int64(s.waitN) {
		res := redis.NewCmd(ctx)
		res.SetErr(fmt.Errorf("%w (%d of %d)", ErrNotReplicated, n, s.waitN))
		return res
	}
	return cmd
}
