#!/usr/bin/env bash
# CLI transfer benchmark: `modelctl push` and `modelctl pull` of a model holding one large random file (release
# build) against standard tools doing the same work with the same bytes against the same daemon in the same run,
# plus the start-up time of `modelctl --version` and the CLI's peak RSS at two sizes.
#
#   push:  modelctl push DIR --model NAME --label rN -q -O json
#          vs  openssl dgst -sha256 FILE (or sha256sum, whichever is faster)
#              + curl -T FILE (PUT /api/v1/blobs/sha256:<hex>)
#   pull:  modelctl pull NAME:1 -o OUT -q -O json
#          vs  curl -o FILE GET /api/v1/models/NAME/versions/1/files/model.bin + openssl dgst -sha256 (or sha256sum)
#   start-up: modelctl --version, vs /bin/true measured the same way (the harness's own cost)
#
# Usage: bench/cli-transfer.sh             (results in bench/results/cli-transfer.{json,txt})
# Environment:
#   BENCH_SIZE_MIB=1024        size of the model file of the timed runs
#   BENCH_SMALL_SIZE_MIB=256   size of the model file of the second RSS measurement (also timed, informational)
#   BENCH_RUNS=3               runs of each measurement (the median is reported)
#   BENCH_STARTUP_RUNS=50      runs of `modelctl --version` (after 5 warm-up runs)
#   BENCH_CHUNK_SIZES="16 64 256 1024"
#                              diagnostics: upload BENCH_SIZE_MIB through a resumable session with an ideal client
#                              (Python, sendfile, one connection) in chunks of these many MiB, BENCH_RUNS times
#                              each, beside a curl -T of the same size; empty: skip the diagnostics
#   BENCH_TMPDIR=/tmp          where the temporary directory goes; the daemon keeps every blob until the end, so
#                              it needs about ((#chunk sizes + 3) x RUNS + 2) x SIZE + 2 x RUNS x SMALL_SIZE MiB
#                              free (25 GiB with the defaults)
#   MODELCTL_BIN=...           binary to measure (default .build-release/release/modelctl, built if missing)
#   BENCH_KEEP_TMP=1           keep the temporary directory
#   BENCH_WAIT_QUIET=N         wait up to N s for idle CPUs first, and up to 60 s before each run
#
# Every upload uses fresh random content (from /dev/urandom, written right before the run): the registry answers a
# blob it already has without reading the body, so a repeated file would measure nothing. Files are written just
# before they are used, so they are in the page cache for both sides; the daemon's copy is read once with an
# untimed curl before the pulls, so both pulls start from a warm cache. Nothing here drops caches (that needs root).
# `sync` runs before each timed run, so no run pays for the write-back of the previous one.
# The daemon runs with authentication on (the default): its admin token (DATA_DIR/admin-token) goes to modelctl as
# MODELCTL_TOKEN, to curl as a header file and to the Python upload client as BENCH_TOKEN; it is never printed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZE_MIB="${BENCH_SIZE_MIB:-1024}"
SMALL_MIB="${BENCH_SMALL_SIZE_MIB:-256}"
RUNS="${BENCH_RUNS:-3}"
STARTUP_RUNS="${BENCH_STARTUP_RUNS:-50}"
CHUNK_SIZES="${BENCH_CHUNK_SIZES-16 64 256 1024}"

need_cmd curl curl
need_cmd python3 python3
need_cmd sha256sum coreutils
need_cmd /usr/bin/time time
OPENSSL="$(command -v openssl || true)"
HYPERFINE="$(command -v hyperfine || true)" # used when installed, never installed here
ensure_modelctl
"$MODELCTL" push --help >/dev/null 2>&1 && "$MODELCTL" pull --help >/dev/null 2>&1 \
    || die "$MODELCTL has no 'push'/'pull' commands: it is older than the CLI client; rebuild it with BENCH_REBUILD=1"
setup_tmp
mkdir -p "$RESULTS_DIR"
T="$BENCH_TMP"
RUNS_TSV="$T/runs.tsv"
: >"$RUNS_TSV"
log "temporary directory $T"

# The CLI's state, config and staging stay inside the temporary directory.
mkdir -p "$T/xdg-state" "$T/xdg-config" "$T/cli-tmp"
export XDG_STATE_HOME="$T/xdg-state" XDG_CONFIG_HOME="$T/xdg-config"
unset MODELCTL_TOKEN MODELCTL_DEBUG MODELCTL_CA_CERT

between_runs() {
    sync
    if [ "${BENCH_WAIT_QUIET:-0}" != 0 ]; then
        "${BENCHUTIL[@]}" wait-quiet 60 "${BENCH_QUIET_THRESHOLD:-0.2}" >/dev/null
    else
        sleep 1
    fi
}

field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
make_random() { head -c "$(($2 * 1048576))" /dev/urandom >"$1"; } # FILE MIB
mib_bytes() { echo $(($1 * 1048576)); }

