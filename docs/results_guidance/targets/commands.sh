#!/bin/bash
# The runs of docs/results_guidance/targets/: the `guided` navigator under the greedy, PPO and
# Hungarian dispatchers (PIBT shield) on the 8 saturated floors of issue 5's throughput target.
#
# Forty-third session (400/, hour_missed/, hour_other/ and their logs): the three guided configs
# with guided's default stall rescue (guide_rescue true), next to the committed rule_based
# (block), rule_based (pibt) and hierarchical (pibt) rows (they do not run guided, so they were
# not re-run). Run from a frozen copy of commit 48547dd, whose hierarchy/evaluate.py has the
# three "+ guided (pibt)" labels, laid out as /tmp/h2src/main next to /tmp/h2src/shared -> the
# shared maps (hierarchy/evaluate.py finds the LoRR and kiva maps at ../shared/maps):
#   mkdir -p /tmp/h2src/main && git -C /work/main archive 48547dd | tar -x -C /tmp/h2src/main
#   ln -s /work/shared /tmp/h2src/shared
#   cd /tmp/h2src/main && export PYTHONPATH=/tmp/h2src/main
# One worker (--jobs 1) on a 2-vCPU machine shared with other jobs. The logs (*.log here) give
# the wall time of each floor's config. The session ran these with OUT=/tmp/h2runs and copied
# the folders and logs here.
#
# Forty-first session (400_plain_rescue/, hour_missed_plain_rescue/, hour_other_plain_rescue/
# and their logs): the same commands with CONFIGS="rule_based (block),rule_based (pibt),
# hierarchical (pibt),greedy + guided (pibt),ppo + guided (pibt),hungarian + guided (pibt)",
# from a frozen copy of commit 017f812 with that session's hierarchy/evaluate.py, when guided's
# stall rescue was the plain one (a checkout of 6ff9f0a, or guide_rescue=false, gives it); the
# re-run baseline rows equal the committed ones (table.py checks it).
set -eo pipefail
OUT=${OUT:-docs/results_guidance/targets}
FLOORS=train_wide,lorr_warehouse_small,small_peak,train_wide_peak,one_way_peak,faults_peak,medium_peak,kiva_peak
CONFIGS="greedy + guided (pibt),ppo + guided (pibt),hungarian + guided (pibt)"

# 400 steps from an idle start, 10 seeds (0-9), as docs/results_hierarchy*/
python -m hierarchy.evaluate --out $OUT/400 --seeds 10 --steps 400 --jobs 1 \
  --scenarios $FLOORS --configs "$CONFIGS" 2>&1 | tee $OUT/400.log

# one hour (3,600 steps), 10 seeds, as docs/results_lifelong/: first the three floors the
# hierarchy misses 1.22x on, then the other five
python -m hierarchy.evaluate --out $OUT/hour_missed --seeds 10 --steps 3600 --jobs 1 \
  --scenarios one_way_peak,train_wide,train_wide_peak --configs "$CONFIGS" \
  2>&1 | tee $OUT/hour_missed.log
python -m hierarchy.evaluate --out $OUT/hour_other --seeds 10 --steps 3600 --jobs 1 \
  --scenarios lorr_warehouse_small,small_peak,faults_peak,medium_peak,kiva_peak \
  --configs "$CONFIGS" 2>&1 | tee $OUT/hour_other.log

# the tables, from the repository root /work/main, of the rows and logs copied here: the
# committed baseline rows, the new guided rows, and (--old) their change from the plain rescue's
cd /work/main
T=docs/results_guidance/targets
python $T/table.py $T/400/results.json \
  docs/results_hierarchy/results.json docs/results_hierarchy_peak/results.json \
  --old $T/400_plain_rescue/results.json
python $T/table.py $T/hour_missed/results.json,$T/hour_other/results.json \
  docs/results_lifelong/results.json \
  --old $T/hour_missed_plain_rescue/results.json,$T/hour_other_plain_rescue/results.json
python $T/timing.py $T/400.log 10 400
python $T/timing.py $T/hour_missed.log 10 3600
python $T/timing.py $T/hour_other.log 10 3600
# the forty-first session's tables and timings (all six configs; the re-run baseline rows
# checked against the committed ones)
python $T/table.py $T/400_plain_rescue/results.json \
  docs/results_hierarchy/results.json docs/results_hierarchy_peak/results.json
python $T/table.py $T/hour_missed_plain_rescue/results.json,$T/hour_other_plain_rescue/results.json \
  docs/results_lifelong/results.json
python $T/timing.py $T/400_plain_rescue.log 10 400
python $T/timing.py $T/hour_missed_plain_rescue.log 10 3600
python $T/timing.py $T/hour_other_plain_rescue.log 10 3600
