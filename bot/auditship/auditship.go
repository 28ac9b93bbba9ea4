package auditship

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/flows"
)

// Lines writes each record as one JSON line, a whole batch in one write; a file is synced
// before the batch counts as shipped.
type Lines struct {
	mu sync.Mutex
	w  io.Writer
}

var _ flows.AuditSink = (*Lines)(nil)

// NewLines ships to w.
func NewLines(w io.Writer) *Lines { return &Lines{w: w} }

// Ship writes the batch.
func (l *Lines) Ship(_ context.Context, recs []flows.AuditRecord) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("auditship: write: %w", err)
	}
	if f, ok := l.w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			return f.Sync()
		}
	}
	return nil
}

// HEC posts batches to an HTTP event collector in Splunk's event format: one JSON envelope per
// event, stacked in one request body, with "Authorization: Splunk <token>"
// (https://help.splunk.com/splunk-enterprise/get-data-in/collect-http-event-data/format-events-for-http-event-collector).
// A busy or failing collector (429, 5xx, no answer) is retried with growing pauses; any other
// refusal is returned at once (a wrong token or URL needs a person).
type HEC struct {
	URL, Token string
	Client     *http.Client
	Attempts   int                                              // default 5
	Sleep      func(ctx context.Context, d time.Duration) error // default waits for d or ctx
}

var _ flows.AuditSink = (*HEC)(nil)

type envelope struct {
	Time       float64           `json:"time"`
	Source     string            `json:"source"`
	Sourcetype string            `json:"sourcetype"`
	Event      flows.AuditRecord `json:"event"`
}

// Ship posts the batch, retrying as above.
func (h *HEC) Ship(ctx context.Context, recs []flows.AuditRecord) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range recs {
		if err := enc.Encode(envelope{Time: float64(r.Time.UnixMilli()) / 1000, Source: "resetbot", Sourcetype: "resetbot:audit", Event: r}); err != nil {
			return err
		}
	}
	attempts, sleep := h.Attempts, h.Sleep
	if attempts <= 0 {
		attempts = 5
	}
	if sleep == nil {
		sleep = wait
	}
	pause := time.Second
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			if err := sleep(ctx, pause); err != nil {
				return err
			}
			pause = min(pause*2, 30*time.Second)
		}
		retry, wait, err := h.post(ctx, b.Bytes())
		if err == nil {
			return nil
		}
		if !retry {
			return err
		}
		last = err
		if wait > 0 {
			pause = wait
		}
	}
	return fmt.Errorf("auditship: gave up after %d attempts: %w", attempts, last)
}

func (h *HEC) post(ctx context.Context, body []byte) (retry bool, wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return false, 0, err
	}
	req.Header.Set("Authorization", "Splunk "+h.Token)
	req.Header.Set("Content-Type", "application/json")
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return ctx.Err() == nil, 0, fmt.Errorf("auditship: collector: %w", err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return false, 0, nil
	}
	err = fmt.Errorf("auditship: collector answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		s, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return true, time.Duration(s) * time.Second, err
	}
	return false, 0, err
}

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Fan ships to every sink in turn; a batch counts as shipped only when all took it.
type Fan []flows.AuditSink

// Ship ships to each.
func (f Fan) Ship(ctx context.Context, recs []flows.AuditRecord) error {
	var errs []error
	for _, s := range f {
		if err := s.Ship(ctx, recs); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FromConfig builds the sinks AUDIT_LOG and AUDIT_HEC_URL ask for (nil when both are off) and a
// function that closes an opened file.
func FromConfig(cfg bot.Config, stdout io.Writer, client *http.Client) (flows.AuditSink, func() error, error) {
	var fan Fan
	closer := func() error { return nil }
	switch cfg.AuditLog {
	case "off":
	case "stdout":
		fan = append(fan, NewLines(stdout))
	default:
		f, err := os.OpenFile(cfg.AuditLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("AUDIT_LOG: %w", err)
		}
		fan, closer = append(fan, NewLines(f)), f.Close
	}
	if cfg.AuditHECURL != "" {
		fan = append(fan, &HEC{URL: cfg.AuditHECURL, Token: cfg.AuditHECToken, Client: client})
	}
	switch len(fan) {
	case 0:
		return nil, closer, nil
	case 1:
		return fan[0], closer, nil
	}
	return fan, closer, nil
}

// ParseSince reads `audit export --since`: a date (UTC midnight), an RFC 3339 time, or an age
// before now such as 72h; "" is the zero time (everything).
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since: want a date (2006-01-02), an RFC 3339 time or an age such as 72h, got %q", s)
}
