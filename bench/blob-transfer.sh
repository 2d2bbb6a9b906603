#!/usr/bin/env bash
# Blob transfer benchmark: upload and download rate of a large random blob to/from modelctl (release build)
# against nginx serving/accepting the same file on the same machine in the same run, plus the daemon's memory
# (RSS) while it streams an upload.
#
# Usage: bench/blob-transfer.sh            (results in bench/results/blob-transfer.{json,txt})
# Environment:
#   BENCH_SIZE_MIB=1024        size of the large blob
#   BENCH_SMALL_SIZE_MIB=256   size of the blob of the second RSS measurement
#   BENCH_RUNS=3               runs of each measurement (the median rate is reported)
#   BENCH_TMPDIR=/tmp          where the temporary directory goes (needs ~6 x BENCH_SIZE_MIB free)
#   MODELCTL_BIN=...           binary to measure (default .build-release/release/modelctl, built if missing)
#   BENCH_KEEP_TMP=1           keep the temporary directory
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZE_MIB="${BENCH_SIZE_MIB:-1024}"
SMALL_MIB="${BENCH_SMALL_SIZE_MIB:-256}"
RUNS="${BENCH_RUNS:-3}"

need_cmd curl curl
need_cmd python3 python3
need_cmd sha256sum coreutils
find_nginx
ensure_modelctl
setup_tmp
mkdir -p "$RESULTS_DIR"
T="$BENCH_TMP"
RUNS_TSV="$T/runs.tsv"
: >"$RUNS_TSV"
log "temporary directory $T"

# --- Test data: one distinct random file per upload run (the daemon answers 200 without reading the body when
# --- a blob with that digest is already stored, so re-uploading the same file would measure nothing).
make_random() { # FILE MIB
    head -c "$(($2 * 1048576))" /dev/urandom >"$1"
}
declare -A DIGEST
for i in $(seq 1 "$RUNS"); do
    log "creating ${SIZE_MIB} MiB random file large-$i.bin and ${SMALL_MIB} MiB random file small-$i.bin"
    make_random "$T/large-$i.bin" "$SIZE_MIB"
    make_random "$T/small-$i.bin" "$SMALL_MIB"
done
for f in "$T"/large-*.bin "$T"/small-*.bin; do
    DIGEST[$(basename "$f")]="$(sha256sum "$f" | cut -d' ' -f1)"
done
LARGE_BYTES=$((SIZE_MIB * 1048576))
quiet_check

# --- Context: what one core hashes and what the disk writes with fsync (both bound a verified durable upload).
log "measuring single-core SHA-256 rate and disk write+fsync rate"
SHA_MBS="$("${BENCHUTIL[@]}" hash-rate "$T/large-1.bin")"
sync
FSYNC_MBS="$("${BENCHUTIL[@]}" write-fsync "$T/large-1.bin" "$T/fsync-test.bin")"
log "SHA-256 (OpenSSL via Python hashlib, 1 core): $SHA_MBS MB/s; write+fsync of ${SIZE_MIB} MiB: $FSYNC_MBS MB/s"

# --- nginx: PUT into a file with the dav module (nginx-light has it), GET the first large file with sendfile.
NGINX_PORT="$("${BENCHUTIL[@]}" free-port)"
mkdir -p "$T/nginx-root/upload" "$T/nginx-root/.body"
write_nginx_conf "$T/nginx" "$NGINX_PORT" "
        sendfile on;
        tcp_nopush on;
        location = / { return 200 'ok'; }
        location /upload/ {
            root $T/nginx-root;
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
            client_body_temp_path $T/nginx-root/.body;
        }
        location = /download/blob.bin {
            alias $T/large-1.bin;
        }"
if ! "$NGINX" -V 2>&1 | grep -q http_dav_module; then
    die "this nginx has no dav module (nginx -V); install nginx-light or nginx-full"
fi
start_nginx "$T/nginx" "$NGINX_PORT"
NGINX_WORKERS=($(nginx_worker_pids))
NGINX_PID_ARGS=()
for p in "${NGINX_WORKERS[@]}"; do NGINX_PID_ARGS+=(--pid "$p"); done

CURL_UP=(curl -sS --max-time 900 -o /dev/null -w '%{http_code} %{speed_upload} %{size_upload} %{time_total}\n')
CURL_DOWN=(curl -sS --max-time 900 -o /dev/null -w '%{http_code} %{speed_download} %{size_download}\n')

# record KIND TARGET RUN CURL_OUTPUT WATCH_JSON [FSYNC_SECONDS]
record() {
    local code rate size
    read -r code rate size _ <<<"$4"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$code" "$rate" "$size" "$5" "${6:--}" >>"$RUNS_TSV"
    log "$1 $2 run $3: HTTP $code, $(awk -v r="$rate" 'BEGIN {printf "%.1f MB/s", r / 1e6}'), $size bytes${6:+, then fsync ${6} s}" \
        "(other processes: $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["other_user_cores"])' "$5") cores)"
}

