package store

import (
	"encoding/json"
	"strconv"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/jsonscan"
)

// marshalSession writes s as json.Marshal writes it, byte for byte (TestMarshalSessionIsMarshal),
// into one buffer: json.Marshal's reflection makes a buffer for each time and a copy of its
// answer. A time json.Marshal refuses (its year outside 0 to 9999, its zone a day away) is left
// to json.Marshal, for its error.
func marshalSession(s *flows.Session) ([]byte, error) {
	b := make([]byte, 0, 320+len(s.ID)+len(s.UserID)+len(s.Chat.UserID)+len(s.Chat.Channel)+len(s.Action))
	b = append(b, `{"id":`...)
	b = jsonscan.AppendString(b, s.ID)
	b = append(b, `,"v":`...)
	b = strconv.AppendInt(b, s.Version, 10)
	b = append(b, `,"state":`...)
	b = jsonscan.AppendString(b, string(s.State))
	b = append(b, `,"flow":`...)
	b = jsonscan.AppendString(b, string(s.Flow))
	b = append(b, `,"uid":`...)
	b = jsonscan.AppendString(b, s.UserID)
	c := &s.Chat
	b = append(b, `,"chat":{"Platform":`...)
	b = jsonscan.AppendString(b, c.Platform)
	b = append(b, `,"Tenant":`...)
	b = jsonscan.AppendString(b, c.Tenant)
	b = append(b, `,"UserID":`...)
	b = jsonscan.AppendString(b, c.UserID)
	b = append(b, `,"Channel":`...)
	b = jsonscan.AppendString(b, c.Channel)
	b = append(b, `,"Locale":`...)
	b = jsonscan.AppendString(b, c.Locale)
	if c.TimeZone != "" {
		b = append(b, `,"TimeZone":`...)
		b = jsonscan.AppendString(b, c.TimeZone)
	}
	b = append(b, '}')
	if s.Method != "" {
		b = append(b, `,"method":`...)
		b = jsonscan.AppendString(b, string(s.Method))
	}
	if len(s.Proven) > 0 {
		b = append(b, `,"proven":[`...)
		for i, m := range s.Proven {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonscan.AppendString(b, string(m))
		}
		b = append(b, ']')
	}
	if s.Action != "" {
		b = append(b, `,"action":`...)
		b = jsonscan.AppendString(b, s.Action)
	}
	var err error
	b = append(b, `,"created":"`...)
	if b, err = s.CreatedAt.AppendText(b); err != nil {
		return json.Marshal(s)
	}
	b = append(b, `","expires":"`...)
	if b, err = s.ExpiresAt.AppendText(b); err != nil {
		return json.Marshal(s)
	}
	return append(b, `"}`...), nil
}
