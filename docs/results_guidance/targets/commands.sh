#!/bin/bash
# The runs of docs/results_guidance/targets/ (forty-first session): the `guided` navigator under
# the greedy, PPO and Hungarian dispatchers (PIBT shield) on the 8 saturated floors of issue 5's
# throughput target, next to the committed rule_based (block), rule_based (pibt) and
# hierarchical (pibt) rows, which were re-run here too and reproduce (table.py checks it).
#
# Run from a frozen copy of commit 017f812 with this session's hierarchy/evaluate.py (the three
# "+ guided (pibt)" labels), laid out as /tmp/h3src/main next to /tmp/h3src/shared -> the
# shared maps (hierarchy/evaluate.py finds the LoRR and kiva maps at ../shared/maps):
#   mkdir -p /tmp/h3src/main && git -C /work/main archive 017f812 | tar -x -C /tmp/h3src/main
#   ln -s /work/shared /tmp/h3src/shared
#   cp /work/main/hierarchy/evaluate.py /tmp/h3src/main/hierarchy/evaluate.py
#   cd /tmp/h3src/main && export PYTHONPATH=/tmp/h3src/main
# One worker (--jobs 1) on a 2-vCPU machine shared with other jobs. The logs (*.log here) give
# the wall time of each floor's config. The session ran these with OUT=/tmp/h3runs and copied
# the folders and logs here.
set -eo pipefail
OUT=${OUT:-docs/results_guidance/targets}
FLOORS=train_wide,lorr_warehouse_small,small_peak,train_wide_peak,one_way_peak,faults_peak,medium_peak,kiva_peak
CONFIGS="rule_based (block),rule_based (pibt),hierarchical (pibt),greedy + guided (pibt),ppo + guided (pibt),hungarian + guided (pibt)"

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

# the tables, from the repository root /work/main, of the rows and logs copied here (each
# first checks the re-run rows against the committed ones)
cd /work/main
OUT=docs/results_guidance/targets
python docs/results_guidance/targets/table.py $OUT/400/results.json \
  docs/results_hierarchy/results.json docs/results_hierarchy_peak/results.json
python docs/results_guidance/targets/table.py \
  $OUT/hour_missed/results.json,$OUT/hour_other/results.json docs/results_lifelong/results.json
python docs/results_guidance/targets/timing.py $OUT/400.log 10 400
python docs/results_guidance/targets/timing.py $OUT/hour_missed.log 10 3600
python docs/results_guidance/targets/timing.py $OUT/hour_other.log 10 3600
