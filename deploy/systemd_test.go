package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The unit file is one systemd accepts without a warning (systemd-analyze verify, with a
// stand-in program since the binary is not installed here), its secrets reach the bot as files
// through systemd's credentials, and it keeps the usual hardening.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("systemd/resetbot.service")
	if err != nil {
		t.Fatal(err)
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is missing (Debian package systemd)")
	}
	verify := func(text string) string {
		p := filepath.Join(t.TempDir(), "resetbot.service")
		text = strings.Replace(text, "ExecStart=/usr/local/bin/resetbot serve", "ExecStart=/bin/true serve", 1)
		text = strings.Replace(text, "EnvironmentFile=/etc/", "EnvironmentFile=-/etc/", 1)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", p).CombinedOutput()
		if err != nil {
			return string(out) + err.Error()
		}
		return string(out)
	}
	if out := verify(string(unit)); out != "" {
		t.Errorf("systemd-analyze verify:\n%s", out)
	}
	if out := verify(strings.Replace(string(unit), "ProtectHome=", "ProtectHom=", 1)); out == "" {
		t.Error("systemd-analyze verify accepted a misspelt directive")
	}
	for _, k := range []string{"SEAL_KEYS", "MAC_KEY", "REDIS_PASSWORD"} {
		if !strings.Contains(string(unit), "\nLoadCredential="+k+":") || !strings.Contains(string(unit), "\nEnvironment="+k+"_FILE=%d/"+k+"\n") {
			t.Errorf("%s does not reach the bot as a credential file", k)
		}
	}
	for _, d := range []string{"DynamicUser=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "ProtectSystem=strict",
		"ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes", "RestrictAddressFamilies=", "SystemCallFilter=@system-service",
		"MemoryDenyWriteExecute=yes", "RestrictSUIDSGID=yes", "MemoryMax=", "RestartPreventExitStatus=2"} {
		if !strings.Contains(string(unit), "\n"+d) {
			t.Errorf("the unit lacks %s", strings.TrimSpace(d))
		}
	}
	if regexp.MustCompile(`(?m)^Environment=(SEAL_KEYS|MAC_KEY|REDIS_PASSWORD)=`).Match(unit) {
		t.Error("a secret is given in the unit file itself")
	}
}
