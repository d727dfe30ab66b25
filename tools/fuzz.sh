#!/usr/bin/env bash
# Builds ferry's libFuzzer targets (tests/fuzz/) with clang in BUILD_DIR and
# runs each over its seed corpus for SECONDS (default 20). Fails if any
# target crashes, leaks, trips a sanitizer or breaks one of its invariants.
#   tools/fuzz.sh build-fuzz           # what `tools/run test` does
#   tools/fuzz.sh build-fuzz 3600      # longer, locally
# New inputs found go to BUILD_DIR/fuzz-corpus/TARGET (not the seed corpus);
# a crash leaves BUILD_DIR/fuzz-artifacts/TARGET/crash-* to reproduce with
#   BUILD_DIR/tests/fuzz/fuzz-TARGET FILE
# FUZZ_TARGETS="uri stream" limits the run to some targets.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: tools/fuzz.sh BUILD_DIR [SECONDS]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
build=$1
seconds=${2:-20}
cd "$here"

if [ ! -f "$build/build.ninja" ]; then
  CXX=${FUZZ_CXX:-clang++} meson setup "$build" -Dfuzz=true -Dwerror=true \
    -Dbuildtype=debugoptimized
fi
ninja -C "$build" fuzz

targets=${FUZZ_TARGETS:-uri domain_xml agent_config messages stream}
status=0
for t in $targets; do
  bin="$build/tests/fuzz/fuzz-${t//_/-}"
  seeds="$here/tests/fuzz/corpus/$t"
  work="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  mkdir -p "$work" "$artifacts"
  dict=()
  [ -f "$here/tests/fuzz/$t.dict" ] && dict=(-dict="$here/tests/fuzz/$t.dict")
  echo "== fuzz $t: ${seconds}s"
  if ! "$bin" "$work" "$seeds" "${dict[@]}" -max_total_time="$seconds" \
      -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" >"$build/fuzz-$t.log" 2>&1; then
    tail -n 60 "$build/fuzz-$t.log"
    echo "== fuzz $t: FAILED (log: $build/fuzz-$t.log, inputs: $artifacts)" >&2
    status=1
  else
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' \
      "$build/fuzz-$t.log" | tr '\n' ' '
    echo
  fi
done
exit $status
