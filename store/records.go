package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
)

// Peek returns a live link record and its session without consuming anything.
func (s *Store) Peek(ctx context.Context, userID string, p flows.Purpose, mac string) (flows.LinkRecord, *flows.Session, error) {
	r := newPeekRead(userID, p)
	res, err := runStrings(ctx, s.rdb, peekScript, &r.cmd, r.eval[:], r.keys[:], r.args[:])
	if err != nil {
		return flows.LinkRecord{}, nil, fmt.Errorf("store: link: %w", err)
	}
	if len(res) != 3 {
		return flows.LinkRecord{}, nil, flows.ErrLinkGone
	}
	v := res[0]
	rec, stored, ok := decodeLink(userID, p, v)
	if !ok || subtle.ConstantTimeCompare([]byte(stored), []byte(mac)) != 1 {
		return flows.LinkRecord{}, nil, flows.ErrLinkGone
	}
	rec.Stored = v
	if res[1] == "" || res[2] == "" {
		return flows.LinkRecord{}, nil, flows.ErrLinkGone // the session is gone
	}
	sess := sessionOf(res[1], res[2])
	if sess == nil {
		return flows.LinkRecord{}, nil, flows.ErrLinkGone
	}
	return rec, sess, nil
}

// peekRead is peek.lua's keys and arguments in one allocation (see loadRead): linksKey, and
// the purpose and sessKey(userID, "") as pointers.
type peekRead struct {
	keys             [1]string
	purpose, sessPre string
	args             [2]any
	eval             [3 + 1 + 2]any
	cmd              redis.StringSliceCmd
}

func newPeekRead(userID string, p flows.Purpose) *peekRead {
	r := &peekRead{purpose: string(p)}
	// linksKey and sessKey(userID, ""), built as those build them
	var keys [2]string
	joinKeys(keys[:], [][4]string{{"{u:", userID, "}:l"}, {"{u:", userID, "}:s:"}})
	r.keys[0], r.sessPre = keys[0], keys[1]
	r.args = [2]any{&r.purpose, &r.sessPre}
	return r
}

// peekScript reads a link and its session at once: the session's key comes from the link.
var peekScript = script("peek.lua")

func decodeLink(uid string, p flows.Purpose, v string) (flows.LinkRecord, string, bool) {
	var parts [5]string // strings.Split(v, "|") of a record of five parts, without its slice
	rest, ok := v, true
	for i := range parts {
		if i < len(parts)-1 {
			parts[i], rest, ok = strings.Cut(rest, "|")
		} else {
			parts[i] = rest
			ok = ok && !strings.Contains(rest, "|")
		}
		if !ok {
			return flows.LinkRecord{}, "", false
		}
	}
	ver, err1 := strconv.ParseInt(parts[3], 10, 64)
	exp, err2 := strconv.ParseInt(parts[4], 10, 64)
	if err1 != nil || err2 != nil {
		return flows.LinkRecord{}, "", false
	}
	return flows.LinkRecord{UserID: uid, Purpose: p, ChatKey: parts[1], SessionID: parts[2],
		SessionVersion: ver, ExpiresAt: time.UnixMilli(exp)}, parts[0], true
}

// Consume removes the link if it is still current and its session still has the bound
// version, saving next (or deleting the session) in the same script.
func (s *Store) Consume(ctx context.Context, userID string, p flows.Purpose, mac string, next *flows.Session, now time.Time) error {
	v, err := s.rdb.HGet(ctx, linksKey(userID), string(p)).Result()
	if err != nil {
		return flows.ErrLinkGone
	}
	rec, _, _ := decodeLink(userID, p, v)
	rec.Stored = v
	return s.ConsumePeeked(ctx, rec, mac, next, now)
}

