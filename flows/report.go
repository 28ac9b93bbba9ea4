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
	Blocks7, Blocks30, Reminders7, Reminders30, SignIns30     int
	Verified30, Failed30                                      map[MethodKind]int // proofs by method
	Rows                                                      [][]string         // per user, for the CSV
}

// reportBatch is how many people's records the report reads at once.
const reportBatch = 500

// Report walks the users in scope (directory paging) and their enrollments, a batch at a time,
// and reads the event figures of the last 7 and 30 UTC days (today included) from the daily
// counters, which are exact however many events the audit stream has dropped.
func (e *Engine) Report(ctx context.Context) (Report, error) {
	pol, err := e.policy(ctx)
	if err != nil {
		return Report{}, err
	}
	roster := e.caps.Roster
	if roster == nil {
		return Report{}, fmt.Errorf("flows: the directory cannot list users")
	}
	now := e.d.Clock.Now()
	r := Report{PerMethod: map[MethodKind]int{}, Verified30: map[MethodKind]int{}, Failed30: map[MethodKind]int{}}
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
	row := func(a Account, en Enrollment, sent int) {
		r.InScope++
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
		r.RemindersSent += sent
		until := ""
		if t, ok := blocked[a.ID]; ok {
			until = t.UTC().Format(time.RFC3339)
		}
		r.Rows = append(r.Rows, []string{a.UPN, a.DisplayName, strconv.FormatBool(reg), strings.Join(kinds, " "), due, strconv.Itoa(sent), until})
	}
	var batch []Account
	flush := func() error {
		defer func() { batch = batch[:0] }()
		if len(batch) == 0 {
			return nil
		}
		if eb, ok := e.d.Enrollments.(EnrollmentBatch); ok {
			ids := make([]string, len(batch))
			for i, a := range batch {
				ids[i] = a.ID
			}
			ens, sent, err := eb.GetMany(ctx, ids)
			if err != nil {
				return err
			}
			for i, a := range batch {
				row(a, ens[i], sent[i])
			}
			return nil
		}
		for _, a := range batch {
			en, err := e.d.Enrollments.Get(ctx, a.ID)
			if err != nil {
				return err
			}
			sent := 0
			if e.d.Reminders != nil {
				sent, _, _ = e.d.Reminders.ReminderState(ctx, a.ID)
			}
			row(a, en, sent)
		}
		return nil
	}
	if pol.EnabledFor != EnabledNone {
		err = roster.EachUser(ctx, groups, func(a Account) error {
			if e.Ineligible(a, pol) != "" {
				return nil // in scope means: may self-serve, as the engine and the reminders judge it
			}
			if batch = append(batch, a); len(batch) == reportBatch {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return Report{}, err
		}
	}
	if dc, ok := auditAs[DailyCounts](e.d.Audit); ok {
		counts, err := dc.DailyCounts(ctx, CountKinds(), now, 30)
		if err != nil {
			return Report{}, err
		}
		sum := func(kind string, days int) int {
			n := int64(0)
			for _, c := range counts[kind][:min(days, len(counts[kind]))] {
				n += c
			}
			return int(n)
		}
		r.Resets7, r.Resets30 = sum(CountReset, 7), sum(CountReset, 30)
		r.Unlocks7, r.Unlocks30 = sum(CountUnlock, 7), sum(CountUnlock, 30)
		r.Blocks7, r.Blocks30 = sum(CountBlock, 7), sum(CountBlock, 30)
		r.Reminders7, r.Reminders30 = sum(CountReminder, 7), sum(CountReminder, 30)
		r.SignIns30 = sum(CountSignIn, 30)
		for _, m := range AllMethods {
			if n := sum(CountVerified(m), 30); n > 0 {
				r.Verified30[m] = n
			}
			if n := sum(CountFailed(m), 30); n > 0 {
				r.Failed30[m] = n
			}
		}
	}
	return r, nil
}

// Text renders the summary.
func (r Report) Text(lang string) string {
	var b strings.Builder
	pct := 0
	if r.InScope > 0 {
		pct = r.Registered * 100 / r.InScope
	}
	b.WriteString(Text(lang, "report.head", r.InScope, r.Registered, pct) + "\n")
	var kinds []string
	for m := range r.PerMethod {
		kinds = append(kinds, string(m))
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "   – %s: %d\n", methodLabel(lang, MethodKind(k)), r.PerMethod[MethodKind(k)])
	}
	b.WriteString(Text(lang, "report.counts", r.ReconfirmDue, r.RemindersSent, r.Resets7, r.Resets30, r.Unlocks7, r.Unlocks30,
		r.Blocks7, r.Blocks30, r.Reminders7, r.Reminders30, r.SignIns30) + "\n")
	for _, m := range AllMethods {
		if r.Verified30[m] > 0 || r.Failed30[m] > 0 {
			b.WriteString(Text(lang, "report.proofs", methodLabel(lang, m), r.Verified30[m], r.Failed30[m]) + "\n")
		}
	}
	b.WriteString(Text(lang, "report.blocked", r.Blocked))
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
		return tr(ctx, "report.failed", err.Error()), nil, "failed", "report"
	}
	lang := LangFrom(ctx)
	text := r.Text(lang) + e.expiryLine(ctx)
	if len(words) == 1 && strings.EqualFold(words[0], "csv") {
		return text + "\n" + tr(ctx, "report.attached"), &Attachment{Name: "resetbot-report.csv", Title: tr(ctx, "report.csv_title"), Data: r.CSV()}, "ok", "csv"
	}
	return text, nil, "ok", ""
}