# mark: remembers the daemon's CPU time right before a timed command (record reports the difference).
mark() {
    rm -f "$T/daemon-cpu.json"
    if [ -n "${DAEMON_PID:-}" ]; then "${BENCHUTIL[@]}" cpu "$DAEMON_PID" >"$T/daemon-cpu.json"; fi
}

# record SIZE SIDE RUN STEP RUN_JSON_FILE [EXTRA_JSON_FILE]
# The run record's other_user_cores counts every process but the command, so the daemon too; the daemon's own CPU
# time during the command (since mark) is kept beside it, and other_user_cores_excl_daemon is what is left.
record() {
    local extra="{}" daemon='{"user_s": 0, "sys_s": 0}' others
    [ -n "${6:-}" ] && extra="$(cat "$6")"
    if [ -f "$T/daemon-cpu.json" ]; then
        daemon="$("${BENCHUTIL[@]}" cpu "$DAEMON_PID" --since "$T/daemon-cpu.json")"
        rm -f "$T/daemon-cpu.json"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(cat "$5")" "$extra" "$daemon" >>"$RUNS_TSV"
    others="$(python3 -c 'import json, sys
run, daemon = json.load(open(sys.argv[1])), json.loads(sys.argv[2])
print("%.2f" % max(run["other_user_cores"] - daemon["user_s"] / max(run["wall_s"], 1e-3), 0.0))' "$5" "$daemon")"
    log "$1 $2 $4 run $3: $(field "$5" wall_s) s, peak RSS $(field "$5" maxrss_kib) KiB, CPU $(field "$5" cpu_s) s;" \
        "daemon CPU $daemon (other processes: $others cores)"
}

# --- Start-up: `modelctl --version` before anything else runs, so that nothing competes for the CPUs.
quiet_check
log "start-up: $STARTUP_RUNS runs of modelctl --version and of /bin/true (posix_spawn + waitpid from Python)"
"${BENCHUTIL[@]}" exec-time "$STARTUP_RUNS" -- "$MODELCTL" --version >"$T/startup-modelctl.json"
"${BENCHUTIL[@]}" exec-time "$STARTUP_RUNS" -- /bin/true >"$T/startup-true.json"
log "modelctl --version: median $(field "$T/startup-modelctl.json" median_ms) ms," \
    "p90 $(field "$T/startup-modelctl.json" p90_ms) ms; /bin/true: median $(field "$T/startup-true.json" median_ms) ms"
echo '{}' >"$T/startup-hyperfine.json"
if [ -n "$HYPERFINE" ]; then
    log "start-up with hyperfine (-N, no shell): $STARTUP_RUNS runs each after 5 warm-up runs"
    "$HYPERFINE" -N --style none --warmup 5 --runs "$STARTUP_RUNS" --export-json "$T/startup-hyperfine.json" \
        "$MODELCTL --version" /bin/true >/dev/null 2>"$T/hyperfine.err" \
        || { log "hyperfine failed: $(tail -1 "$T/hyperfine.err")"; echo '{}' >"$T/startup-hyperfine.json"; }
fi
"$MODELCTL" --version >"$T/modelctl-version.txt" 2>&1 || true

# --- The daemon on a free loopback port, authentication on (the default). start_modelctl reads the admin token the
# --- daemon wrote to DATA_DIR/admin-token and exports it as MODELCTL_TOKEN (for modelctl push/pull) and BENCH_TOKEN
# --- (for benchutil.py session-upload); curl sends it from a header file (CURL_AUTH), /metrics scrapes included.
start_modelctl "$T/data" "$T/daemon"
DAEMON_PID="$MODELCTL_PID"
URL="$MODELCTL_URL"
export MODELCTL_REGISTRY="$URL"
scrape() { curl -sS --max-time 30 -f "${CURL_AUTH[@]}" -o "$1" "$URL/metrics" || die "cannot read $URL/metrics"; }

# --- Context: what one core hashes (OpenSSL via Python hashlib) and what the disk writes with fsync.
make_random "$T/context.bin" "$SIZE_MIB"
SHA_MBS="$("${BENCHUTIL[@]}" hash-rate "$T/context.bin")"
sync
FSYNC_MBS="$("${BENCHUTIL[@]}" write-fsync "$T/context.bin" "$T/fsync-test.bin")"
rm -f "$T/context.bin"
log "SHA-256 (OpenSSL via Python hashlib, 1 core): $SHA_MBS MB/s; write+fsync of ${SIZE_MIB} MiB: $FSYNC_MBS MB/s"

