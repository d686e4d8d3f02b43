#!/usr/bin/env bash
# test/fuzz/run.sh -- build the libFuzzer harnesses (`make fuzz`) and run each
# for a short while over a copy of its seed corpus. Exits non-zero when a
# harness finds a crash, a leak, undefined behaviour, a failed invariant or a
# timeout; exits 0 with a message when clang or its libFuzzer runtime is
# missing.
#
#   test/fuzz/run.sh [harness...]     default: every test/fuzz/fuzz_*.c
#
# Environment:
#   FUZZ_SECONDS  seconds per harness (default 20)
#   FUZZ_JOBS     harnesses run at once (default: number of CPUs)
#   FUZZ_KEEP     1: keep the scratch directory (logs, grown corpora)
#   FUZZ_CORPUS   seed root to use instead of test/fuzz/corpus (one
#                 subdirectory per harness), e.g. a corpus grown earlier
#
# Findings are copied to build/fuzz/artifacts/<harness>-crash-* (reproduce
# with build/fuzz/<harness> <file>). Seeds come from test/fuzz/corpus/<harness>,
# or from test/fuzz/make_corpus.py when that directory is missing.
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
secs=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
case "$secs$jobs" in
  *[!0-9]*|"") echo "fuzz: FUZZ_SECONDS and FUZZ_JOBS must be positive integers"; exit 2 ;;
esac
[ "$secs" -gt 0 ] && [ "$jobs" -gt 0 ] || { echo "fuzz: FUZZ_SECONDS and FUZZ_JOBS must be positive integers"; exit 2; }

if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz: clang not found, skipping the fuzz smoke run"
  exit 0
fi

# The libFuzzer runtime comes with clang's compiler-rt package (libclang-rt-*-dev).
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
  > "$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" >/dev/null 2>&1; then
  rm -rf "$probe"
  echo "fuzz: clang cannot link -fsanitize=fuzzer (libFuzzer runtime missing?), skipping the fuzz smoke run"
  exit 0
fi
rm -rf "$probe"

if [ $# -gt 0 ]; then
  harnesses=("$@")
else
  harnesses=()
  for f in test/fuzz/fuzz_*.c; do harnesses+=("$(basename "$f" .c)"); done
fi

targets=()
for h in "${harnesses[@]}"; do targets+=("build/fuzz/$h"); done
if ! make -j"$jobs" "${targets[@]}"; then
  echo "fuzz: build failed"
  exit 1
fi

base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/zkd-fuzz-run.XXXXXX")
cleanup() { [ "${FUZZ_KEEP:-0}" = 1 ] && echo "fuzz: scratch kept in $work" || rm -rf "$work"; }
trap cleanup EXIT

if [ -n "${FUZZ_CORPUS:-}" ]; then
  seeds=$FUZZ_CORPUS
elif [ ! -d test/fuzz/corpus ]; then
  python3 test/fuzz/make_corpus.py "$work/seeds" || { echo "fuzz: make_corpus.py failed"; exit 1; }
  seeds=$work/seeds
else
  seeds=test/fuzz/corpus
fi
mkdir -p build/fuzz/artifacts

# One harness: corpus copy, scratch TMPDIR, sanitizers that stop at the first report.
run_one() {
  local h=$1 d=$work/$1
  mkdir -p "$d/corpus" "$d/tmp" "$d/art"
  [ -d "$seeds/$h" ] && cp "$seeds/$h"/* "$d/corpus/" 2>/dev/null
  TMPDIR=$d/tmp \
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
    "$top/build/fuzz/$h" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$d/art/" "$d/corpus" > "$d/log" 2>&1
  echo $? > "$d/rc"
}

pids=()
for h in "${harnesses[@]}"; do
  run_one "$h" &
  pids+=($!)
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 0.2; done
done
wait "${pids[@]}"

fail=0
npass=0
nfail=0
for h in "${harnesses[@]}"; do
  d=$work/$h
  rc=$(cat "$d/rc" 2>/dev/null || echo 99)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log")
  if [ "$rc" = 0 ]; then
    echo "fuzz: $h ok (${execs:-?} inputs in ${secs}s)"
    npass=$((npass + 1))
    continue
  fi
  fail=1
  nfail=$((nfail + 1))
  echo "fuzz: $h FAILED (exit $rc)"
  grep -E 'ERROR|check failed|runtime error|SUMMARY|server logged|stalled' "$d/log" | head -20
  for a in "$d"/art/*; do
    [ -e "$a" ] || continue
    cp "$a" "build/fuzz/artifacts/$h-$(basename "$a")"
    echo "  reproducer: build/fuzz/artifacts/$h-$(basename "$a")  (run: build/fuzz/$h <file>)"
  done
  echo "  last lines of the log:"
  tail -n 15 "$d/log" | sed 's/^/    /'
done
echo "fuzz: $npass passed, $nfail failed"
exit $fail
