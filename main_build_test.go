package main

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// The container runs the Makefile's build: it must be static (the image is empty) and the
// binary must refuse to serve as root unless told otherwise.
func TestStaticBuildRefusesRoot(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is needed to run the Makefile's build target")
	}
	out, err := exec.Command("make", "-s", "build").CombinedOutput()
	if err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	f, err := elf.Open("bin/resetbot")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("bin/resetbot is dynamically linked (%v)", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("bin/resetbot needs %v", libs)
	}
	serve := func(cred *syscall.Credential, env ...string) (int, string) {
		cmd := exec.Command("bin/resetbot", "serve")
		cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stderr.String()
	}
	const refusal = "does not serve as root"
	if os.Geteuid() != 0 {
		t.Fatalf("this test checks the refusal to serve as root, so it runs as root (make test does in CI); euid %d", os.Geteuid())
	}
	if code, e := serve(nil); code != 2 || !strings.Contains(e, refusal) {
		t.Fatalf("as root: exit %d\n%s", code, e)
	}
	if _, e := serve(nil, "RESETBOT_ALLOW_ROOT=true"); strings.Contains(e, refusal) {
		t.Fatalf("as root, allowed: %s", e)
	}
	// the image's unprivileged user is not refused (the rest of the configuration still is)
	if code, e := serve(&syscall.Credential{Uid: 65532, Gid: 65532}); code != 2 || strings.Contains(e, refusal) || !strings.Contains(e, "PUBLIC_BASE_URL") {
		t.Fatalf("as 65532: exit %d\n%s", code, e)
	}
}