// ConsumePeeked is Consume of a link Peek read (rec.Stored): the MAC is checked against it
// again and consume.lua removes the link only if it is still that value, so a link replaced or
// consumed since the Peek is gone.
func (s *Store) ConsumePeeked(ctx context.Context, rec flows.LinkRecord, mac string, next *flows.Session, now time.Time) error {
	_, err := s.consume(ctx, rec, mac, next, "", 0, now)
	return err
}

// ConsumeKeeping implements flows.KeepingLinks: ConsumePeeked that, once the link is consumed,
// keeps kept as KeepNewPassword does and reads the registered email method, in the same script.
func (s *Store) ConsumeKeeping(ctx context.Context, rec flows.LinkRecord, mac string, next *flows.Session, kept string, ttl time.Duration, now time.Time) (flows.Consumed, error) {
	return s.consume(ctx, rec, mac, next, kept, ttl, now)
}

func (s *Store) consume(ctx context.Context, rec flows.LinkRecord, mac string, next *flows.Session, kept string, ttl time.Duration, now time.Time) (flows.Consumed, error) {
	userID, p, v := rec.UserID, rec.Purpose, rec.Stored
	rec, stored, ok := decodeLink(userID, p, v)
	if !ok || subtle.ConstantTimeCompare([]byte(stored), []byte(mac)) != 1 {
		return flows.Consumed{}, flows.ErrLinkGone
	}
	a := &consumeArgs{purpose: string(p), stored: v, version: rec.SessionVersion, sttl: 1000, kept: kept, keptTTL: ttl.Milliseconds()}
	if next != nil {
		b, err := marshalSession(next)
		if err != nil {
			return flows.Consumed{}, err
		}
		a.data = b
		a.sttl = ttlMS(next.ExpiresAt, now)
	}
	keys, args := a.build(userID, rec.ChatKey)
	res, err := run(ctx, s.rdb, consumeScript, keys, args).Result()
	if err != nil {
		return flows.Consumed{}, fmt.Errorf("store: consume: %w", err)
	}
	if n, ok := res.(int64); ok {
		if n != 1 {
			return flows.Consumed{}, flows.ErrLinkGone
		}
		return flows.Consumed{}, nil
	}
	r, ok := res.([]any)
	if !ok || len(r) != 6 {
		return flows.Consumed{}, fmt.Errorf("store: consume: unexpected answer %T", res)
	}
	var c flows.Consumed
	b := &c.Before
	b.Record, _ = r[1].(string)
	recTTL, _ := r[2].(int64)
	b.Checks, _ = r[3].(string)
	checksTTL, _ := r[4].(int64)
	b.RecordTTL, b.ChecksTTL = time.Duration(recTTL)*time.Millisecond, time.Duration(checksTTL)*time.Millisecond
	if v, _ := r[5].(string); v != "" {
		// as Get reads it: a method that cannot be opened is no address (the directory's is mailed)
		if en, err := s.decodeEnrollment(userID, map[string]string{emailField: v}); err == nil {
			c.RegisteredMail = en.Methods[flows.MethodEmail].Address
		}
	}
	return c, nil
}

// consumeArgs are consume.lua's keys and arguments in one allocation (see loadRead): the keys
// slices of one string, the arguments pointers to the fields.
type consumeArgs struct {
	keys            [5]string // links, session; when keeping: new password, its checks, enrollment
	purpose, stored string
	version         int64
	data            rawArg // the session's JSON, none to delete it
	sttl            int64
	kept            string // "" when not keeping
	keptTTL         int64
	argv            [8]any
}

// build makes the keys (linksKey, sessKey, and when keeping newPwKey, newPwChecksKey and
// enrolKey of userID) and the arguments.
func (a *consumeArgs) build(userID, chat string) ([]string, []any) {
	const u = "{u:"
	parts := [][4]string{{u, userID, "}:l"}, {u, userID, "}:s:", chat}, {u, userID, "}:newpw"}, {u, userID, "}:newpw:n"}, {u, userID, "}:e"}}
	n := 2
	if a.kept != "" {
		n = 5
	}
	joinKeys(a.keys[:], parts[:n])
	a.argv = [8]any{&a.purpose, &a.stored, &a.version, &a.data, &a.sttl, &a.kept, &a.keptTTL, emailField}
	if n == 2 {
		return a.keys[:2], a.argv[:5]
	}
	return a.keys[:5], a.argv[:8]
}