# hash_baseline SIZE RUN PHASE FILE: times openssl dgst and sha256sum on FILE; sets HASH_HEX (they must agree).
hash_baseline() {
    local hex_sha hex_ssl=""
    mark
    "${BENCHUTIL[@]}" run --out "$T/run.json" -- sha256sum "$4" >"$T/sha256sum.out" || die "sha256sum failed"
    record "$1" baseline "$2" "$3-sha256sum" "$T/run.json"
    hex_sha="$(cut -d' ' -f1 "$T/sha256sum.out")"
    if [ -n "$OPENSSL" ]; then
        mark
        "${BENCHUTIL[@]}" run --out "$T/run.json" -- "$OPENSSL" dgst -sha256 -r "$4" >"$T/openssl.out" \
            || die "openssl dgst failed"
        record "$1" baseline "$2" "$3-openssl" "$T/run.json"
        hex_ssl="$(cut -d' ' -f1 "$T/openssl.out")"
        [ "$hex_ssl" = "$hex_sha" ] || die "openssl ($hex_ssl) and sha256sum ($hex_sha) disagree on $4"
    fi
    HASH_HEX="$hex_sha"
}

# --- push
push_modelctl() { # SIZE RUN
    local dir="$T/push-$1-$2" bytes
    bytes="$(stat -c %s "$dir/model.bin")"
    between_runs
    scrape "$T/metrics-before.txt"
    mark
    # --split-read: the moment the process has read the file once = the end of the hash pass.
    "${BENCHUTIL[@]}" run --out "$T/run.json" --split-read "$bytes" -- env TMPDIR="$T/cli-tmp" \
        "$MODELCTL" push "$dir" --model "bench-$1-$2" --label "r$2" -q -O json >"$T/push-$1-$2.json" \
        || die "modelctl push failed (run $2, $1)"
    scrape "$T/metrics-after.txt"
    "${BENCHUTIL[@]}" metrics-delta "$T/metrics-before.txt" "$T/metrics-after.txt" >"$T/delta.json"
    python3 - "$T/push-$1-$2.json" "$T/delta.json" "$bytes" >"$T/extra.json" <<'PY' || die "unexpected push output"
import json, sys
push, delta, size = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
assert push["status"] == "READY" and push["version"] == 1, push
assert push["uploaded_bytes"] >= size and push["skipped_files"] == 0, push
print(json.dumps({"push": push, "server": delta}))
PY
    record "$1" modelctl "$2" push "$T/run.json" "$T/extra.json"
    log "  server: $(python3 -c 'import json, sys
routes = json.load(open(sys.argv[1]))["server"]["routes"]
print("; ".join("%s x%d %.2f s" % (k, v["count"], v["seconds"]) for k, v in sorted(routes.items())))' "$T/extra.json")"
}

push_baseline() { # SIZE RUN
    local file="$T/curl-$1-$2.bin" out
    between_runs
    hash_baseline "$1" "$2" push "$file"
    scrape "$T/metrics-before.txt"
    mark
    "${BENCHUTIL[@]}" run --out "$T/run.json" -- curl -sS --max-time 900 "${CURL_AUTH[@]}" -o "$T/curl-answer.json" \
        -w '%{http_code}\n' -T "$file" "$URL/api/v1/blobs/sha256:$HASH_HEX" >"$T/curl.out" \
        || die "curl -T failed (run $2, $1)"
    out="$(cat "$T/curl.out")"
    [ "$out" = 201 ] || die "curl -T answered HTTP $out (expected 201: a new blob)"
    scrape "$T/metrics-after.txt"
    "${BENCHUTIL[@]}" metrics-delta "$T/metrics-before.txt" "$T/metrics-after.txt" >"$T/delta.json"
    python3 -c 'import json,sys; print(json.dumps({"server": json.load(open(sys.argv[1]))}))' "$T/delta.json" \
        >"$T/extra.json"
    record "$1" baseline "$2" push-curl "$T/run.json" "$T/extra.json"
}

# --- pull (the version pushed by modelctl in the same run; its model.bin is the pulled file)
pull_modelctl() { # SIZE RUN
    local out="$T/pull-out" bytes
    bytes="$(stat -c %s "$T/push-$1-$2/model.bin")"
    rm -rf "$out" "$out.partial"
    between_runs
    mark
    # --split-read: the process has read the file's size from the socket = the end of the download.
    "${BENCHUTIL[@]}" run --out "$T/run.json" --split-read "$bytes" -- \
        "$MODELCTL" pull "bench-$1-$2:1" -o "$out" -q -O json >"$T/pull-$1-$2.json" \
        || die "modelctl pull failed (run $2, $1)"
    cmp -s "$out/model.bin" "$T/push-$1-$2/model.bin" || die "pulled model.bin differs from the pushed one"
    python3 - "$T/pull-$1-$2.json" "$bytes" >"$T/extra.json" <<'PY' || die "unexpected pull output"
import json, sys
pull, size = json.load(open(sys.argv[1])), int(sys.argv[2])
assert pull["manifest_checked"] is True and pull["received_bytes"] >= size, pull
print(json.dumps({"pull": pull}))
PY
    record "$1" modelctl "$2" pull "$T/run.json" "$T/extra.json"
    rm -rf "$out"
}

