package emailcode_test

import (
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows/method/emailcode"
)

func TestParseAddress(t *testing.T) {
	for in, ok := range map[string]bool{
		"a@b.co": true, " Me@Mail.Test ": true, "Name <a@b.co>": false, "a@b": false, "a@@b.co": false, "": false,
		strings.Repeat("a", 250) + "@b.co": false, "a@b.co\r\nBcc: x@y.z": false, "a,b@c.de": false,
	} {
		_, err := emailcode.ParseAddress(in)
		if (err == nil) != ok {
			t.Errorf("%q: %v", in, err)
		}
	}
}
