package store_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/store"
)

func TestConnectTimeoutsAreAtMost500ms(t *testing.T) {
	for name, o := range map[string]store.Options{
		"url":      {URL: "redis://127.0.0.1:1/0"},
		"sentinel": {Addrs: []string{"127.0.0.1:1"}, MasterName: "m"},
		"cluster":  {Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}},
	} {
		c, err := store.Connect(o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var dial, read, write, pool = int64(-1), int64(-1), int64(-1), int64(-1)
		switch cl := c.(type) {
		case *redis.Client:
			op := cl.Options()
			dial, read, write, pool = int64(op.DialTimeout), int64(op.ReadTimeout), int64(op.WriteTimeout), int64(op.PoolTimeout)
		case *redis.ClusterClient:
			op := cl.Options()
			dial, read, write, pool = int64(op.DialTimeout), int64(op.ReadTimeout), int64(op.WriteTimeout), int64(op.PoolTimeout)
		default:
			t.Fatalf("%s: %T", name, c)
		}
		for _, d := range []int64{dial, read, write, pool} {
			if d <= 0 || d > int64(store.Timeout) {
				t.Errorf("%s: timeout %d", name, d)
			}
		}
		if name == "cluster" {
			if _, ok := c.(*redis.ClusterClient); !ok {
				t.Errorf("cluster addresses gave %T", c)
			}
		}
		c.Close()
	}
}
