package teams

import "testing"

// What a person typed reaches the engine without the markup the Teams client may wrap it in.
func TestPlainText(t *testing.T) {
	for in, want := range map[string]string{
		"I'm locked out":  "I'm locked out",
		"a < b and c > d": "a < b and c > d",
		"123456":          "123456",
		`verify <a href="mailto:dave@contoso.test">dave@contoso.test</a>`: "verify dave@contoso.test",
		"<p>I&#39;m <strong>locked</strong> out</p>":                      "I'm locked out",
		"reset<br/>please":                "reset please",
		"Tom &amp; Jerry&nbsp;locked out": "Tom & Jerry\u00a0locked out",
		`<at>resetbot</at> help`:          "resetbot help",
		`<p class="x">unlock</p>`:         "unlock",
	} {
		if got := plainText(in); got != want {
			t.Errorf("plainText(%q) = %q, want %q", in, got, want)
		}
	}
}
