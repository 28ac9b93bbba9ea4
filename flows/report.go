package flows

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Attachment is a file sent with a reply (the CSV report).
type Attachment struct {
	Name  string
	Title string
	Data  []byte
}

// Report summarises registration and use of self-service for bot admins.
type Report struct {
	InScope, Registered, ReconfirmDue, RemindersSent, Blocked int
	PerMethod                                                 map[MethodKind]int
	Resets7, Resets30, Unlocks7, Unlocks30                    int
	Rows                                                      [][]string // per user, for the CSV
}

// Report walks the users in scope (directory paging), their enrollments and the last 30 days of
// the audit stream.
func (e *Engine) Report(ctx context.Context) (Report, error) {
	pol, err := e.policy(ctx)
	if err != nil {
		return Report{}, err
	}
	roster, ok := e.d.Directory.(Roster)
	if !ok {
		return Report{}, fmt.Errorf("flows: the directory cannot list users")
	}
	now := e.d.Clock.Now()
	r := Report{PerMethod: map[MethodKind]int{}}
	blocked := map[string]time.Time{}
	if bs, err := e.Blocks(ctx); err == nil {
		for _, b := range bs {
			blocked[b.UserID] = b.Until
		}
		r.Blocked = len(bs)
	}
	var groups []string
	if pol.EnabledFor == EnabledSelected {
		groups = pol.Groups
	}
	r.Rows = append(r.Rows, []string{"user", "name", "registered", "methods", "reconfirm_due", "reminders", "blocked_until"})
	if pol.EnabledFor != EnabledNone {
		err = roster.EachUser(ctx, groups, func(a Account) error {
			if !a.Enabled {
				return nil
			}
			r.InScope++
			en, err := e.d.Enrollments.Get(ctx, a.ID)
			if err != nil {
				return err
			}
			usable := pol.Usable(a, en)
			reg := len(usable) >= pol.RequiredFor(a)
			if reg {
				r.Registered++
			}
			var kinds []string
			due := ""
			for _, m := range usable {
				r.PerMethod[m]++
				kinds = append(kinds, string(m))
				if reconfirmDue(en.Methods[m], pol, now) && due == "" {
					due = "now"
				}
			}
			if due != "" {
				r.ReconfirmDue++
			}
			sent := 0
			if e.d.Reminders != nil {
				sent, _, _ = e.d.Reminders.ReminderState(ctx, a.ID)
			}
			r.RemindersSent += sent
			until := ""
			if t, ok := blocked[a.ID]; ok {
				until = t.UTC().Format(time.RFC3339)
			}
			r.Rows = append(r.Rows, []string{a.UPN, a.DisplayName, strconv.FormatBool(reg), strings.Join(kinds, " "), due, strconv.Itoa(sent), until})
			return nil
		})
		if err != nil {
			return Report{}, err
		}
	}
	if ar, ok := e.d.Audit.(AuditReader); ok {
		err := ar.Since(ctx, now.AddDate(0, 0, -30), func(ev AuditEvent) {
			if ev.Outcome != "ok" || ev.Time.Before(now.AddDate(0, 0, -30)) || (ev.Action != string(FlowReset) && ev.Action != string(FlowUnlock)) {
				return
			}
			recent := now.Sub(ev.Time) <= 7*24*time.Hour
			if ev.Action == string(FlowReset) {
				r.Resets30++
				if recent {
					r.Resets7++
				}
			} else {
				r.Unlocks30++
				if recent {
					r.Unlocks7++
				}
			}
		})
		if err != nil {
			return Report{}, err
		}
	}
	return r, nil
}

// Text renders the summary.
func (r Report) Text() string {
	var b strings.Builder
	pct := 0
	if r.InScope > 0 {
		pct = r.Registered * 100 / r.InScope
	}
	fmt.Fprintf(&b, "Self-service report\n• in scope: %d\n• registered: %d (%d%%)\n", r.InScope, r.Registered, pct)
	var kinds []string
	for m := range r.PerMethod {
		kinds = append(kinds, string(m))
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "   – %s: %d\n", methodLabel(MethodKind(k)), r.PerMethod[MethodKind(k)])
	}
	fmt.Fprintf(&b, "• reconfirmation due: %d\n• reminders sent: %d\n• resets: %d in 7 days, %d in 30 days\n• unlocks: %d in 7 days, %d in 30 days\n• blocked now: %d",
		r.ReconfirmDue, r.RemindersSent, r.Resets7, r.Resets30, r.Unlocks7, r.Unlocks30, r.Blocked)
	return b.String()
}

// CSV renders the per-user list.
func (r Report) CSV() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, row := range r.Rows {
		safe := make([]string, len(row))
		for i, c := range row {
			// a leading =, +, - or @ would be a formula in a spreadsheet
			if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
				c = "'" + c
			}
			safe[i] = c
		}
		_ = w.Write(safe)
	}
	w.Flush()
	return buf.Bytes()
}

func (e *Engine) reportCommand(ctx context.Context, words []string) (string, *Attachment, string, string) {
	r, err := e.Report(ctx)
	if err != nil {
		return "Sorry, the report could not be made: " + err.Error(), nil, "failed", "report"
	}
	if len(words) == 1 && strings.EqualFold(words[0], "csv") {
		return r.Text() + "\nThe per-user list is attached.", &Attachment{Name: "resetbot-report.csv", Title: "Self-service per user", Data: r.CSV()}, "ok", "csv"
	}
	return r.Text(), nil, "ok", ""
}
