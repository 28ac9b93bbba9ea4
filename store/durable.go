package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
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
		return run(ctx, s.rdb, sc, keys, args)
	}
	run := func(eval bool) (*redis.Cmd, *redis.Cmd) {
		var cmd *redis.Cmd
		var w *redis.Cmd
		_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			if eval {
				cmd = sc.Eval(ctx, p, keys, args...)
			} else {
				cmd = evalSha(ctx, sc, keys, args)
				_ = p.Process(ctx, cmd)
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

// run runs sc as Script.Run does (EVALSHA, then EVAL when the server lacks the script), with
// evalSha's cheaper arguments.
func run(ctx context.Context, rdb redis.UniversalClient, sc *redis.Script, keys []string, args []any) *redis.Cmd {
	cmd := evalSha(ctx, sc, keys, args)
	_ = rdb.Process(ctx, cmd)
	if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		return sc.Eval(ctx, rdb, keys, args...)
	}
	return cmd
}

// evalSha is EVALSHA of sc, as go-redis's Script.EvalSha builds it but cheaper: each key goes as
// a pointer into keys (go-redis writes a *string as its string, and routes a Cluster command by
// it), not boxed on its own, and the script's hash is boxed once. keys must not change until the
// command has run.
func evalSha(ctx context.Context, sc *redis.Script, keys []string, args []any) *redis.Cmd {
	cmd := redis.NewCmd(ctx, evalShaArgs(make([]any, 0, 3+len(keys)+len(args)), sc, keys, args)...)
	if len(keys) > 0 {
		cmd.SetFirstKeyPos(3)
	}
	return cmd
}

// runStrings is run of a script that answers an array of strings, read as strings (a missing
// element as "", an integer in decimal, as go-redis's StringSliceCmd reads them) rather than
// as values to convert; eval is room for EVALSHA's arguments (see evalShaArgs) and cmd for the
// command, in the caller's allocation.
func runStrings(ctx context.Context, rdb redis.UniversalClient, sc *redis.Script, cmd *redis.StringSliceCmd, eval []any, keys []string, args []any) ([]string, error) {
	*cmd = *redis.NewStringSliceCmd(ctx, evalShaArgs(eval[:0], sc, keys, args)...)
	if len(keys) > 0 {
		cmd.SetFirstKeyPos(3)
	}
	_ = rdb.Process(ctx, cmd)
	if err := cmd.Err(); err == nil || !redis.HasErrorPrefix(err, "NOSCRIPT") {
		return cmd.Result()
	}
	vals, err := sc.Eval(ctx, rdb, keys, args...).Slice()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case string:
			out[i] = v
		case int64:
			out[i] = strconv.FormatInt(v, 10)
		}
	}
	return out, nil
}

// evalShaArgs appends evalSha's arguments to dst.
func evalShaArgs(dst []any, sc *redis.Script, keys []string, args []any) []any {
	dst = append(dst, "evalsha", boxedHash(sc), len(keys))
	for i := range keys {
		dst = append(dst, &keys[i])
	}
	return append(dst, args...)
}

var hashes sync.Map // *redis.Script → its hash, boxed

func boxedHash(sc *redis.Script) any {
	if h, ok := hashes.Load(sc); ok {
		return h
	}
	h, _ := hashes.LoadOrStore(sc, any(sc.Hash()))
	return h
}
