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

// script loads one of the embedded scripts (a missing file is a build mistake that every test
// of the package shows at once).
func script(name string) *redis.Script {
	b, err := luaFiles.ReadFile(name)
	if err != nil {
		panic("store: no script " + name)
	}
	return redis.NewScript(string(b))
}
