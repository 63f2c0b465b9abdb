#!/bin/bash
# Session 45: `python -m agents.batched --threads T`, the session's start (a `git archive` of
# c4adbf9 in BASE) and this tree alternated, ROUNDS times; one line per run:
# round, tree, 1-min load average, then robots:decisions/s (wall)/decisions per CPU-second.
#   docs/benchmarks_s45/rounds.sh BASE ROUNDS T
base=$1 rounds=$2 threads=$3 here=$(cd "$(dirname "$0")/../.." && pwd)
for r in $(seq 1 "$rounds"); do
  for tree in "$base" "$here"; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    out=$(cd "$tree" && PYTHONPATH="$tree" "$here/.venv/bin/python" -m agents.batched --threads "$threads" \
      | grep -E '^ +(10|100|1000|10000) ')
    echo "$r $([ "$tree" = "$base" ] && echo base || echo new) load=$load" \
      "$(echo "$out" | awk '{printf "%s:%s/%s ", $1, $3, $5}')"
  done
done
