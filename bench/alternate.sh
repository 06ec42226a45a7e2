#!/bin/bash
# Alternating builds for bench/thread-cpu.mjs (issue 15): each round runs every build once, in the given order.
#   bench/alternate.sh <out.jsonl> <rounds> <connections> <seconds> <label>=<dist dir>[@<node flags>] ...
# e.g. keep a copy of the baseline's build first:
#   mkdir -p /tmp/sb-base && cp -r dist package.json /tmp/sb-base/ && ln -s "$PWD/node_modules" /tmp/sb-base/
#   bench/alternate.sh /tmp/ab.jsonl 3 50 8 base=/tmp/sb-base/dist new=dist "new-hg50=dist@--heap-growing-percent=50"
# One JSON line per run: {"name", "load" (1-minute load average before it), "r" (thread-cpu.mjs's line)}.
set -u
out=$1; rounds=$2; conns=$3; secs=$4; shift 4
cd "$(dirname "$0")/.."
for _ in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    label=${spec%%=*}; rest=${spec#*=}; dir=${rest%%@*}; flags=""
    [[ "$rest" == *@* ]] && flags=${rest#*@}
    line=$(SWITCHBOARD_BENCH_NODE_ARGS="$flags" SWITCHBOARD_BENCH_CLI="$dir/cli/index.js" node bench/thread-cpu.mjs "$conns" "$secs" 2>/dev/null | tail -1)
    echo "{\"name\":\"$label\",\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\",\"r\":${line:-null}}" >> "$out"
  done
done