// emailField is the enrollment's field of the email method (sealMethod's name for it).
const emailField = "m:" + string(flows.MethodEmail)

var unkeepNewPwScript = script("unkeep_newpw.lua")

// UnkeepNewPassword implements flows.KeepingLinks: the record and count of checks ConsumeKeeping
// replaced are put back, unless a record newer than kept was kept since.
func (s *Store) UnkeepNewPassword(ctx context.Context, userID, kept string, before flows.KeptBefore) error {
	err := run(ctx, s.rdb, unkeepNewPwScript, []string{newPwKey(userID), newPwChecksKey(userID)},
		[]any{kept, before.Record, before.RecordTTL.Milliseconds(), before.Checks, before.ChecksTTL.Milliseconds()}).Err()
	if err != nil {
		return fmt.Errorf("store: put back the kept password hash: %w", err)
	}
	return nil
}

// Get returns a user's enrollment, unsealed.
func (s *Store) Get(ctx context.Context, userID string) (flows.Enrollment, error) {
	h, err := s.rdb.HGetAll(ctx, enrolKey(userID)).Result()
	if err != nil {
		return flows.Enrollment{}, fmt.Errorf("store: enrollment: %w", err)
	}
	return s.decodeEnrollment(userID, h)
}

var registerScript = script("register.lua")

// Register seals and stores one method. A TOTP step, when given, only ever moves forward.
func (s *Store) Register(ctx context.Context, userID string, m flows.Registered, totpStep int64) error {
	field, sealed, err := s.sealMethod(userID, m)
	if err != nil {
		return err
	}
	if err := s.runScript(ctx, registerScript, []string{enrolKey(userID)}, field, sealed, totpStep).Err(); err != nil {
		return fmt.Errorf("store: register: %w", err)
	}
	return nil
}

// sealMethod seals a method's record under the person's id and its field name, so a sealed
// value cannot be moved to another person or method.
func (s *Store) sealMethod(userID string, m flows.Registered) (string, string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", "", err
	}
	field := "m:" + string(m.Kind)
	sealed, err := s.c.Seal(userID+"|"+field, string(b))
	return field, sealed, err
}

// CountSend counts a code sent from the web page against the user's send limit.
func (s *Store) CountSend(ctx context.Context, userID string, l flows.Limits, now time.Time) (bool, error) {
	n, err := s.runScript(ctx, countSendScript, []string{enrolKey(userID)}, now.UnixMilli(), l.SendWindow.Milliseconds(), l.SendMax).Int()
	if err != nil {
		return false, fmt.Errorf("store: count send: %w", err)
	}
	return n == 1, nil
}

// JudgeAttempt counts and judges one code entered on the registration pages in the user's
// attempt counters (judge.lua): Committed when accepted, Rejected (counted as a failure, with
// BlockedUntil when it set the block) or Blocked.
func (s *Store) JudgeAttempt(ctx context.Context, userID string, a flows.Attempt, now time.Time) (flows.Outcome, error) {
	correct := 0
	if a.Correct {
		correct = 1
	}
	l := a.Limits
	res, err := s.runScript(ctx, judgeScript, []string{enrolKey(userID)}, now.UnixMilli(), string(a.Method), correct, a.TOTPStep,
		l.TriesMax, l.TriesWindow.Milliseconds(), l.FailMax, l.FailWindow.Milliseconds(), l.BlockFor.Milliseconds()).StringSlice()
	if err != nil || len(res) != 2 {
		return flows.Outcome{}, fmt.Errorf("store: judge attempt: %w", err)
	}
	var out flows.Outcome
	if blk, _ := strconv.ParseInt(res[1], 10, 64); blk > 0 {
		out.BlockedUntil = time.UnixMilli(blk)
	}
	switch res[0] {
	case "ok":
		out.Status = flows.Committed
	case "rejected":
		out.Status = flows.Rejected
	case "blocked":
		out.Status = flows.Blocked
	default:
		return out, fmt.Errorf("store: judge attempt: unexpected outcome %q", res[0])
	}
	return out, nil
}