pull_baseline() { # SIZE RUN
    local out="$T/curl-pull.bin" expected
    # The digest the registry holds for model.bin (from the version's file list).
    expected="$(curl -sS --max-time 30 -f "${CURL_AUTH[@]}" "$URL/api/v1/models/bench-$1-$2/versions/1" | python3 -c '
import json, sys
print(next(f["digest"] for f in json.load(sys.stdin)["files"] if f["path"] == "model.bin").split(":", 1)[1])')" \
        || die "cannot read the digest of model.bin of bench-$1-$2:1"
    rm -f "$out"
    between_runs
    mark
    "${BENCHUTIL[@]}" run --out "$T/run.json" -- curl -sS --max-time 900 -f "${CURL_AUTH[@]}" -o "$out" \
        "$URL/api/v1/models/bench-$1-$2/versions/1/files/model.bin" || die "curl -o failed (run $2, $1)"
    record "$1" baseline "$2" pull-curl "$T/run.json"
    hash_baseline "$1" "$2" pull "$out"
    [ "$HASH_HEX" = "$expected" ] || die "curl's download hashes to $HASH_HEX, expected $expected"
    rm -f "$out"
}

for size in large small; do
    mib="$([ "$size" = large ] && echo "$SIZE_MIB" || echo "$SMALL_MIB")"
    for i in $(seq 1 "$RUNS"); do
        log "run $i, $size ($mib MiB): writing fresh random files for modelctl and for curl"
        mkdir -p "$T/push-$size-$i"
        make_random "$T/push-$size-$i/model.bin" "$mib"
        make_random "$T/curl-$size-$i.bin" "$mib"
        # Alternate which side goes first.
        if [ $((i % 2)) = 1 ]; then
            push_modelctl "$size" "$i"
            push_baseline "$size" "$i"
        else
            push_baseline "$size" "$i"
            push_modelctl "$size" "$i"
        fi
        rm -f "$T/curl-$size-$i.bin"
        # Warm the daemon's copy (untimed) so that both pulls read it from the page cache.
        curl -sS --max-time 900 -f "${CURL_AUTH[@]}" -o /dev/null \
            "$URL/api/v1/models/bench-$size-$i/versions/1/files/model.bin" \
            || die "cannot read model.bin of bench-$size-$i"
        if [ $((i % 2)) = 1 ]; then
            pull_modelctl "$size" "$i"
            pull_baseline "$size" "$i"
        else
            pull_baseline "$size" "$i"
            pull_modelctl "$size" "$i"
        fi
        rm -rf "$T/push-$size-$i/model.bin"
    done
done

# --- Diagnostics: the upload protocol without the CLI. An ideal client (Python http.client, sendfile, one
# --- keep-alive connection) uploads through a session with several chunk sizes; curl -T of the same size alongside.
: >"$T/diag.tsv"
if [ -n "$CHUNK_SIZES" ]; then
    for i in $(seq 1 "$RUNS"); do
        for chunk in $CHUNK_SIZES curl; do
            make_random "$T/diag.bin" "$SIZE_MIB"
            hex="$(sha256sum "$T/diag.bin" | cut -d' ' -f1)"
            between_runs
            scrape "$T/metrics-before.txt"
            if [ "$chunk" = curl ]; then
                "${BENCHUTIL[@]}" run --out "$T/run.json" -- curl -sS --max-time 900 "${CURL_AUTH[@]}" -o /dev/null \
                    -w '%{http_code}\n' -T "$T/diag.bin" "$URL/api/v1/blobs/sha256:$hex" >"$T/curl.out" \
                    || die "curl -T failed"
                [ "$(cat "$T/curl.out")" = 201 ] || die "curl -T answered $(cat "$T/curl.out")"
                echo "{\"wall_s\": $(field "$T/run.json" wall_s)}" >"$T/diag.json"
            else
                "${BENCHUTIL[@]}" session-upload "$URL" "$T/diag.bin" "sha256:$hex" "$chunk" >"$T/diag.json" \
                    || die "session upload with $chunk MiB chunks failed"
            fi
            scrape "$T/metrics-after.txt"
            "${BENCHUTIL[@]}" metrics-delta "$T/metrics-before.txt" "$T/metrics-after.txt" >"$T/delta.json"
            printf '%s\t%s\t%s\t%s\n' "$chunk" "$i" "$(cat "$T/diag.json")" "$(cat "$T/delta.json")" >>"$T/diag.tsv"
            log "diagnostics run $i, $([ "$chunk" = curl ] && echo "curl -T" || echo "session, $chunk MiB chunks"):" \
                "$(field "$T/diag.json" wall_s) s"
            rm -f "$T/diag.bin"
        done
    done
fi