# between_runs: with BENCH_WAIT_QUIET set, waits (at most 60 s) for other processes to leave the CPUs idle.
between_runs() {
    sync
    if [ "${BENCH_WAIT_QUIET:-0}" != 0 ]; then
        "${BENCHUTIL[@]}" wait-quiet 60 "${BENCH_QUIET_THRESHOLD:-0.2}" >/dev/null
    else
        sleep 1
    fi
}

# nginx does not fsync what it stores; the fsync right after the upload gives a second, durable baseline
# (upload time + fsync time) that does the same disk work as modelctl, which fsyncs before answering.
upload_nginx() { # FILE RUN KIND
    rm -f "$T/nginx-root/upload/blob.bin"
    between_runs
    local out fsync_s
    out="$("${BENCHUTIL[@]}" watch "${NGINX_PID_ARGS[@]}" --out "$T/watch-$3-nginx-$2.json" -- \
        "${CURL_UP[@]}" -T "$1" "$NGINX_URL/upload/blob.bin")"
    fsync_s="$("${BENCHUTIL[@]}" fsync "$T/nginx-root/upload/blob.bin")"
    record "$3" nginx "$2" "$out" "$(cat "$T/watch-$3-nginx-$2.json")" "$fsync_s"
    case "${out%% *}" in 201 | 204) ;; *) die "nginx upload answered ${out%% *}" ;; esac
}

upload_modelctl() { # FILE RUN KIND
    local name digest out
    name="$(basename "$1")"
    digest="${DIGEST[$name]}"
    between_runs
    out="$("${BENCHUTIL[@]}" watch --pid "$MODELCTL_PID" --interval 0.1 --out "$T/watch-$3-modelctl-$2.json" -- \
        "${CURL_UP[@]}" "${CURL_AUTH[@]}" -T "$1" "$MODELCTL_URL/api/v1/blobs/sha256:$digest")"
    record "$3" modelctl "$2" "$out" "$(cat "$T/watch-$3-modelctl-$2.json")"
    [ "${out%% *}" = 201 ] || die "modelctl upload answered ${out%% *} (expected 201)"
}

# --- Phase 1: a fresh daemon takes the 256 MiB uploads (RSS growth for the smaller size).
# Authentication is on, as in production: each fresh daemon writes its admin token to DATA_DIR/admin-token and
# start_modelctl has curl send it (CURL_AUTH) to modelctl; nginx gets no Authorization header.
start_modelctl "$T/data-small" "$T/modelctl-small"
sleep 2
IDLE_SMALL_START="$(rss_kib "$MODELCTL_PID")"
"${BENCHUTIL[@]}" memory "$MODELCTL_PID" >"$T/memory-small-start.json"
for i in $(seq 1 "$RUNS"); do
    upload_modelctl "$T/small-$i.bin" "$i" upload-small
    upload_nginx "$T/small-$i.bin" "$i" upload-small
done
stop_pid "$MODELCTL_PID"
rm -rf "$T/data-small"

# --- Phase 2: a fresh daemon for the large uploads, the downloads and the idle RSS.
start_modelctl "$T/data" "$T/modelctl"
sleep 2
IDLE_START="$(rss_kib "$MODELCTL_PID")"
"${BENCHUTIL[@]}" memory "$MODELCTL_PID" >"$T/memory-start.json"
log "modelctl idle RSS after start: $IDLE_START KiB $(cat "$T/memory-start.json")"
for i in $(seq 1 "$RUNS"); do
    # Alternate which server goes first so neither always follows the other's disk write-back.
    if [ $((i % 2)) = 1 ]; then
        upload_modelctl "$T/large-$i.bin" "$i" upload
        upload_nginx "$T/large-$i.bin" "$i" upload
    else
        upload_nginx "$T/large-$i.bin" "$i" upload
        upload_modelctl "$T/large-$i.bin" "$i" upload
    fi
done
rm -f "$T/nginx-root/upload/blob.bin"
sync

