#!/bin/bash
# The runs of docs/results_guidance.md, from the repository's parent folder layout
# (/work/main, maps in /work/shared/maps). Each sweep writes sweep.csv; the copies here are
# named MAP_POLICY[_COLLISIONS].csv.
set -e
M=../shared/maps
# The rows below were measured before the forty-first session made the stall rescue follow the
# guide (guided's default since): `guide_rescue=false` gives the plain rescue they ran with.
plain() { if [ "$1" = guided ]; then echo "--set policies.navigator_args.guided.guide_rescue=false"; fi; }

# kiva (RHCR), 5 seeds, under pibt and under the default block
for coll in pibt block; do
  for pol in rule_based guided; do
    warehouse sweep $M/rhcr/kiva.map --set tasks.mode=goal_visit --set physics.collisions=$coll \
      --set fleet.robots=100,200,300,400 --seeds 0..4 --steps 1000 --policy $pol --jobs 1 \
      $(plain $pol) --out runs/guidance/kiva_${pol}_${coll}
  done
done

# LoRR warehouse_large and sortation_large, seed 0 (seeds 1 and 2 were cut for time but at
# 10,000 robots on warehouse_large, below)
for map in warehouse_large sortation_large; do
  for pol in rule_based guided; do
    warehouse sweep $M/lorr/$map.map --set tasks.mode=goal_visit --set physics.collisions=pibt \
      --set fleet.robots=2000,4000,6000,8000,10000 --seeds 0 --steps 1000 --policy $pol \
      --jobs 1 $(plain $pol) --out runs/guidance/${map}_${pol}
  done
done

# warehouse_large, 10,000 robots, seeds 1 and 2 (*_10k_seeds12.csv)
for pol in rule_based guided; do
  warehouse sweep $M/lorr/warehouse_large.map --set tasks.mode=goal_visit \
    --set physics.collisions=pibt --set fleet.robots=10000 --seeds 1,2 --steps 1000 \
    --policy $pol --jobs 1 $(plain $pol) --out runs/guidance/warehouse_large_${pol}_10k_seeds12
done

# the tables
python docs/results_guidance/table.py docs/results_guidance/kiva_rule_based_pibt.csv \
  docs/results_guidance/kiva_guided_pibt.csv

# navigator overhead: CPU time (thread_time) of navigator.act, seed 0, 200 steps
python docs/results_guidance/timing.py $M/lorr/warehouse_large.map 200 \
  2000,4000,6000,8000,10000 rule_based,guided

# forty-first session: the faster search, against the first version (a frozen copy of 017f812),
# run alternately, one fleet size at a time (CPU time of navigator.act, 200 steps)
ML=$PWD/$M/lorr/warehouse_large.map
rm -rf /tmp/before && mkdir /tmp/before && git archive 017f812 | tar -x -C /tmp/before
for n in 2000 4000 6000 8000 10000; do
  (cd /tmp/before && PYTHONPATH=. python docs/results_guidance/timing.py $ML 200 $n guided)
  python docs/results_guidance/timing.py $ML 200 $n guided
done

# forty-first session: the weighted search (opt-in policies.navigator_args.guided.suboptimality)
for w in 1 3 2; do
  python docs/results_guidance/timing.py $ML 1000 10000 guided \
    policies.navigator_args.guided.suboptimality=$w
done

# forty-first session: the stall rescue that follows the guide (policies.navigator_args.guided.
# guide_rescue, on by default since). The plain rescue (false) is HEAD 6ff9f0a's behaviour bit
# for bit; it was run from a frozen copy of 6ff9f0a (git archive) with this script copied in,
# where the setting does not exist: the =false runs were made there without that --set (this
# tree with =false gives the same rows; checked on kiva 400 robots seed 2).
# CSVs: *_rescue_{true,false}.csv.
K=$PWD/$M/rhcr/kiva.map
G=policies.navigator_args.guided.guide_rescue
R=docs/results_guidance/rescue.py
for flag in true false; do
  python $R $K 300,400 0,1,2 1000 $G=$flag > docs/results_guidance/kiva_guided_rescue_$flag.csv