var pinScript = script("pin.lua")

// Pin pins a chat identity to a directory user; a different existing pin is refused.
func (s *Store) Pin(ctx context.Context, chatKey, userID string) error {
	cur, err := s.runScript(ctx, pinScript, []string{pinKey(chatKey)}, userID).Text()
	if err != nil {
		return fmt.Errorf("store: pin: %w", err)
	}
	if cur != userID {
		return flows.ErrRefused
	}
	// the reverse index: where to reach the user outside a conversation (lockout alerts)
	if err := s.rdb.SAdd(ctx, chatsKey(userID), chatKey).Err(); err != nil {
		return fmt.Errorf("store: pin: %w", err)
	}
	return nil
}

// Pinned returns the directory user a chat identity is pinned to, or "".
func (s *Store) Pinned(ctx context.Context, chatKey string) (string, error) {
	v, err := s.rdb.Get(ctx, pinKey(chatKey)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: pinned: %w", err)
	}
	return v, nil
}

func webKey(k string) string { return "web:" + k }

// PutWeb seals and stores a browser session until its expiry.
func (s *Store) PutWeb(ctx context.Context, key string, w flows.WebState, now time.Time) error {
	b, err := json.Marshal(w)
	if err != nil {
		return err
	}
	sealed, err := s.c.Seal("web|"+key, string(b))
	if err != nil {
		return err
	}
	ttl := w.ExpiresAt.Sub(now)
	if ttl < time.Second || ttl > flows.WebLifetime+cleanupGrace {
		ttl = flows.WebLifetime + cleanupGrace
	}
	if err := s.rdb.Set(ctx, webKey(key), sealed, ttl).Err(); err != nil {
		return fmt.Errorf("store: web: %w", err)
	}
	return nil
}

// GetWeb returns a browser session, or flows.ErrNotFound.
func (s *Store) GetWeb(ctx context.Context, key string) (flows.WebState, error) {
	v, err := s.rdb.Get(ctx, webKey(key)).Result()
	if errors.Is(err, redis.Nil) {
		return flows.WebState{}, flows.ErrNotFound
	}
	if err != nil {
		return flows.WebState{}, fmt.Errorf("store: web: %w", err)
	}
	plain, err := s.c.Open("web|"+key, v)
	if err != nil {
		return flows.WebState{}, flows.ErrNotFound
	}
	var w flows.WebState
	if err := json.Unmarshal([]byte(plain), &w); err != nil {
		return flows.WebState{}, flows.ErrNotFound
	}
	return w, nil
}

// DeleteWeb removes a browser session.
func (s *Store) DeleteWeb(ctx context.Context, key string) error {
	return s.rdb.Del(ctx, webKey(key)).Err()
}

const policyKey = "policy"

// GetPolicy returns the policy and its version; the default with version 0 when none is set.
func (s *Store) GetPolicy(ctx context.Context) (flows.Policy, int64, error) {
	vals, err := s.rdb.HMGet(ctx, policyKey, "v", "data").Result()
	if err != nil {
		return flows.DefaultPolicy(), 0, fmt.Errorf("store: policy: %w", err)
	}
	if vals[0] == nil || vals[1] == nil {
		return flows.DefaultPolicy(), 0, nil
	}
	p := flows.DefaultPolicy()
	if err := json.Unmarshal([]byte(fmt.Sprint(vals[1])), &p); err != nil {
		return flows.DefaultPolicy(), 0, fmt.Errorf("store: policy: %w", err)
	}
	v, _ := strconv.ParseInt(fmt.Sprint(vals[0]), 10, 64)
	return p, v, nil
}

