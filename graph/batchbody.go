package graph

import "github.com/resetbot/resetbot/internal/jsonscan"

// appendBatch appends the JSON batch of reqs, {"requests":[{"id","method","url"}, ...]}, as
// json.Marshal writes it (a test compares the two): json.Marshal's reflection over the
// requests was a tenth of a look-up's CPU.
func appendBatch(b []byte, reqs []batchReq) []byte {
	n := len(`{"requests":[]}`)
	for _, r := range reqs {
		n += len(`{"id":"","method":"","url":""},`) + len(r.ID) + len(r.Method) + len(r.URL) + 16
	}
	if b == nil {
		b = make([]byte, 0, n)
	}
	b = append(b, `{"requests":[`...)
	for i, r := range reqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = jsonscan.AppendString(b, r.ID)
		b = append(b, `,"method":`...)
		b = jsonscan.AppendString(b, r.Method)
		b = append(b, `,"url":`...)
		b = jsonscan.AppendString(b, r.URL)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
