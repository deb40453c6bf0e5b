#!/usr/bin/env bash
# Reruns the benchmarks behind the README's Performance table and writes the
# raw output to bench-out/ (benchstat-friendly).
#
#   scripts/bench.sh [count]     pure benchmarks (any machine)
#   KERNEL=1 scripts/bench.sh    also the netns and VM ones (root; minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-3}
mkdir -p bench-out
run() {
  local name=$1; shift
  echo "== $name: go test -run '^\$' -benchmem $*" >&2
  go test -run '^$' -benchmem "$@" | tee "bench-out/$name.txt"
}
run rulegen -count "$count" -bench 'Compile|UpdateOneEndpoint|UpdateNames' ./rulegen
run iptables -count "$count" -bench 'BenchmarkRenderDiffFull$|BenchmarkRenderFull$|BenchmarkRenderDiffOneEndpoint$|Parse10k' ./iptables
run nftables -count "$count" -bench '^(BenchmarkRenderFull|BenchmarkRenderDiffOneEndpoint)$' ./nftables
run ipvs -count "$count" -bench 'RenderDiff/full' ./ipvs
run lb -count "$count" -bench 'BenchmarkPick$|MaglevBuild|Proxy' ./lb
if [ "${KERNEL:-}" = 1 ]; then
  run iptables-netns -benchtime 2x -timeout 60m -bench SyncNetNS ./iptables
  run nftables-netns -benchtime 3x -timeout 60m -bench '^(BenchmarkApplyFull|BenchmarkOneEndpointChange|BenchmarkResyncFull)$' ./nftables
  run ipvs-vm -timeout 60m -benchtime 7x -bench 'Program1kx10|OneRealServer|BackendOne' ./ipvs/ipvsvm
fi
echo "results in bench-out/" >&2
