#!/usr/bin/env bash
# Reruns the benchmarks behind the README's Performance table and writes the
# raw output to bench-out/ (benchstat-friendly). Usage: scripts/bench.sh [count]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-5}
mkdir -p bench-out
run() {
  local name=$1; shift
  echo "== $name: go test $*" >&2
  go test -run '^$' -benchmem -count "$count" "$@" | tee "bench-out/$name.txt"
}
run rulegen -bench 'Compile|UpdateOneEndpoint' ./rulegen
for pkg in iptables nftables ipvs lb; do
  if [ -d "$pkg" ]; then
    run "$pkg" -bench . "./$pkg"
  fi
done
echo "results in bench-out/" >&2