done
python $R $ML 8000 0 1000 $G=true > docs/results_guidance/warehouse_large_guided_rescue_true.csv
python $R $ML 10000 0,1,2 1000 $G=true | tail -n +2 \
  >> docs/results_guidance/warehouse_large_guided_rescue_true.csv
python $R $ML 8000 0 1000 $G=false > docs/results_guidance/warehouse_large_guided_rescue_false.csv
python $R $ML 10000 0,1,2 1000 $G=false | tail -n +2 \
  >> docs/results_guidance/warehouse_large_guided_rescue_false.csv
# the same on kiva under pibt_swap
for flag in true false; do
  python $R $K 300,400 0,1,2 1000 $G=$flag physics.collisions=pibt_swap \
    > docs/results_guidance/kiva_guided_pibt_swap_rescue_$flag.csv
done
python $R table docs/results_guidance/{kiva,warehouse_large}_guided_rescue_*.csv
python $R table docs/results_guidance/kiva_guided_pibt_swap_rescue_*.csv

# forty-second session: plan_paths stops for room before it touches a robot (no search done
# twice). Bit-identity: the kiva sweep below from this tree and from a frozen copy of 2724aef
# (same sweep.csv byte for byte; with guide_rescue=false it equals kiva_guided_pibt.csv). The
# stops (each one a repeated search or rejoin on 2724aef), counted on the frozen copy, and the
# time, alternately (frozen copy, this tree, twice):
rm -rf /tmp/head && mkdir /tmp/head && git archive 2724aef | tar -x -C /tmp/head
cp docs/results_guidance/pool_stops.py /tmp/head/docs/results_guidance/
(cd /tmp/head && PYTHONPATH=. python docs/results_guidance/pool_stops.py $K 400 1000)
(cd /tmp/head && PYTHONPATH=. python docs/results_guidance/pool_stops.py $ML 4000 200)
for r in 1 2; do
  (cd /tmp/head && PYTHONPATH=. python docs/results_guidance/timing.py $ML 200 4000 guided)
  python docs/results_guidance/timing.py $ML 200 4000 guided
done

# forty-second session: the kiva rows with today's default (the guide's rescue): the sweep of
# the top without guide_rescue=false. Under block it rewrites kiva_guided_block.csv byte for
# byte (the block shield takes no hint), so only the pibt sweep is kept, as
# kiva_guided_pibt_guide_rescue.csv.
for coll in pibt block; do
  warehouse sweep $K --set tasks.mode=goal_visit --set physics.collisions=$coll \
    --set fleet.robots=100,200,300,400 --seeds 0..4 --steps 1000 --policy guided --jobs 1 \
    --out runs/guidance/kiva_guided_${coll}_guide_rescue
done
python docs/results_guidance/table.py docs/results_guidance/kiva_rule_based_pibt.csv \
  docs/results_guidance/kiva_guided_pibt_guide_rescue.csv
python docs/results_guidance/table.py --rescue docs/results_guidance/kiva_guided_pibt.csv \
  docs/results_guidance/kiva_guided_pibt_guide_rescue.csv

# forty-second session: the guide's rescue on sortation_large (10,000 robots seeds 0, 1, 2,
# 8,000 robots seed 0) and on warehouse_large under pibt_swap (10,000 and 8,000 robots, seed 0),
# true against false, 1,000 steps. Run one (size, seed, setting) a process, from a frozen copy
# of 2724aef (the same runs as this tree, above); CPU seconds are rough (shared machine).
S=$PWD/$M/lorr/sortation_large.map
D=docs/results_guidance
for flag in true false; do
  python $R $S 10000 0,1,2 1000 $G=$flag > $D/sortation_large_guided_rescue_$flag.csv
  python $R $S 8000 0 1000 $G=$flag | tail -n +2 >> $D/sortation_large_guided_rescue_$flag.csv
  python $R $ML 10000,8000 0 1000 $G=$flag physics.collisions=pibt_swap \
    > $D/warehouse_large_guided_pibt_swap_rescue_$flag.csv
done
python $R table $D/sortation_large_guided_rescue_*.csv
python $R table $D/warehouse_large_guided_pibt_swap_rescue_*.csv
