#!/usr/bin/env bash
# Runs fuzz targets one after another: fuzz/run-all.sh TARGET:SECONDS ...
# Appends one line per target to fuzz/artifacts/summary.txt.
cd "$(dirname "$0")"
for spec in "$@"; do
  t=${spec%%:*} s=${spec##*:}
  start=$(date +%s)
  ./run.sh "$t" "$s" > "artifacts/$t.out" 2>&1
  runs=$(grep -h "^stat::number_of_executed_units" "artifacts/$t/fuzz-0.log" | tail -1 | awk '{print $2}')
  rss=$(grep -h "^stat::peak_rss_mb" "artifacts/$t/fuzz-0.log" | tail -1 | awk '{print $2}')
  found=$(cd "artifacts/$t" && ls crash-* timeout-* oom-* 2>/dev/null | tr '\n' ' ')
  cp "artifacts/$t/fuzz-0.log" "artifacts/$t/fuzz-$start.log" 2>/dev/null
  echo "$t secs=$(( $(date +%s) - start )) runs=${runs:-?} peak_rss_mb=${rss:-?} found=${found:-none}" >> artifacts/summary.txt
done