# Both servers send large-1.bin: modelctl from its blob store, nginx from the original file; both are in the page
# cache (written or read moments ago), so this compares the servers, not the disk.
for i in $(seq 1 "$RUNS"); do
    for target in modelctl nginx; do
        between_runs
        if [ "$target" = modelctl ]; then
            out="$("${BENCHUTIL[@]}" watch --pid "$MODELCTL_PID" --out "$T/watch-download-modelctl-$i.json" -- \
                "${CURL_DOWN[@]}" "${CURL_AUTH[@]}" "$MODELCTL_URL/api/v1/blobs/sha256:${DIGEST[large-1.bin]}")"
        else
            out="$("${BENCHUTIL[@]}" watch "${NGINX_PID_ARGS[@]}" --out "$T/watch-download-nginx-$i.json" -- \
                "${CURL_DOWN[@]}" "$NGINX_URL/download/blob.bin")"
        fi
        record download "$target" "$i" "$out" "$(cat "$T/watch-download-$target-$i.json")"
        read -r code _ size <<<"$out"
        [ "$code" = 200 ] && [ "$size" = "$LARGE_BYTES" ] || die "$target download: HTTP $code, $size bytes"
    done
done
sleep 5
IDLE_END="$(rss_kib "$MODELCTL_PID")"
"${BENCHUTIL[@]}" memory "$MODELCTL_PID" >"$T/memory-end.json"
log "modelctl idle RSS after the benchmark: $IDLE_END KiB $(cat "$T/memory-end.json")"

# --- Results
export T RUNS_TSV RUNS SIZE_MIB SMALL_MIB IDLE_START IDLE_END IDLE_SMALL_START SHA_MBS FSYNC_MBS BUSY_BEFORE
python3 - "$RESULTS_DIR/blob-transfer.json" <<'PY'
import json, os, statistics, sys
rows = []
with open(os.environ["RUNS_TSV"]) as handle:
    for line in handle:
        kind, target, run, code, rate, size, watch, fsync_s = line.rstrip("\n").split("\t")
        row = {"kind": kind, "target": target, "run": int(run), "http": int(code),
               "bytes_per_s": float(rate), "bytes": int(size), "watch": json.loads(watch)}
        if fsync_s != "-":
            row["fsync_s"] = float(fsync_s)
            row["durable_bytes_per_s"] = row["bytes"] / (row["bytes"] / row["bytes_per_s"] + row["fsync_s"])
        rows.append(row)
def pick(kind, target):
    return [r for r in rows if r["kind"] == kind and r["target"] == target]
def compare(kind):
    m = statistics.median(r["bytes_per_s"] for r in pick(kind, "modelctl"))
    n = statistics.median(r["bytes_per_s"] for r in pick(kind, "nginx"))
    return {"modelctl_median_bps": m, "nginx_median_bps": n, "ratio": m / n,
            "modelctl_runs_bps": [r["bytes_per_s"] for r in pick(kind, "modelctl")],
            "nginx_runs_bps": [r["bytes_per_s"] for r in pick(kind, "nginx")],
            "modelctl_cpu_cores_used": [r["watch"]["cpu_cores_used"] for r in pick(kind, "modelctl")],
            "nginx_cpu_cores_used": [r["watch"]["cpu_cores_used"] for r in pick(kind, "nginx")],
            "client_cpu_cores_used": [r["watch"]["client_cpu_cores_used"] for r in pick(kind, "modelctl")],
            "other_user_cores_max": max(r["watch"]["other_user_cores"] for r in rows if r["kind"] == kind)}
def compare_upload(kind):
    result = compare(kind)
    durable = statistics.median(r["durable_bytes_per_s"] for r in pick(kind, "nginx"))
    result.update({"nginx_fsync_median_bps": durable, "ratio_vs_nginx_fsync": result["modelctl_median_bps"] / durable,
                   "nginx_fsync_runs_bps": [r["durable_bytes_per_s"] for r in pick(kind, "nginx")],
                   "nginx_fsync_s": [r["fsync_s"] for r in pick(kind, "nginx")]})
    return result
def rss(kind):
    runs = pick(kind, "modelctl")
    worst = max(runs, key=lambda r: r["watch"]["rss_growth_kib"])
    return {"growth_kib": worst["watch"]["rss_growth_kib"], "baseline_kib": worst["watch"]["rss_baseline_kib"],
            "peak_kib": worst["watch"]["rss_peak_kib"],
            "runs": [{k: r["watch"][k] for k in ("rss_baseline_kib", "rss_peak_kib", "rss_end_kib",
                                                  "rss_growth_kib", "rss_samples")} for r in runs]}
