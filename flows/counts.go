package flows

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Daily counts: the audit writer keeps one counter per UTC day and kind, written in the same
// atomic step as the event it counts, so reports stay exact whatever happens to the stream.
const (
	CountReset    = "reset"    // a password reset (also an unlock that had to reset)
	CountUnlock   = "unlock"   // an account unlocked without a reset
	CountBlock    = "block"    // self-service blocked after too many failures
	CountReminder = "reminder" // a registration reminder sent
	CountSignIn   = "signin"   // a directory sign-in on the web page that succeeded
	countVerify   = "verify:"  // + method: a proof that succeeded
	countFailed   = "failed:"  // + method: a proof that failed
)

// CountVerified and CountFailed are the kinds of a succeeded or failed proof of method m.
func CountVerified(m MethodKind) string { return countVerify + string(m) }

// CountFailed is the kind of a failed proof of method m.
func CountFailed(m MethodKind) string { return countFailed + string(m) }

// CountKinds lists every kind a counter can have.
func CountKinds() []string {
	out := []string{CountReset, CountUnlock, CountBlock, CountReminder, CountSignIn}
	for _, m := range AllMethods {
		out = append(out, CountVerified(m), CountFailed(m))
	}
	return out
}

// CountKind is the counter an event adds one to, or "" for none.
func CountKind(e AuditEvent) string {
	switch e.Action {
	case string(FlowReset), string(FlowUnlock):
		switch {
		case e.Outcome != "ok" || e.Reason == "not_locked":
		case e.Reason == "unlocked":
			return CountUnlock
		default:
			return CountReset
		}
	case "block":
		if e.Outcome == "ok" {
			return CountBlock
		}
	case "reminder":
		if e.Outcome == "sent" {
			return CountReminder
		}
	case "signin", "signin_password":
		if e.Outcome == "ok" {
			return CountSignIn
		}
	case "verify":
		if !slices.Contains(AllMethods, MethodKind(e.Reason)) {
			break
		}
		switch e.Outcome {
		case "ok":
			return CountVerified(MethodKind(e.Reason))
		case "failed":
			return CountFailed(MethodKind(e.Reason))
		}
	}
	return ""
}

// DailyCounts reads the daily counters (the Redis auditor has them).
type DailyCounts interface {
	// DailyCounts returns per kind the counts of days UTC days ending with the day of last,
	// newest first.
	DailyCounts(ctx context.Context, kinds []string, last time.Time, days int) (map[string][]int64, error)
}

// auditAs finds an optional capability of the auditor, looking through wrappers (the metrics
// counter) that say what they wrap.
func auditAs[T any](a Auditor) (T, bool) {
	for a != nil {
		if t, ok := a.(T); ok {
			return t, true
		}
		u, ok := a.(interface{ Unwrap() Auditor })
		if !ok {
			break
		}
		a = u.Unwrap()
	}
	var zero T
	return zero, false
}

// EnrollmentBatch reads many users' enrollments and reminders sent at once (optional; the Redis
// store reads a batch in one round trip), so a report over a big directory does not wait for
// two round trips per person.
type EnrollmentBatch interface {
	GetMany(ctx context.Context, userIDs []string) ([]Enrollment, []int, error)
}

// AuditRecord is an event as it leaves the bot for a log pipeline or a SIEM, with the id the
// audit stream gave it (time-ordered, unique).
type AuditRecord struct {
	ID string
	AuditEvent
}

// MarshalJSON writes the record as one flat JSON object, the line format of `audit export` and
// of the shipped log.
func (r AuditRecord) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"id": r.ID, "time": r.Time.UTC().Format(time.RFC3339Nano), "actor": r.Actor,
		"subject": r.Subject, "platform": r.Platform, "action": r.Action, "outcome": r.Outcome, "reason": r.Reason})
}

// UnmarshalJSON reads a line MarshalJSON wrote.
func (r *AuditRecord) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	t, _ := time.Parse(time.RFC3339Nano, m["time"])
	*r = AuditRecord{ID: m["id"], AuditEvent: AuditEvent{Time: t, Actor: m["actor"], Subject: m["subject"], Platform: m["platform"],
		Action: m["action"], Outcome: m["outcome"], Reason: m["reason"]}}
	return nil
}

// AuditSink takes shipped audit records, oldest first; an error means none of them was kept
// and they are offered again.
type AuditSink interface {
	Ship(ctx context.Context, recs []AuditRecord) error
}
