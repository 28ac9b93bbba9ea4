package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
)

var _ flows.ReminderQueue = (*Store)(nil)

func queueKey(name string) string { return "remind:{" + name + "}:due" }

// Schedule adds users to a reminder queue at their due times; users already queued keep theirs.
func (s *Store) Schedule(ctx context.Context, queue string, due []flows.Due) error {
	for i := 0; i < len(due); i += 1000 {
		end := min(i+1000, len(due))
		zs := make([]redis.Z, 0, end-i)
		for _, d := range due[i:end] {
			zs = append(zs, redis.Z{Score: float64(d.At.UnixMilli()), Member: d.UserID})
		}
		if err := s.rdb.ZAddNX(ctx, queueKey(queue), zs...).Err(); err != nil {
			return fmt.Errorf("store: schedule: %w", err)
		}
	}
	return nil
}

// claimScript takes up to n due members and leases them: their score moves to now+lease, so a
// replica that dies leaves them due again when the lease runs out.
var claimScript = script("claim.lua")

// Claim leases up to n users due at now for this replica.
func (s *Store) Claim(ctx context.Context, queue string, now time.Time, n int, lease time.Duration) ([]string, error) {
	res, err := claimScript.Run(ctx, s.rdb, []string{queueKey(queue)}, now.UnixMilli(), lease.Milliseconds(), n).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("store: claim: %w", err)
	}
	return res, nil
}

var renewScript = script("renew.lua")

// Renew extends this replica's lease on a user right before it sends, if the lease is still the
// one it took (expect); false when another replica has claimed the user since.
func (s *Store) Renew(ctx context.Context, queue, userID string, expect, until time.Time) (bool, error) {
	n, err := renewScript.Run(ctx, s.rdb, []string{queueKey(queue)}, userID, expect.UnixMilli(), until.UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("store: renew: %w", err)
	}
	return n == 1, nil
}

// Reschedule sets a user's next due time (after a send, a snooze or quiet hours).
func (s *Store) Reschedule(ctx context.Context, queue, userID string, at time.Time) error {
	return s.rdb.ZAdd(ctx, queueKey(queue), redis.Z{Score: float64(at.UnixMilli()), Member: userID}).Err()
}

// Unschedule removes a user from a queue.
func (s *Store) Unschedule(ctx context.Context, queue, userID string) error {
	return s.rdb.ZRem(ctx, queueKey(queue), userID).Err()
}

// Pending counts the users still queued.
func (s *Store) Pending(ctx context.Context, queue string) (int64, error) {
	return s.rdb.ZCard(ctx, queueKey(queue)).Result()
}

// reminder state lives with the enrollment: how many reminders and snoozes a user had.

// ReminderState returns reminders sent and snoozes used.
func (s *Store) ReminderState(ctx context.Context, userID string) (int, int, error) {
	vals, err := s.rdb.HMGet(ctx, enrolKey(userID), "r:sent", "r:snoozes").Result()
	if err != nil {
		return 0, 0, fmt.Errorf("store: reminder state: %w", err)
	}
	n := func(v any) int { s, _ := v.(string); i, _ := strconv.Atoi(s); return i }
	return n(vals[0]), n(vals[1]), nil
}

// CountReminder adds to a user's reminders sent (field "r:sent") or snoozes ("r:snoozes").
func (s *Store) CountReminder(ctx context.Context, userID string, snooze bool) (int, error) {
	field := "r:sent"
	if snooze {
		field = "r:snoozes"
	}
	n, err := s.rdb.HIncrBy(ctx, enrolKey(userID), field, 1).Result()
	return int(n), err
}

var _ flows.EnrollmentBatch = (*Store)(nil)

// GetMany reads many users' enrollments and reminders sent (both live in the enrollment hash)
// in one pipelined round trip; on a Cluster go-redis splits it by node.
func (s *Store) GetMany(ctx context.Context, userIDs []string) ([]flows.Enrollment, []int, error) {
	cmds := make([]*redis.MapStringStringCmd, len(userIDs))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range userIDs {
			cmds[i] = p.HGetAll(ctx, enrolKey(id))
		}
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("store: enrollments: %w", err)
	}
	ens, sent := make([]flows.Enrollment, len(userIDs)), make([]int, len(userIDs))
	for i, c := range cmds {
		h := c.Val()
		en, err := s.decodeEnrollment(userIDs[i], h)
		if err != nil {
			return nil, nil, err
		}
		ens[i] = en
		sent[i], _ = strconv.Atoi(h["r:sent"])
	}
	return ens, sent, nil
}