result = {
    "runs": int(os.environ["RUNS"]),
    "size_mib": int(os.environ["SIZE_MIB"]),
    "small_size_mib": int(os.environ["SMALL_MIB"]),
    "upload": compare_upload("upload"),
    "download": compare("download"),
    "upload_small": compare_upload("upload-small"),
    "rss_upload_large": rss("upload"),
    "rss_upload_small": rss("upload-small"),
    "rss_download": rss("download"),
    "idle_rss_start_kib": int(os.environ["IDLE_START"]),
    "idle_rss_end_kib": int(os.environ["IDLE_END"]),
    "idle_rss_start_small_daemon_kib": int(os.environ["IDLE_SMALL_START"]),
    "memory_start": json.load(open(os.environ["T"] + "/memory-start.json")),
    "memory_end": json.load(open(os.environ["T"] + "/memory-end.json")),
    "memory_start_small_daemon": json.load(open(os.environ["T"] + "/memory-small-start.json")),
    "busy_cores_before": float(os.environ["BUSY_BEFORE"]),
    "context": {"sha256_one_core_mb_s": float(os.environ["SHA_MBS"]),
                "disk_write_fsync_mb_s": float(os.environ["FSYNC_MBS"])},
    "raw": rows,
}
with open(sys.argv[1], "w") as handle:
    json.dump(result, handle, indent=2)
PY

{
    echo "== blob transfer: ${SIZE_MIB} MiB random blob, median of $RUNS runs ($(date -u +%Y-%m-%dT%H:%M:%SZ)) =="
    machine_info
    python3 - "$RESULTS_DIR/blob-transfer.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
mb = lambda v: f"{v / 1e6:7.1f} MB/s"
mib = lambda k: f"{k / 1024:6.1f} MiB"
for key, label, target in (("upload", "upload  ", 0.70), ("download", "download", 0.50)):
    c = t[key]
    runs_m = ", ".join(f"{v / 1e6:.0f}" for v in c["modelctl_runs_bps"])
    runs_n = ", ".join(f"{v / 1e6:.0f}" for v in c["nginx_runs_bps"])
    print(f"{label}: modelctl {mb(c['modelctl_median_bps'])} [{runs_m}]  nginx {mb(c['nginx_median_bps'])} [{runs_n}]"
          f"  ratio {c['ratio']:.0%} (target >= {target:.0%}: {'met' if c['ratio'] >= target else 'MISSED'})")
    print(f"          CPU cores used: modelctl {c['modelctl_cpu_cores_used']}  nginx workers {c['nginx_cpu_cores_used']}"
          f"  curl (modelctl runs) {c['client_cpu_cores_used']}  other processes (user mode), max {c['other_user_cores_max']}")
    if "nginx_fsync_median_bps" in c:
        runs_d = ", ".join(f"{v / 1e6:.0f}" for v in c["nginx_fsync_runs_bps"])
        print(f"          nginx + fsync of the stored file (durable, like modelctl): {mb(c['nginx_fsync_median_bps'])}"
              f" [{runs_d}]  ratio {c['ratio_vs_nginx_fsync']:.0%} (informational)")
c = t["upload_small"]
print(f"upload {t['small_size_mib']} MiB: modelctl {mb(c['modelctl_median_bps'])}  nginx {mb(c['nginx_median_bps'])}"
      f"  ratio {c['ratio']:.0%}; nginx + fsync {mb(c['nginx_fsync_median_bps'])} ratio {c['ratio_vs_nginx_fsync']:.0%}"
      " (informational)")
for key, size in (("rss_upload_large", t["size_mib"]), ("rss_upload_small", t["small_size_mib"])):
    r = t[key]
    runs = "; ".join(f"base {mib(x['rss_baseline_kib'])} peak {mib(x['rss_peak_kib'])} (+{x['rss_growth_kib'] / 1024:.1f})"
                     for x in r["runs"])
    print(f"RSS during {size} MiB upload: worst growth {mib(r['growth_kib'])} "
          f"(target < 64 MiB: {'met' if r['growth_kib'] < 65536 else 'MISSED'}); runs: {runs}")
r = t["rss_download"]
print(f"RSS during {t['size_mib']} MiB download (informational): worst growth {mib(r['growth_kib'])} "
      f"(base {mib(r['baseline_kib'])}, peak {mib(r['peak_kib'])})")
for key, label in (("idle_rss_start_kib", "after start"), ("idle_rss_end_kib", "after benchmark")):
    k = t[key]
    print(f"idle RSS {label}: {mib(k)} = {k * 1024 / 1e6:.1f} MB (target < 50 MB: {'met' if k * 1024 < 50e6 else 'MISSED'})")
for key, label in (("memory_start", "after start"), ("memory_end", "after benchmark")):
    m = t[key]
    print(f"  {label}: anonymous {mib(m['RssAnon'])}, file-backed (binary, libraries) {mib(m['RssFile'])},"
          f" threads {m['Threads']}, high-water mark {mib(m['VmHWM'])}")
ctx = t["context"]
print(f"machine: {t['busy_cores_before']} CPU cores busy with other processes before the run")
print(f"context: SHA-256 one core {ctx['sha256_one_core_mb_s']:.0f} MB/s; disk write+fsync {ctx['disk_write_fsync_mb_s']:.0f} MB/s")
PY
} | tee "$RESULTS_DIR/blob-transfer.txt"