# --- Results
export RUNS_TSV RUNS SIZE_MIB SMALL_MIB SHA_MBS FSYNC_MBS BUSY_BEFORE STARTUP_RUNS T
export OPENSSL_VERSION="$([ -n "$OPENSSL" ] && "$OPENSSL" version || echo none)"
export SHA256SUM_VERSION="$(sha256sum --version | head -1)" CURL_VERSION="$(curl --version | head -1)"
export HYPERFINE_VERSION="$([ -n "$HYPERFINE" ] && "$HYPERFINE" --version || echo none)"
export MODELCTL_VERSION="$(head -1 "$T/modelctl-version.txt")"
python3 - "$RESULTS_DIR/cli-transfer.json" <<'PY'
import json, os, statistics, sys
T = os.environ["T"]
rows = []
with open(os.environ["RUNS_TSV"]) as handle:
    for line in handle:
        size, side, run, step, record, extra, daemon = line.rstrip("\n").split("\t")
        row = {"size": size, "side": side, "run": int(run), "step": step, **json.loads(record),
               "extra": json.loads(extra), "daemon_cpu": json.loads(daemon)}
        # other_user_cores counts the daemon too: take its user time out.
        row["other_user_cores_excl_daemon"] = round(max(
            row["other_user_cores"] - row["daemon_cpu"]["user_s"] / max(row["wall_s"], 1e-3), 0.0), 3)
        rows.append(row)
def pick(size, side, step):
    return sorted((r for r in rows if r["size"] == size and r["side"] == side and r["step"] == step),
                  key=lambda r: r["run"])
med = lambda values: statistics.median(values) if values else None
def route_stats(runs, route):
    counts = [r["extra"]["server"]["routes"].get(route, {}).get("count", 0) for r in runs]
    seconds = [r["extra"]["server"]["routes"].get(route, {}).get("seconds", 0.0) for r in runs]
    return {"count": counts, "seconds": seconds}
def hash_tools(size, phase):
    tools = {}
    for tool in ("openssl", "sha256sum"):
        runs = pick(size, "baseline", f"{phase}-{tool}")
        if runs:
            tools[tool] = [r["wall_s"] for r in runs]
    return tools
def push(size):
    ours, curl = pick(size, "modelctl", "push"), pick(size, "baseline", "push-curl")
    tools = hash_tools(size, "push")
    fastest = min(tools, key=lambda t: statistics.median(tools[t]))
    totals = {t: [h + c["wall_s"] for h, c in zip(tools[t], curl)] for t in tools}
    hashes = [r.get("split_s") for r in ours]
    complete = all(h is not None for h in hashes)
    result = {
        "modelctl": {
            "median_s": med([r["wall_s"] for r in ours]),
            "runs_s": [r["wall_s"] for r in ours],
            "cpu_s": [r["cpu_s"] for r in ours],
            "user_s": [r["user_s"] for r in ours],
            "sys_s": [r["sys_s"] for r in ours],
            "maxrss_kib": [r["maxrss_kib"] for r in ours],
            # End of the hash pass: the moment the process had read as many bytes as the file holds.
            "hash_runs_s": hashes,
            "hash_median_s": med(hashes) if complete else None,
            "after_hash_runs_s": [r["wall_s"] - h for r, h in zip(ours, hashes)] if complete else None,
            "after_hash_median_s": med([r["wall_s"] - h for r, h in zip(ours, hashes)]) if complete else None,
            "requests": [r["extra"]["server"]["requests"] for r in ours],
            "routes": ours[-1]["extra"]["server"]["routes"],
            "server_patch": route_stats(ours, "PATCH /api/v1/uploads/{id}"),
            "server_finish": route_stats(ours, "PUT /api/v1/uploads/{id}"),
            "server_create": route_stats(ours, "POST /api/v1/uploads"),
            "bytes": ours[-1]["extra"]["push"]["bytes"],
        },
        "baseline": {
            "hash_tool": fastest,
            "median_s": med(totals[fastest]),
            "runs_s": totals[fastest],
            "curl_median_s": med([r["wall_s"] for r in curl]),
            "curl_runs_s": [r["wall_s"] for r in curl],
            "curl_server_put_s": [r["extra"]["server"]["routes"].get("PUT /api/v1/blobs/{digest}", {}).get("seconds")
                                  for r in curl],
            "hash_runs_s": tools,
            "hash_median_s": {t: med(v) for t, v in tools.items()},
            "totals_runs_s": totals,
            "totals_median_s": {t: med(v) for t, v in totals.items()},
        },
    }
    result["ratio"] = result["modelctl"]["median_s"] / result["baseline"]["median_s"]
    result["ratio_by_tool"] = {t: result["modelctl"]["median_s"] / med(v) for t, v in totals.items()}
    if complete:
        result["upload_ratio"] = result["modelctl"]["after_hash_median_s"] / result["baseline"]["curl_median_s"]
        result["hash_ratio"] = result["modelctl"]["hash_median_s"] / result["baseline"]["hash_median_s"][fastest]
    result["other_user_cores_max"] = max(r["other_user_cores_excl_daemon"] for r in rows if r["size"] == size)
    result["daemon_cpu_s"] = {"modelctl": [r["daemon_cpu"]["user_s"] + r["daemon_cpu"]["sys_s"] for r in ours],
                              "curl": [r["daemon_cpu"]["user_s"] + r["daemon_cpu"]["sys_s"] for r in curl]}
    return result
