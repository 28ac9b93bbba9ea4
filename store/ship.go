package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
)

// Shipper hands the audit stream to a sink (a log pipeline, a SIEM) as it grows, remembering in
// Redis the last event shipped. Any number of replicas run one; a lease lets one ship at a time,
// and the cursor moves only for the lease holder, so replicas do not ship the same events twice
// (a replica that stalls past its lease mid-batch may see that batch shipped again: at least
// once, never lost).
type Shipper struct {
	rdb   redis.UniversalClient
	sink  flows.AuditSink
	log   *slog.Logger
	owner string
	// Lease is how long a replica ships alone without renewing (default 30 s); Batch how many
	// events go to the sink at once (default 500).
	Lease time.Duration
	Batch int
	// Flush, when set, runs before the last round at shutdown (the audit writer's Close), so
	// the events of the steps that finished are shipped too.
	Flush func()
}

// NewShipper makes a replica's shipper.
func NewShipper(rdb redis.UniversalClient, sink flows.AuditSink, log *slog.Logger) *Shipper {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return &Shipper{rdb: rdb, sink: sink, log: log, owner: hex.EncodeToString(b[:]), Lease: 30 * time.Second, Batch: 500}
}

var advanceScript = script("advance.lua")

// ShipOnce ships everything not yet shipped, when this replica holds or takes the lease, and
// says how many events it shipped.
func (s *Shipper) ShipOnce(ctx context.Context) (int, error) {
	keys := []string{auditShipLease, auditShippedKey}
	n := 0
	for {
		ok, err := leaseScript.Run(ctx, s.rdb, keys[:1], s.owner, s.Lease.Milliseconds()).Int()
		if err != nil {
			return n, fmt.Errorf("store: audit ship lease: %w", err)
		}
		if ok != 1 {
			return n, nil // another replica ships
		}
		cur, err := s.rdb.Get(ctx, auditShippedKey).Result()
		if err == redis.Nil {
			cur, err = "0-0", nil
		}
		if err != nil {
			return n, fmt.Errorf("store: audit cursor: %w", err)
		}
		recs, err := readAfter(ctx, s.rdb, "("+cur, int64(s.Batch))
		if err != nil || len(recs) == 0 {
			return n, err
		}
		if err := s.sink.Ship(ctx, recs); err != nil {
			return n, fmt.Errorf("store: audit ship: %w", err)
		}
		moved, err := advanceScript.Run(ctx, s.rdb, keys, s.owner, recs[len(recs)-1].ID).Int()
		if err != nil {
			return n, fmt.Errorf("store: audit cursor: %w", err)
		}
		if moved != 1 {
			return n, nil // the lease ran out mid-batch; its new holder carries on
		}
		n += len(recs)
		if len(recs) < s.Batch {
			return n, nil
		}
	}
}

// Run ships on every tick until ctx ends; a failed round is logged and retried on the next.
func (s *Shipper) Run(ctx context.Context, tick <-chan time.Time) error {
	for {
		select {
		case <-ctx.Done():
			// a last round, so the events of the steps that finished are shipped too
			if s.Flush != nil {
				s.Flush()
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, err := s.ShipOnce(sctx)
			cancel()
			if err != nil {
				s.log.Error("audit shipping failed", "err", err)
			}
			return nil
		case <-tick:
			if _, err := s.ShipOnce(ctx); err != nil {
				s.log.Error("audit shipping failed; retrying", "err", err)
			}
		}
	}
}

// Shipped is the id of the last event shipped ("" for none).
func (s *Shipper) Shipped(ctx context.Context) (string, error) {
	v, err := s.rdb.Get(ctx, auditShippedKey).Result()
	if err == redis.Nil {
		return "", nil
	}
	return v, err
}
