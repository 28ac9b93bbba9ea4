package flows

import "time"

// Regulation is a pure model of the attempt counters; the store applies the same rules inside
// its atomic script, and its conformance suite checks the two agree.

// Tick advances a fixed-window counter by n at now and returns the new window.
func Tick(w Window, now time.Time, window time.Duration, n int) Window {
	if w.Start.IsZero() || !now.Before(w.Start.Add(window)) {
		w = Window{Start: now}
	}
	w.Count += n
	return w
}

// Current is the count of w at now (0 once the window has passed).
func Current(w Window, now time.Time, window time.Duration) int {
	if w.Start.IsZero() || !now.Before(w.Start.Add(window)) {
		return 0
	}
	return w.Count
}

// IsBlocked reports whether self-service is blocked for e at now.
func IsBlocked(e Enrollment, now time.Time) bool { return now.Before(e.BlockedUntil) }

// SendAllowed reports whether another code may be sent at now.
func SendAllowed(e Enrollment, l Limits, now time.Time) bool {
	return Current(e.Sent, now, l.SendWindow) < l.SendMax
}

// Judge applies one attempt to e as the store's script does: it returns the enrollment after
// counting and whether the attempt was accepted. Exported for the conformance suite.
func Judge(e Enrollment, a Attempt, now time.Time) (Enrollment, Status) {
	if IsBlocked(e, now) {
		return e, Blocked
	}
	l := a.Limits
	if e.Tries == nil {
		e.Tries = map[MethodKind]Window{}
	}
	t := Tick(e.Tries[a.Method], now, l.TriesWindow, 1)
	e.Tries[a.Method] = t
	if t.Count > l.TriesMax {
		e.BlockedUntil = now.Add(l.BlockFor)
		return e, Blocked
	}
	if !a.Correct {
		e.Fails = Tick(e.Fails, now, l.FailWindow, 1)
		if e.Fails.Count >= l.FailMax {
			e.BlockedUntil = now.Add(l.BlockFor)
		}
		return e, Rejected
	}
	delete(e.Tries, a.Method)
	return e, Committed
}