def pull(size):
    ours, curl = pick(size, "modelctl", "pull"), pick(size, "baseline", "pull-curl")
    tools = hash_tools(size, "pull")
    fastest = min(tools, key=lambda t: statistics.median(tools[t]))
    totals = {t: [h + c["wall_s"] for h, c in zip(tools[t], curl)] for t in tools}
    downloads = [r.get("split_s") for r in ours]
    complete = all(d is not None for d in downloads)
    result = {
        "modelctl": {
            "median_s": med([r["wall_s"] for r in ours]),
            "runs_s": [r["wall_s"] for r in ours],
            "cpu_s": [r["cpu_s"] for r in ours],
            "user_s": [r["user_s"] for r in ours],
            "sys_s": [r["sys_s"] for r in ours],
            "maxrss_kib": [r["maxrss_kib"] for r in ours],
            # End of the download: the process had read the file's size (from the socket).
            "download_runs_s": downloads,
            "download_median_s": med(downloads) if complete else None,
            "after_download_median_s": med([r["wall_s"] - d for r, d in zip(ours, downloads)]) if complete else None,
            "after_download_runs_s": [r["wall_s"] - d for r, d in zip(ours, downloads)] if complete else None,
        },
        "baseline": {
            "hash_tool": fastest,
            "median_s": med(totals[fastest]),
            "runs_s": totals[fastest],
            "curl_median_s": med([r["wall_s"] for r in curl]),
            "curl_runs_s": [r["wall_s"] for r in curl],
            "curl_maxrss_kib": [r["maxrss_kib"] for r in curl],
            "hash_runs_s": tools,
            "hash_median_s": {t: med(v) for t, v in tools.items()},
            "totals_runs_s": totals,
            "totals_median_s": {t: med(v) for t, v in totals.items()},
        },
    }
    result["ratio"] = result["modelctl"]["median_s"] / result["baseline"]["median_s"]
    result["ratio_by_tool"] = {t: result["modelctl"]["median_s"] / med(v) for t, v in totals.items()}
    if complete:
        result["download_ratio"] = result["modelctl"]["download_median_s"] / result["baseline"]["curl_median_s"]
    result["other_user_cores_max"] = max(r["other_user_cores_excl_daemon"] for r in ours + curl)
    result["daemon_cpu_s"] = {"modelctl": [r["daemon_cpu"]["user_s"] + r["daemon_cpu"]["sys_s"] for r in ours],
                              "curl": [r["daemon_cpu"]["user_s"] + r["daemon_cpu"]["sys_s"] for r in curl]}
    return result
