#!/usr/bin/env bash
# Builds and runs the C++ unit tests under AddressSanitizer + UndefinedBehaviorSanitizer, then each
# libFuzzer target: first on every input of its committed corpus (csrc/fuzz/corpus/TARGET, grown and
# minimized by benchmarks/fuzz_campaign.sh) as a regression test, then for a fixed time (argument 1,
# seconds; default 30) from a copy of that corpus. Needs cmake, ninja, g++ and clang with libFuzzer
# (installed with apt-get when missing and we are root).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-30}"
build="${NATIVE_BUILD_DIR:-build/native}"

cmake -S . -B "$build/asan" -G Ninja -DFASTCODEC_PYTHON=OFF -DFASTCODEC_TESTS=ON -DFASTCODEC_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=Debug > /dev/null
cmake --build "$build/asan" > /dev/null
ctest --test-dir "$build/asan" --output-on-failure

if ! command -v clang++ > /dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a > /dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    apt-get update -qq > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev > /dev/null
  else
    echo "clang with libFuzzer not available: fuzz targets not run" >&2
    exit 1
  fi
fi
CXX=clang++ cmake -S . -B "$build/fuzz" -G Ninja -DFASTCODEC_PYTHON=OFF -DFASTCODEC_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$build/fuzz" > /dev/null
for target in fuzz_rans_decode fuzz_range_decode fuzz_stream_decode fuzz_roundtrip fuzz_context_decode; do
  corpus="$build/fuzz/corpus_$target"
  rm -rf "$corpus"
  mkdir -p "$corpus"
  log="$build/fuzz/$target.log"
  committed=(csrc/fuzz/corpus/"$target"/*)
  if [ -e "${committed[0]}" ]; then
    cp "${committed[@]}" "$corpus/"
    if ! "$build/fuzz/$target" -rss_limit_mb=2048 -artifact_prefix="$build/fuzz/" "${committed[@]}" > "$log.replay" 2>&1; then
      tail -40 "$log.replay" >&2
      echo "$target failed on its committed corpus" >&2
      exit 1
    fi
    echo "$target: ${#committed[@]} committed inputs replayed"
  fi
  if ! "$build/fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -artifact_prefix="$build/fuzz/" \
      "$corpus" > "$log" 2>&1; then
    tail -40 "$log" >&2
    echo "$target failed" >&2
    exit 1
  fi
  echo "$target: $(grep -E '^Done' "$log")"
done
echo "native checks passed"
