package nftables

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// shardedRuleset spreads scaleTable's services over n tables (service i in
// table i%n), each with its own base chain and services map.
func shardedRuleset(nsvc, nep, n int) *Ruleset {
	rs := &Ruleset{}
	per := nsvc / n
	for s := 0; s < n; s++ {
		t := scaleTable(per, nep, 1)
		if n > 1 {
			t.Name = fmt.Sprintf("proxykit-%02d", s)
		}
		rs.Tables = append(rs.Tables, t)
	}
	return rs
}

// TestShardingScale measures what sharding a 10k x 10 ruleset over several
// tables does to incremental applies and read-back (the kernel validates a
// whole table on every change that adds a jump, goto or nat, and dumps rules
// quadratically per table). Informational: set PROXYKIT_NFT_SHARDS=1,32.
func TestShardingScale(t *testing.T) {
	spec := os.Getenv("PROXYKIT_NFT_SHARDS")
	if spec == "" {
		t.Skip("set PROXYKIT_NFT_SHARDS to a shard count")
	}
	n, err := strconv.Atoi(spec)
	if err != nil || n < 1 {
		t.Fatalf("PROXYKIT_NFT_SHARDS=%q", spec)
	}
	ns := newTestNS(t)
	cur := shardedRuleset(benchServices, benchEndpoints, n)
	k := ns.prefixKernel(t)
	start := time.Now()
	mustApply(t, k, Diff(nil, cur, nil))
	t.Logf("%d shards: full apply %v", n, time.Since(start))
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		next, scope := oneEndpointChange(cur.Tables[0], benchEndpoints, byte(i+2))
		rs := &Ruleset{Tables: append([]*Table{next.Tables[0]}, cur.Tables[1:]...)}
		tx := Diff(cur, rs, scope)
		mustApply(t, k, tx)
		t.Logf("one-endpoint change end to end: %v (%d ops)", time.Since(t0), len(tx.Ops))
		cur = rs
	}
	t0 := time.Now()
	back := mustRead(t, k)
	t.Logf("read back: %v", time.Since(t0))
	if tx := Diff(back, cur, nil); !tx.Empty() {
		t.Fatalf("drift: %.1000s", tx)
	}
}
