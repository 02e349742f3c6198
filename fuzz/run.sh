#!/usr/bin/env bash
# Runs one fuzz target for a while: fuzz/run.sh TARGET SECONDS [libFuzzer flags...]
# The working corpus is fuzz/corpus/TARGET (seeded from fuzz/seeds/TARGET); crashes, timeouts,
# OOMs and libFuzzer's log land in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"
target=$1 secs=$2
shift 2
bin=$PWD/target/x86_64-unknown-linux-gnu/release/$target
mkdir -p "corpus/$target" "artifacts/$target" "seeds/$target"
cp -n "seeds/$target"/* "corpus/$target"/ 2>/dev/null || true
cd "artifacts/$target"
"$bin" "../../corpus/$target" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=1 \
  -jobs=1 -workers=1 -artifact_prefix="$PWD/" -print_final_stats=1 "$@" || true
grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done )" fuzz-0.log | tail -3
ls crash-* timeout-* oom-* slow-unit-* 2>/dev/null || true