def load(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}
hyperfine = {}
for entry in load(f"{T}/startup-hyperfine.json").get("results", []):
    times = sorted(entry["times"])
    # Named by the binary's file name: the results must not carry paths of the machine that ran them.
    command = " ".join(os.path.basename(word) if word.startswith("/") and word != "/bin/true" else word
                       for word in entry["command"].split(" "))
    hyperfine[command] = {"median_ms": entry["median"] * 1000, "mean_ms": entry["mean"] * 1000,
                                   "p90_ms": times[max(0, -(-9 * len(times) // 10) - 1)] * 1000,
                                   "min_ms": entry["min"] * 1000, "max_ms": entry["max"] * 1000}
diagnostics = []
if os.path.exists(f"{T}/diag.tsv"):
    with open(f"{T}/diag.tsv") as handle:
        for line in handle:
            chunk, run, record, delta = line.rstrip("\n").split("\t")
            diagnostics.append({"chunk": chunk, "run": int(run), **json.loads(record), "server": json.loads(delta)})
sweep = {}
for entry in diagnostics:
    sweep.setdefault(entry["chunk"], []).append(entry)
size_bytes = int(os.environ["SIZE_MIB"]) * 1048576
sweep_summary = {
    chunk: {"median_s": med([e["wall_s"] for e in entries]), "runs_s": [e["wall_s"] for e in entries],
            "median_mb_s": size_bytes / med([e["wall_s"] for e in entries]) / 1e6,
            "chunks": entries[0].get("chunks"),
            "server_patch_s": [e["server"]["routes"].get("PATCH /api/v1/uploads/{id}", {}).get("seconds")
                               for e in entries],
            "server_finish_s": [e["server"]["routes"].get("PUT /api/v1/uploads/{id}", {}).get("seconds")
                                for e in entries],
            "patch_median_s": [e.get("patch_median_s") for e in entries],
            "patch_max_s": [e.get("patch_max_s") for e in entries]}
    for chunk, entries in sweep.items()
}
result = {
    "runs": int(os.environ["RUNS"]),
    "size_mib": int(os.environ["SIZE_MIB"]),
    "small_size_mib": int(os.environ["SMALL_MIB"]),
    "target_ratio": 1.10,
    "startup_target_ms": 50.0,
    "push": push("large"),
    "pull": pull("large"),
    "small": {"push": push("small"), "pull": pull("small")},
    "rss": {
        "push_large_kib": max(r["maxrss_kib"] for r in pick("large", "modelctl", "push")),
        "push_small_kib": max(r["maxrss_kib"] for r in pick("small", "modelctl", "push")),
        "pull_large_kib": max(r["maxrss_kib"] for r in pick("large", "modelctl", "pull")),
        "pull_small_kib": max(r["maxrss_kib"] for r in pick("small", "modelctl", "pull")),
        "curl_push_large_kib": max(r["maxrss_kib"] for r in pick("large", "baseline", "push-curl")),
        "curl_pull_large_kib": max(r["maxrss_kib"] for r in pick("large", "baseline", "pull-curl")),
        "flat_limit_kib": 8 * 1024,
    },
    "startup": {
        "runs": int(os.environ["STARTUP_RUNS"]),
        "modelctl": load(f"{T}/startup-modelctl.json"),
        "true": load(f"{T}/startup-true.json"),
        "hyperfine": hyperfine,
        "version_output": os.environ["MODELCTL_VERSION"],
    },
    "diagnostics": {"upload_sweep": sweep_summary, "raw": diagnostics},
    "busy_cores_before": float(os.environ["BUSY_BEFORE"]),
    "other_user_cores_max": max(r["other_user_cores_excl_daemon"] for r in rows),
    "context": {
        "sha256_one_core_mb_s": float(os.environ["SHA_MBS"]),
        "disk_write_fsync_mb_s": float(os.environ["FSYNC_MBS"]),
        "openssl": os.environ["OPENSSL_VERSION"],
        "sha256sum": os.environ["SHA256SUM_VERSION"],
        "curl": os.environ["CURL_VERSION"],
        "hyperfine": os.environ["HYPERFINE_VERSION"],
    },
    "raw": rows,
}
with open(sys.argv[1], "w") as handle:
    json.dump(result, handle, indent=2)
PY

{
    echo "== CLI transfer: push and pull of a ${SIZE_MIB} MiB random file vs hash + curl, start-up," \
        "median of $RUNS runs ($(date -u +%Y-%m-%dT%H:%M:%SZ)) =="
    machine_info | grep -v -E '^(nginx|wrk):'
    echo "tools: $OPENSSL_VERSION; $SHA256SUM_VERSION; hyperfine: $HYPERFINE_VERSION; modelctl: $MODELCTL_VERSION"
    python3 - "$RESULTS_DIR/cli-transfer.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
runs = lambda values: ", ".join(f"{v:.2f}" for v in values)
mib = lambda k: f"{k / 1024:6.1f} MiB"
target = c["target_ratio"]
def report_push(label, p):
    o, b = p["modelctl"], p["baseline"]
    tool = b["hash_tool"]
    print(f"{label}: modelctl {o['median_s']:6.2f} s [{runs(o['runs_s'])}]  {tool} + curl -T {b['median_s']:6.2f} s"
          f" [{runs(b['runs_s'])}]  ratio {p['ratio']:.2f}x")
    print(f"          {tool} {b['hash_median_s'][tool]:.2f} s [{runs(b['hash_runs_s'][tool])}]  curl -T"
          f" {b['curl_median_s']:.2f} s [{runs(b['curl_runs_s'])}]"
          + "".join(f"; with {t}: {v:.2f} s, ratio {p['ratio_by_tool'][t]:.2f}x"
                    for t, v in b["totals_median_s"].items() if t != tool))
    if o["hash_median_s"] is not None:
        print(f"          modelctl hash pass {o['hash_median_s']:.2f} s [{runs(o['hash_runs_s'])}]  upload + register"
              f" {o['after_hash_median_s']:.2f} s [{runs(o['after_hash_runs_s'])}]"
              f"  (vs curl -T: {p['upload_ratio']:.2f}x)")
    sp = o["server_patch"]
    print(f"          server: requests per push {o['requests']}; PATCH x{sp['count']} taking {runs(sp['seconds'])} s,"
          f" finish PUT {runs(o['server_finish']['seconds'])} s; curl's PUT {runs(b['curl_server_put_s'])} s")
    print(f"          CPU seconds modelctl {o['cpu_s']} (user {o['user_s']}, sys {o['sys_s']}); daemon during"
          f" modelctl {runs(p['daemon_cpu_s']['modelctl'])}, during curl {runs(p['daemon_cpu_s']['curl'])};"
          f" other processes (user mode), max {p['other_user_cores_max']} cores")
def report_pull(label, p):
    o, b = p["modelctl"], p["baseline"]
    tool = b["hash_tool"]
    print(f"{label}: modelctl {o['median_s']:6.2f} s [{runs(o['runs_s'])}]  curl -o + {tool} {b['median_s']:6.2f} s"
          f" [{runs(b['runs_s'])}]  ratio {p['ratio']:.2f}x")
    print(f"          curl -o {b['curl_median_s']:.2f} s [{runs(b['curl_runs_s'])}]  {tool}"
          f" {b['hash_median_s'][tool]:.2f} s [{runs(b['hash_runs_s'][tool])}]"
          + "".join(f"; with {t}: {v:.2f} s, ratio {p['ratio_by_tool'][t]:.2f}x"
                    for t, v in b["totals_median_s"].items() if t != tool))
    if o["download_median_s"] is not None:
        print(f"          modelctl download (hashing as it writes) {o['download_median_s']:.2f} s"
              f" [{runs(o['download_runs_s'])}] (vs curl -o: {p['download_ratio']:.2f}x)  verify + rename"
              f" {o['after_download_median_s']:.2f} s [{runs(o['after_download_runs_s'])}]")
    print(f"          CPU seconds modelctl {o['cpu_s']} (user {o['user_s']}, sys {o['sys_s']}); daemon during"
          f" modelctl {runs(p['daemon_cpu_s']['modelctl'])}, during curl {runs(p['daemon_cpu_s']['curl'])};"
          f" other processes (user mode), max {p['other_user_cores_max']} cores")
report_push(f"push {c['size_mib']} MiB", c["push"])
print(f"          target <= {target:.2f}x: {'met' if c['push']['ratio'] <= target else 'MISSED'}")
report_pull(f"pull {c['size_mib']} MiB", c["pull"])
print(f"          target <= {target:.2f}x: {'met' if c['pull']['ratio'] <= target else 'MISSED'}")
report_push(f"push {c['small_size_mib']} MiB (informational)", c["small"]["push"])
report_pull(f"pull {c['small_size_mib']} MiB (informational)", c["small"]["pull"])
s = c["startup"]
m, t = s["modelctl"], s["true"]
print(f"start-up modelctl --version ({s['runs']} runs): median {m['median_ms']:.1f} ms, p90 {m['p90_ms']:.1f} ms,"
      f" min {m['min_ms']:.1f} ms (target < {c['startup_target_ms']:.0f} ms: "
      f"{'met' if m['median_ms'] < c['startup_target_ms'] else 'MISSED'}); /bin/true the same way: median"
      f" {t['median_ms']:.1f} ms, p90 {t['p90_ms']:.1f} ms")
for command, h in s["hyperfine"].items():
    print(f"          hyperfine -N '{command}': median {h['median_ms']:.1f} ms, p90 {h['p90_ms']:.1f} ms,"
          f" min {h['min_ms']:.1f} ms")
r = c["rss"]
for kind in ("push", "pull"):
    small, large = r[f"{kind}_small_kib"], r[f"{kind}_large_kib"]
    print(f"peak RSS modelctl {kind}: {c['small_size_mib']} MiB {mib(small)}, {c['size_mib']} MiB {mib(large)},"
          f" difference {(large - small) / 1024:+.1f} MiB (flat, within +/- {r['flat_limit_kib'] // 1024} MiB: "
          f"{'met' if abs(large - small) <= r['flat_limit_kib'] else 'MISSED'})")
print(f"peak RSS curl: -T {mib(r['curl_push_large_kib'])}, -o {mib(r['curl_pull_large_kib'])}")
sweep = c["diagnostics"]["upload_sweep"]
if sweep:
    print(f"diagnostics, upload of {c['size_mib']} MiB without the CLI"
          " (ideal client: Python, sendfile, one connection):")
    for chunk, d in sweep.items():
        what = "curl -T (one PUT)" if chunk == "curl" else f"session, {chunk} MiB chunks ({d['chunks']} PATCH)"
        extra = "" if chunk == "curl" else (f"; server PATCH total {runs(d['server_patch_s'])} s,"
                                            f" finish {runs(d['server_finish_s'])} s")
        print(f"          {what}: {d['median_s']:.2f} s [{runs(d['runs_s'])}] = {d['median_mb_s']:.0f} MB/s{extra}")
print(f"machine: {c['busy_cores_before']} CPU cores busy with other processes before the run;"
      f" at most {c['other_user_cores_max']} during a timed command")
print(f"context: SHA-256 one core (OpenSSL) {c['context']['sha256_one_core_mb_s']:.0f} MB/s;"
      f" disk write+fsync {c['context']['disk_write_fsync_mb_s']:.0f} MB/s")
PY
} | tee "$RESULTS_DIR/cli-transfer.txt"
