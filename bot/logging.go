package bot

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/resetbot/resetbot/flows"
)

// secretKeys are attribute names whose values are never logged.
var secretKeys = []string{"password", "passwd", "pw", "code", "otp", "token", "secret", "answer", "cookie", "key", "authorization"}

// Redacted replaces a secret-looking attribute value.
const Redacted = "[redacted]"

// NewLogger builds the JSON logger; attributes named like secrets are redacted by
// construction, whatever the call site passes.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(strings.ToUpper(orDefault(level, "info"))))
	return slog.New(requestIDs{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv, ReplaceAttr: redact})})
}

// requestIDs adds the step's request id ("req") to every record logged with its context.
type requestIDs struct{ slog.Handler }

func (h requestIDs) Handle(ctx context.Context, r slog.Record) error {
	if id := flows.RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("req", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDs) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDs{h.Handler.WithAttrs(as)}
}
func (h requestIDs) WithGroup(n string) slog.Handler { return requestIDs{h.Handler.WithGroup(n)} }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func redact(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	for _, s := range secretKeys {
		if k == s || strings.HasSuffix(k, "_"+s) || strings.HasPrefix(k, s+"_") {
			return slog.String(a.Key, Redacted)
		}
	}
	return a
}

// Sleep waits d or until ctx ends; adapters take it as their default and tests inject another.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
