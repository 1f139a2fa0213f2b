#!/usr/bin/env bash
# Fuzz campaign (long; not CI): each libFuzzer target of csrc/fuzz (ASan + UBSan) and each atheris
# target (tests/fuzz_container.py, tests/fuzz_decode.py) in turn, one at a time under `nice`, from its
# committed corpus until RUNS executions or SECONDS seconds, whichever comes first. The corpus it grew
# is then minimized (-merge=1) back into the committed folder (csrc/fuzz/corpus/TARGET,
# tests/fuzz_corpus/TARGET), and one row per target is appended to RESULTS: executions, wall-clock
# seconds (start-up included), executions per second (libFuzzer's average), coverage (libFuzzer's cov: edges, ft: features), corpus files and bytes
# after minimizing, crashes (crash-, leak-, timeout- and oom- artifacts), slow-unit reports (inputs
# that took over 10 s once: a stalled machine gives them too; the log names each), peak RSS.
#
#   benchmarks/fuzz_campaign.sh [-r RUNS] [-t SECONDS] [-o RESULTS] [TARGET...]
#
# Defaults: RUNS 10000000, SECONDS 1800, RESULTS results/fuzz/campaign.tsv, every target. Logs and
# artifacts (crash-*, timeout-*, oom-*, leak-*) go to build/fuzz_campaign/TARGET/. Needs what
# csrc/tests/native_checks.sh needs (clang with libFuzzer) and atheris; NICE (default 10) sets the
# niceness.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=10000000
seconds=1800
results=results/fuzz/campaign.tsv
while getopts "r:t:o:" opt; do
  case "$opt" in
    r) runs="$OPTARG" ;;
    t) seconds="$OPTARG" ;;
    o) results="$OPTARG" ;;
    *) echo "usage: $0 [-r RUNS] [-t SECONDS] [-o RESULTS] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
native=(fuzz_rans_decode fuzz_range_decode fuzz_stream_decode fuzz_roundtrip fuzz_context_decode)
python_targets=(fuzz_container fuzz_decode)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${native[@]}" "${python_targets[@]}")
nice_run=(nice -n "${NICE:-10}")
build="${NATIVE_BUILD_DIR:-build/native}/fuzz"
work=build/fuzz_campaign

CXX=clang++ cmake -S . -B "$build" -G Ninja -DFASTCODEC_PYTHON=OFF -DFASTCODEC_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
"${nice_run[@]}" cmake --build "$build" > /dev/null

mkdir -p "$(dirname "$results")"
if [ ! -s "$results" ]; then
  printf 'date\ttarget\texecutions\tseconds\texec_per_s\tcov\tft\tcorpus_files\tcorpus_bytes\tcrashes\tslow_units\tpeak_rss_mb\n' \
    > "$results"
fi

for target in "${targets[@]}"; do
  if [[ " ${python_targets[*]} " == *" $target "* ]]; then
    cmd=(python "tests/$target.py")
    committed="tests/fuzz_corpus/$target"
    rss=3072
  elif [[ " ${native[*]} " == *" $target "* ]]; then
    cmd=("$build/$target")
    committed="csrc/fuzz/corpus/$target"
    rss=2048
  else
    echo "unknown target $target" >&2
    exit 2
  fi
  dir="$work/$target"
  rm -rf "$dir"
  mkdir -p "$dir/grown" "$dir/minimized" "$dir/artifacts" "$committed"
  cp -r "$committed/." "$dir/grown/"
  echo "== $target: from $(ls "$committed" | wc -l) committed inputs, until $runs runs or $seconds s" >&2
  start=$(date +%s)
  set +e
  "${nice_run[@]}" "${cmd[@]}" -runs="$runs" -max_total_time="$seconds" -rss_limit_mb="$rss" -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$dir/grown" > "$dir/fuzz.log" 2>&1
  rc=$?
  set -e
  elapsed=$(( $(date +%s) - start ))
  executions=$(awk '/^stat::number_of_executed_units/ {n = $2} END {print n}' "$dir/fuzz.log")
  rate=$(awk '/^stat::average_exec_per_sec/ {n = $2} END {print n}' "$dir/fuzz.log")
  peak=$(awk '/^stat::peak_rss_mb/ {n = $2} END {print n}' "$dir/fuzz.log")
  last=$(awk '/^#[0-9]+[ \t].* cov: / {l = $0} END {print l}' "$dir/fuzz.log")
  cov=$(sed -E 's/.* cov: ([0-9]+).*/\1/' <<< "$last")
  ft=$(sed -E 's/.* ft: ([0-9]+).*/\1/' <<< "$last")
  crashes=$(find "$dir/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  slow=$(find "$dir/artifacts" -type f -name 'slow-unit-*' | wc -l)
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    tail -30 "$dir/fuzz.log" >&2
    echo "$target exited $rc without an artifact" >&2
    exit 1
  fi
  # Minimize: the inputs of the grown corpus that keep its features, into the committed folder.
  "${nice_run[@]}" "${cmd[@]}" -merge=1 -rss_limit_mb="$rss" "$dir/minimized" "$dir/grown" > "$dir/merge.log" 2>&1
  rm -rf "$committed"
  mkdir -p "$committed"
  cp "$dir/minimized/." "$committed/" -r
  files=$(find "$committed" -type f | wc -l)
  bytes=$(find "$committed" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%d)" "$target" "${executions:-0}" \
    "$elapsed" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$files" "$bytes" "$crashes" "$slow" "${peak:-?}" | tee -a "$results"
  if [ "$crashes" -ne 0 ] || [ "$slow" -ne 0 ]; then
    echo "$target: $crashes crash(es), $slow slow unit(s) in $dir/artifacts" >&2
  fi
done
