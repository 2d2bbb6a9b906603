#!/usr/bin/env bash
# Runs every modelctl benchmark against a release build and prints a summary.
#
# Builds .build-release/release/modelctl first when it is missing (BENCH_REBUILD=1 rebuilds it anyway), then runs
# bench/blob-transfer.sh, bench/resolve-alias.sh, bench/package.sh, bench/cli-transfer.sh and bench/mlflow-compat.sh
# (the MLflow-compatible API against a real `mlflow server`, installed into bench/mlflow/.venv on its first run; its
# table is in bench/results/mlflow-compat.txt, not in the summary). Results:
# bench/results/*.json, *.txt and summary.md (bench/results/ is git-ignored). These are benchmarks, not tests: they
# report numbers and ratios against baselines measured in the same run (nginx; sha256sum + tar --zstd for packaging;
# openssl/sha256sum + curl for the CLI's push and pull); the exit status is non-zero only when a benchmark could not
# run.
#
# On a shared machine set BENCH_WAIT_QUIET=600: each benchmark then waits (up to that many seconds) for other
# processes to leave the CPUs idle, waits again between runs, and repeats a wrk run disturbed by other processes.
# Other knobs: see the headers of blob-transfer.sh, resolve-alias.sh, package.sh, cli-transfer.sh and mlflow-compat.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_modelctl
mkdir -p "$RESULTS_DIR"
rm -f "$RESULTS_DIR"/blob-transfer.* "$RESULTS_DIR"/resolve-alias.* "$RESULTS_DIR"/package.* "$RESULTS_DIR"/summary.md
rm -f "$RESULTS_DIR"/cli-transfer.* "$RESULTS_DIR"/mlflow-compat.*

log "== bench/blob-transfer.sh =="
"$BENCH_DIR/blob-transfer.sh" 2>"$RESULTS_DIR/blob-transfer.log"
log "== bench/resolve-alias.sh =="
"$BENCH_DIR/resolve-alias.sh" 2>"$RESULTS_DIR/resolve-alias.log"
log "== bench/package.sh =="
"$BENCH_DIR/package.sh" 2>"$RESULTS_DIR/package.log"
log "== bench/cli-transfer.sh =="
"$BENCH_DIR/cli-transfer.sh" 2>"$RESULTS_DIR/cli-transfer.log"
log "== bench/mlflow-compat.sh =="
"$BENCH_DIR/mlflow-compat.sh" 2>"$RESULTS_DIR/mlflow-compat.log"

{
    echo "# modelctl benchmark summary ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
    echo
    echo '```'
    machine_info
    echo '```'
    echo
    "${BENCHUTIL[@]}" summary "$RESULTS_DIR"
} >"$RESULTS_DIR/summary.md"
echo
cat "$RESULTS_DIR/summary.md"
echo
cat "$RESULTS_DIR/mlflow-compat.txt"
echo
echo "Details: $RESULTS_DIR/{blob-transfer,resolve-alias,package,cli-transfer,mlflow-compat}.{txt,json,log}"