// PutPolicy stores a validated policy if the stored version is still expectVersion.
func (s *Store) PutPolicy(ctx context.Context, p flows.Policy, expectVersion int64) (int64, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return 0, err
	}
	n, err := s.rdb.Eval(ctx, `local c = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if c ~= tonumber(ARGV[1]) then return -1 end
redis.call('HSET', KEYS[1], 'v', c + 1, 'data', ARGV[2]) return c + 1`, []string{policyKey}, expectVersion, string(b)).Int64()
	if err != nil {
		return 0, fmt.Errorf("store: policy: %w", err)
	}
	if n < 0 {
		return 0, flows.ErrStale
	}
	return n, nil
}

// FirstSeen records a platform delivery id and reports whether this is its first sighting,
// shared by every replica.
func (s *Store) FirstSeen(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, seenKey(id), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("store: seen: %w", err)
	}
	return ok, nil
}

// TakeBudget counts one unit against a deployment-wide budget of limit per window (a fixed
// window on the injected clock); false when it is spent.
func (s *Store) TakeBudget(ctx context.Context, name string, limit int, window time.Duration, now time.Time) (bool, error) {
	n, err := budgetScript.Run(ctx, s.rdb, []string{"budget:" + name}, now.UnixMilli(), window.Milliseconds(), limit).Int()
	if err != nil {
		return false, fmt.Errorf("store: budget: %w", err)
	}
	return n == 1, nil
}

var budgetScript = script("budget.lua")

// Remove deletes one registered method.
func (s *Store) Remove(ctx context.Context, userID string, kind flows.MethodKind) error {
	if err := s.runScript(ctx, hdelScript, []string{enrolKey(userID)}, "m:"+string(kind)).Err(); err != nil {
		return fmt.Errorf("store: remove: %w", err)
	}
	return nil
}

var hdelScript = script("hdel.lua")

var unblockScript = script("unblock.lua")

// Unblock clears the block and the attempt counters of a user (not the send counter).
func (s *Store) Unblock(ctx context.Context, userID string) error {
	if err := s.runScript(ctx, unblockScript, []string{enrolKey(userID)}).Err(); err != nil {
		return fmt.Errorf("store: unblock: %w", err)
	}
	return nil
}

// Blocked scans the enrollments (on every master in Cluster) for users blocked at now. It is an
// admin operation: it walks the keyspace in batches rather than keep a second index.
func (s *Store) Blocked(ctx context.Context, now time.Time) ([]flows.Block, error) {
	var mu sync.Mutex
	var out []flows.Block
	// one SCAN page of enrollment keys, then their blocks in one pipelined round trip
	scan := func(ctx context.Context, c *redis.Client) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, "{u:*}:e", 1000).Result()
			if err != nil {
				return err
			}
			cmds := make([]*redis.StringCmd, len(keys))
			if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, k := range keys {
					cmds[i] = p.HGet(ctx, k, "block")
				}
				return nil
			}); err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			for i, cmd := range cmds {
				ms, err := cmd.Int64()
				if err != nil {
					continue // no block
				}
				if until := time.UnixMilli(ms); now.Before(until) {
					id := strings.TrimSuffix(strings.TrimPrefix(keys[i], "{u:"), "}:e")
					mu.Lock()
					out = append(out, flows.Block{UserID: id, Until: until})
					mu.Unlock()
				}
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	var err error
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		err = errors.New("unsupported client")
	}
	if err != nil {
		return nil, fmt.Errorf("store: blocked: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}

// PendingTTL is how long a weakening change waits for its second admin.
const PendingTTL = 7 * 24 * time.Hour

// ProposeChange stores a pending change and returns its id.
func (s *Store) ProposeChange(ctx context.Context, c flows.PendingChange) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	raw := make([]byte, 6)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := hex.EncodeToString(raw)
	if err := s.rdb.Set(ctx, "policy:pending:"+id, b, PendingTTL).Err(); err != nil {
		return "", fmt.Errorf("store: propose: %w", err)
	}
	return id, nil
}

func pendingKey(id string) (string, bool) {
	if len(id) != 12 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", false
	}
	return "policy:pending:" + id, true
}

