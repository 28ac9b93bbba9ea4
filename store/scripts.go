package store

import (
	"embed"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts, one file each, with a header saying what it does, its KEYS and ARGV, and what
// it returns. A script runs atomically in Redis: everything it reads and writes is one step.
//
//go:embed *.lua
var luaFiles embed.FS

// script loads one of the embedded scripts, after the libraries it uses (lib_*.lua: shared
// local functions, put in front so the script is still one chunk that Redis runs atomically).
// A missing file is a build mistake that every test of the package shows at once.
func script(name string, libs ...string) *redis.Script {
	var src []byte
	for _, f := range append(libs, name) {
		b, err := luaFiles.ReadFile(f)
		if err != nil {
			panic("store: no script " + f)
		}
		src = append(src, b...)
	}
	return redis.NewScript(string(src))
}
