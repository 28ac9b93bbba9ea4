package bot_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot"
)

// MAC_KEYS_OLD lists former MAC keys, given directly or as a file like every secret.
func TestMACKeysOld(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 40))
	m := good()
	m["MAC_KEYS_OLD"] = k1 + ", " + k2
	c, errs := bot.FromEnv(env(m))
	if len(errs) != 0 || c.Validate() != nil {
		t.Fatalf("%v %v", errs, c.Validate())
	}
	if len(c.MACKeysOld) != 2 || !bytes.Equal(c.MACKeysOld[0], bytes.Repeat([]byte{1}, 32)) || len(c.MACKeysOld[1]) != 40 {
		t.Fatalf("old keys: %v", c.MACKeysOld)
	}
	if c, _ = bot.FromEnv(env(good())); len(c.MACKeysOld) != 0 {
		t.Fatalf("old keys without the setting: %v", c.MACKeysOld)
	}
	file := filepath.Join(t.TempDir(), "MAC_KEYS_OLD")
	if err := os.WriteFile(file, []byte(k1+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m = good()
	m["MAC_KEYS_OLD_FILE"] = file
	c, errs = bot.FromEnv(env(m))
	if len(errs) != 0 || c.Validate() != nil || len(c.MACKeysOld) != 1 || !bytes.Equal(c.MACKeysOld[0], bytes.Repeat([]byte{1}, 32)) {
		t.Fatalf("from a file: %v %v %v", errs, c.Validate(), c.MACKeysOld)
	}
}

// A bad old key (not base64, too short, MAC_KEY itself) is reported with the other problems.
func TestMACKeysOldProblemsReportedWithTheOthers(t *testing.T) {
	m := good()
	m["MAC_KEYS_OLD"] = "not*base64," + base64.StdEncoding.EncodeToString([]byte("short")) + "," + m["MAC_KEY"]
	m["LOG_LEVEL"] = "loud"
	m["SMTP_ADDR"] = "nohost"
	c, errs := bot.FromEnv(env(m))
	all := append(errs, c.Validate())
	var b strings.Builder
	for _, e := range all {
		if e != nil {
			b.WriteString(e.Error() + "\n")
		}
	}
	for _, want := range []string{"MAC_KEYS_OLD: key 1 is not base64", "MAC_KEYS_OLD: key 2 must be at least 32 bytes, is 5",
		"MAC_KEYS_OLD: key 3 is MAC_KEY itself", "LOG_LEVEL", "SMTP_ADDR must be host:port"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), m["MAC_KEY"]) {
		t.Fatalf("an error shows a key:\n%s", b.String())
	}
}