// PeekChange returns a pending change.
func (s *Store) PeekChange(ctx context.Context, id string) (flows.PendingChange, error) {
	k, ok := pendingKey(id)
	if !ok {
		return flows.PendingChange{}, flows.ErrNotFound
	}
	v, err := s.rdb.Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		return flows.PendingChange{}, flows.ErrNotFound
	}
	if err != nil {
		return flows.PendingChange{}, fmt.Errorf("store: pending: %w", err)
	}
	var c flows.PendingChange
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return flows.PendingChange{}, err
	}
	return c, nil
}

var confirmPendingScript = script("confirm_pending.lua")

// ConfirmChange marks a change confirmed by its requester.
func (s *Store) ConfirmChange(ctx context.Context, id, by string) error {
	k, ok := pendingKey(id)
	if !ok {
		return flows.ErrNotFound
	}
	res, err := confirmPendingScript.Run(ctx, s.rdb, []string{k}, by).Text()
	if err != nil {
		return fmt.Errorf("store: confirm: %w", err)
	}
	switch res {
	case "ok":
		return nil
	case "other":
		return flows.ErrRefused
	}
	return flows.ErrNotFound
}

var takePendingScript = script("take_pending.lua")

// TakeChange removes and returns a confirmed change, refusing its own requester.
func (s *Store) TakeChange(ctx context.Context, id, approver string) (flows.PendingChange, error) {
	k, ok := pendingKey(id)
	if !ok {
		return flows.PendingChange{}, flows.ErrNotFound
	}
	res, err := takePendingScript.Run(ctx, s.rdb, []string{k}, approver).StringSlice()
	if err != nil {
		return flows.PendingChange{}, fmt.Errorf("store: take: %w", err)
	}
	switch res[0] {
	case "same":
		return flows.PendingChange{}, flows.ErrSameAdmin
	case "ok":
		var c flows.PendingChange
		if err := json.Unmarshal([]byte(res[1]), &c); err != nil {
			return flows.PendingChange{}, err
		}
		return c, nil
	}
	return flows.PendingChange{}, flows.ErrNotFound
}

const teamsRefs = "teams:refs"

// PutRef stores a Teams conversation reference for a directory user.
func (s *Store) PutRef(ctx context.Context, userID string, ref []byte) error {
	return s.rdb.HSet(ctx, teamsRefs, userID, ref).Err()
}

// GetRef returns a user's Teams conversation reference.
func (s *Store) GetRef(ctx context.Context, userID string) ([]byte, error) {
	b, err := s.rdb.HGet(ctx, teamsRefs, userID).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, flows.ErrNotFound
	}
	return b, err
}

// EachRef walks every stored Teams conversation reference.
func (s *Store) EachRef(ctx context.Context, fn func(userID string, ref []byte) error) error {
	iter := s.rdb.HScan(ctx, teamsRefs, 0, "", 1000).Iterator()
	for iter.Next(ctx) {
		id := iter.Val()
		if !iter.Next(ctx) {
			break
		}
		if err := fn(id, []byte(iter.Val())); err != nil {
			return err
		}
	}
	return iter.Err()
}

var blockScript = script("block.lua")

func (s *Store) Block(ctx context.Context, userID string, until time.Time) error {
	err := s.runScript(ctx, blockScript, []string{enrolKey(userID)}, until.UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("store: block: %w", err)
	}
	return nil
}
