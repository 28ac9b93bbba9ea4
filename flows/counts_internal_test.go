package flows

import (
	"context"
	"testing"
	"time"
)

type countingAuditor struct{}

func (countingAuditor) Audit(context.Context, AuditEvent) {}
func (countingAuditor) DailyCounts(context.Context, []string, time.Time, int) (map[string][]int64, error) {
	return nil, nil
}

type wrapper struct{ next Auditor }

func (wrapper) Audit(context.Context, AuditEvent) {}
func (w wrapper) Unwrap() Auditor                 { return w.next }

// The report finds the daily counts behind a wrapping auditor (the metrics counter in
// production), and finds none where there are none.
func TestAuditAsLooksThroughWrappers(t *testing.T) {
	if _, ok := auditAs[DailyCounts](wrapper{wrapper{countingAuditor{}}}); !ok {
		t.Fatal("not found through two wrappers")
	}
	if _, ok := auditAs[DailyCounts](wrapper{nil}); ok {
		t.Fatal("found in nothing")
	}
}
