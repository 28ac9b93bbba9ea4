// Package jsonscantest damages JSON documents for the tests that compare a jsonscan reader
// with encoding/json on inputs that are almost, but not quite, what the service sends.
package jsonscantest

import "math/rand/v2"

// Damaged returns doc with one or two random edits: a byte replaced by one of using, a byte
// dropped, or one of using inserted.
func Damaged(r *rand.Rand, doc, using string) string {
	d := []byte(doc)
	for range 1 + r.IntN(2) {
		p := r.IntN(len(d))
		switch r.IntN(3) {
		case 0:
			d[p] = using[r.IntN(len(using))]
		case 1:
			d = append(d[:p:p], d[p+1:]...)
		default:
			d = append(d[:p:p], append([]byte{using[r.IntN(len(using))]}, d[p:]...)...)
		}
	}
	return string(d)
}
