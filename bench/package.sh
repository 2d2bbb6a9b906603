#!/usr/bin/env bash
# Packaging benchmark: `modelctl package … --sign-key` of a model directory holding one large weights file (release
# build) against the same two passes done by standard tools in the same run, `sha256sum FILES` followed by
# `tar --zstd -cf OUT -C DIR .`, plus modelctl's peak RSS at two model sizes (it should not grow with the size).
#
# Usage: bench/package.sh                  (results in bench/results/package.{json,txt})
# Environment:
#   BENCH_SIZE_MIB=1024        size of the weights file of the timed model
#   BENCH_SMALL_SIZE_MIB=256   size of the weights file of the second RSS measurement
#   BENCH_RUNS=3               runs of each measurement (the median is reported)
#   BENCH_DATA=normal          content of the weights file: normal (float32 values of N(0,1) written with numpy;
#                              falls back to random when numpy is missing), random (/dev/urandom), zeros
#   BENCH_TMPDIR=/tmp          where the temporary directory goes (needs 3 x (SIZE + SMALL_SIZE) MiB free)
#   MODELCTL_BIN=...           binary to measure (default .build-release/release/modelctl, built if missing)
#   BENCH_KEEP_TMP=1           keep the temporary directory
#   BENCH_WAIT_QUIET=N         wait up to N s for idle CPUs first, and up to 60 s before each run
#
# Informational second baseline, when openssl is installed: `openssl dgst -sha256` instead of sha256sum (coreutils
# 9.1's sha256sum uses its own portable C code; OpenSSL uses the CPU's SHA extensions, like modelctl's hashing).
#
# Both sides are measured with a warm page cache (every model file is read once with cat right before each timed
# command; dropping the cache needs root) and neither fsyncs its output; `sync` runs before each timed run so no
# run pays for the write-back of the previous one. zstd: libarchive's filter (modelctl) and the zstd CLI that GNU
# tar pipes through both use level 3 by default; ZSTD_CLEVEL and ZSTD_NBTHREADS are unset so the CLI keeps its
# defaults (level 3, -T1: one compression worker thread beside the I/O, XXH64 frame checksum).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZE_MIB="${BENCH_SIZE_MIB:-1024}"
SMALL_MIB="${BENCH_SMALL_SIZE_MIB:-256}"
RUNS="${BENCH_RUNS:-3}"
DATA="${BENCH_DATA:-normal}"
case "$DATA" in normal | random | zeros) ;; *) die "BENCH_DATA=$DATA: expected normal, random or zeros" ;; esac
unset ZSTD_CLEVEL ZSTD_NBTHREADS

need_cmd python3 python3
need_cmd sha256sum coreutils
need_cmd tar tar
need_cmd zstd zstd
need_cmd /usr/bin/time time
OPENSSL="$(command -v openssl || true)"
ensure_modelctl
"$MODELCTL" package --help >/dev/null 2>&1 \
    || die "$MODELCTL has no 'package' command: it is older than the packager; rebuild it with BENCH_REBUILD=1"
setup_tmp
mkdir -p "$RESULTS_DIR"
T="$BENCH_TMP"
RUNS_TSV="$T/runs.tsv"
: >"$RUNS_TSV"
log "temporary directory $T"

# --- Test data: weights file + a labels file + a config, like a small classifier's directory.
# make_weights FILE MIB SEED: sets DATA_USED to what was actually written.
make_weights() {
    case "$DATA" in
        normal)
            if "${BENCHUTIL[@]}" gen-normal "$1" "$2" "$3"; then
                DATA_USED=normal
                return
            fi
            log "numpy is not available: writing random bytes from /dev/urandom instead"
            head -c "$(($2 * 1048576))" /dev/urandom >"$1"
            DATA_USED=random
            ;;
        random)
            head -c "$(($2 * 1048576))" /dev/urandom >"$1"
            DATA_USED=random
            ;;
        zeros)
            head -c "$(($2 * 1048576))" /dev/zero >"$1"
            DATA_USED=zeros
            ;;
    esac
}
make_model() { # DIR MIB SEED
    mkdir -p "$1"
    make_weights "$1/model.bin" "$2" "$3"
    seq -f 'class_%g' 0 999 >"$1/labels.txt"
    cat >"$1/config.json" <<'EOF'
{"architecture": "resnet50", "input": {"shape": [1, 3, 224, 224], "dtype": "float32"}, "num_classes": 1000}
EOF
}
log "creating the models: ${SIZE_MIB} MiB and ${SMALL_MIB} MiB of $DATA weights"
make_model "$T/model-large" "$SIZE_MIB" 1
make_model "$T/model-small" "$SMALL_MIB" 2
log "weights content: $DATA_USED"
model_bytes() { du -b --apparent-size -s "$1" | cut -f1; }
LARGE_BYTES="$(model_bytes "$T/model-large")"
SMALL_BYTES="$(model_bytes "$T/model-small")"

"$MODELCTL" keys generate --out "$T/key.pem" -q
PUBKEY="$T/key.pub.pem"
[ -f "$PUBKEY" ] || die "modelctl keys generate did not write a public key beside $T/key.pem"
quiet_check

# --- Context: single-core SHA-256 of OpenSSL (Python hashlib) over the large weights file.
log "measuring single-core SHA-256 rate (OpenSSL via Python hashlib)"
cat "$T/model-large/model.bin" >/dev/null
SHA_MBS="$("${BENCHUTIL[@]}" hash-rate "$T/model-large/model.bin")"
log "SHA-256 (OpenSSL, 1 core): $SHA_MBS MB/s"

between_runs() {
    sync
    if [ "${BENCH_WAIT_QUIET:-0}" != 0 ]; then
        "${BENCHUTIL[@]}" wait-quiet 60 "${BENCH_QUIET_THRESHOLD:-0.2}" >/dev/null
    else
        sleep 1
    fi
}

warm() { # DIR: read every model file once so both sides start from the page cache
    find "$1" -type f -exec cat {} + >/dev/null
}

field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# record SIZE TARGET RUN STEP JSON_FILE OUTPUT_FILE
record() {
    local bytes=0
    [ -n "$6" ] && [ -f "$6" ] && bytes="$(stat -c %s "$6")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(cat "$5")" "$bytes" >>"$RUNS_TSV"
    log "$1 $2 $4 run $3: $(field "$5" wall_s) s, peak RSS $(field "$5" maxrss_kib) KiB, CPU $(field "$5" cpu_s) s" \
        "(other processes: $(field "$5" other_user_cores) cores)"
}

run_modelctl() { # SIZE RUN
    local dir="$T/model-$1" out="$T/out-modelctl-$1.tar.zst" bytes
    bytes="$([ "$1" = large ] && echo "$LARGE_BYTES" || echo "$SMALL_BYTES")"
    rm -f "$out"
    between_runs
    warm "$dir"
    "${BENCHUTIL[@]}" run --out "$T/run.json" --split-read "$bytes" -- \
        "$MODELCTL" package "$dir" --model bench --version 1 --sign-key "$T/key.pem" -o "$out" -q \
        || die "modelctl package failed (run $2, $1)"
    record "$1" modelctl "$2" package "$T/run.json" "$out"
    # Outside the timing: the bundle must verify against the public key.
    "$MODELCTL" verify "$out" --key "$PUBKEY" -q || die "modelctl verify rejected the bundle (run $2, $1)"
}

run_baseline() { # SIZE RUN
    local dir="$T/model-$1" out="$T/out-tar-$1.tar.zst"
    rm -f "$out"
    between_runs
    warm "$dir"
    (cd "$dir" && "${BENCHUTIL[@]}" run --out "$T/run.json" -- sha256sum labels.txt config.json model.bin \
        >"$T/sha256sum-$1.txt") || die "sha256sum failed"
    record "$1" baseline "$2" sha256sum "$T/run.json" ""
    "${BENCHUTIL[@]}" run --out "$T/run.json" -- tar --zstd -cf "$out" -C "$dir" . || die "tar --zstd failed"
    record "$1" baseline "$2" tar "$T/run.json" "$out"
    # Informational: coreutils' sha256sum has no SHA-NI code; OpenSSL's SHA-256 is what a faster tool would use.
    if [ -n "$OPENSSL" ]; then
        (cd "$dir" && "${BENCHUTIL[@]}" run --out "$T/run.json" -- "$OPENSSL" dgst -sha256 labels.txt config.json \
            model.bin >/dev/null) || die "openssl dgst failed"
        record "$1" baseline "$2" openssl "$T/run.json" ""
    fi
}

for size in large small; do
    for i in $(seq 1 "$RUNS"); do
        # Alternate which side goes first.
        if [ $((i % 2)) = 1 ]; then
            run_modelctl "$size" "$i"
            run_baseline "$size" "$i"
        else
            run_baseline "$size" "$i"
            run_modelctl "$size" "$i"
        fi
    done
done

# Cross-check once: the manifest's digests are what sha256sum printed.
tar --zstd -xOf "$T/out-modelctl-large.tar.zst" manifest.json >"$T/manifest.json"
python3 - "$T/manifest.json" "$T/sha256sum-large.txt" <<'PY' || die "the manifest's digests differ from sha256sum's"
import json, sys
manifest = {f["path"]: f["sha256"] for f in json.load(open(sys.argv[1]))["files"]}
for line in open(sys.argv[2]):
    digest, name = line.split()
    assert manifest[name.lstrip("*")] == digest, name
PY
log "bundles verify; the manifest's digests match sha256sum"

# --- Results
export RUNS_TSV RUNS SIZE_MIB SMALL_MIB DATA DATA_USED SHA_MBS BUSY_BEFORE LARGE_BYTES SMALL_BYTES
export ZSTD_VERSION="$(zstd --version | head -1)" TAR_VERSION="$(tar --version | head -1)"
export LIBARCHIVE_VERSION="$(dpkg-query -W -f '${Version}' libarchive13 2>/dev/null || echo unknown)"
export SHA256SUM_VERSION="$(sha256sum --version | head -1)"
export OPENSSL_VERSION="$([ -n "$OPENSSL" ] && "$OPENSSL" version || echo none)"
python3 - "$RESULTS_DIR/package.json" <<'PY'
import json, os, statistics, sys
rows = []
with open(os.environ["RUNS_TSV"]) as handle:
    for line in handle:
        size, target, run, step, record, out_bytes = line.rstrip("\n").split("\t")
        rows.append({"size": size, "target": target, "run": int(run), "step": step,
                     "out_bytes": int(out_bytes), **json.loads(record)})
def pick(size, target, step):
    return sorted((r for r in rows if r["size"] == size and r["target"] == target and r["step"] == step),
                  key=lambda r: r["run"])
def side(size):
    ours = pick(size, "modelctl", "package")
    sha = pick(size, "baseline", "sha256sum")
    tar = pick(size, "baseline", "tar")
    totals = [s["wall_s"] + t["wall_s"] for s, t in zip(sha, tar)]
    ossl = pick(size, "baseline", "openssl")
    hashes = [r["split_s"] for r in ours if r.get("split_s") is not None]
    result = {
        "modelctl": {
            "median_s": statistics.median(r["wall_s"] for r in ours),
            "runs_s": [r["wall_s"] for r in ours],
            "cpu_s": [r["cpu_s"] for r in ours],
            "user_s": [r["user_s"] for r in ours],
            "sys_s": [r["sys_s"] for r in ours],
            "maxrss_kib": [r["maxrss_kib"] for r in ours],
            # End of the hash pass: the moment the process had read as many bytes as the model holds.
            "hash_runs_s": [r.get("split_s") for r in ours],
            "hash_median_s": statistics.median(hashes) if len(hashes) == len(ours) else None,
            "write_median_s": (statistics.median(r["wall_s"] - r["split_s"] for r in ours)
                               if len(hashes) == len(ours) else None),
            "bundle_bytes": ours[-1]["out_bytes"],
        },
        "baseline": {
            "median_s": statistics.median(totals),
            "runs_s": totals,
            "sha256sum_median_s": statistics.median(r["wall_s"] for r in sha),
            "sha256sum_runs_s": [r["wall_s"] for r in sha],
            "sha256sum_cpu_s": [r["cpu_s"] for r in sha],
            "tar_median_s": statistics.median(r["wall_s"] for r in tar),
            "tar_runs_s": [r["wall_s"] for r in tar],
            "tar_cpu_s": [r["cpu_s"] for r in tar],
            "tar_maxrss_kib": [r["maxrss_kib"] for r in tar],
            "sha256sum_maxrss_kib": [r["maxrss_kib"] for r in sha],
            "archive_bytes": tar[-1]["out_bytes"],
        },
        "baseline_openssl": None if not ossl else {
            "median_s": statistics.median(o["wall_s"] + t["wall_s"] for o, t in zip(ossl, tar)),
            "runs_s": [o["wall_s"] + t["wall_s"] for o, t in zip(ossl, tar)],
            "openssl_median_s": statistics.median(r["wall_s"] for r in ossl),
            "openssl_runs_s": [r["wall_s"] for r in ossl],
        },
        "other_user_cores_max": max(r["other_user_cores"] for r in rows if r["size"] == size),
    }
    result["ratio"] = result["modelctl"]["median_s"] / result["baseline"]["median_s"]
    if ossl:
        result["ratio_vs_openssl"] = result["modelctl"]["median_s"] / result["baseline_openssl"]["median_s"]
    return result
large, small = side("large"), side("small")
flat_limit_kib = 8 * 1024
result = {
    "runs": int(os.environ["RUNS"]),
    "size_mib": int(os.environ["SIZE_MIB"]),
    "small_size_mib": int(os.environ["SMALL_MIB"]),
    "data_requested": os.environ["DATA"],
    "data": os.environ["DATA_USED"],
    "model_bytes": int(os.environ["LARGE_BYTES"]),
    "small_model_bytes": int(os.environ["SMALL_BYTES"]),
    "modelctl": large["modelctl"],
    "baseline": large["baseline"],
    "ratio": large["ratio"],
    "baseline_openssl": large["baseline_openssl"],
    "ratio_vs_openssl": large.get("ratio_vs_openssl"),
    "target_ratio": 1.2,
    "other_user_cores_max": large["other_user_cores_max"],
    "small": small,
    "rss": {
        "large_kib": max(large["modelctl"]["maxrss_kib"]),
        "small_kib": max(small["modelctl"]["maxrss_kib"]),
        "tar_large_kib": max(large["baseline"]["tar_maxrss_kib"]),
        "tar_small_kib": max(small["baseline"]["tar_maxrss_kib"]),
        "flat_limit_kib": flat_limit_kib,
    },
    "busy_cores_before": float(os.environ["BUSY_BEFORE"]),
    "context": {
        "sha256_one_core_mb_s": float(os.environ["SHA_MBS"]),
        "zstd": os.environ["ZSTD_VERSION"],
        "tar": os.environ["TAR_VERSION"],
        "libarchive": os.environ["LIBARCHIVE_VERSION"],
        "sha256sum": os.environ["SHA256SUM_VERSION"],
        "openssl": os.environ["OPENSSL_VERSION"],
        "zstd_settings": "level 3 on both sides; libarchive: in-process, single-threaded, no frame checksum; "
                         "zstd CLI (tar --zstd): -T1 = one compression worker thread, XXH64 checksum",
    },
    "raw": rows,
}
with open(sys.argv[1], "w") as handle:
    json.dump(result, handle, indent=2)
PY

{
    echo "== packaging: ${SIZE_MIB} MiB model ($DATA_USED weights), package + sign vs sha256sum + tar --zstd," \
        "median of $RUNS runs ($(date -u +%Y-%m-%dT%H:%M:%SZ)) =="
    machine_info | grep -v -E '^(nginx|curl|wrk):'
    echo "tools: $ZSTD_VERSION; $TAR_VERSION; libarchive $LIBARCHIVE_VERSION; $SHA256SUM_VERSION; $OPENSSL_VERSION"
    python3 - "$RESULTS_DIR/package.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
mib = lambda k: f"{k / 1024:6.1f} MiB"
runs = lambda values: ", ".join(f"{v:.2f}" for v in values)
def report(label, s, size_bytes):
    o, b = s["modelctl"], s["baseline"]
    print(f"{label}: modelctl {o['median_s']:6.2f} s [{runs(o['runs_s'])}]  "
          f"sha256sum + tar --zstd {b['median_s']:6.2f} s [{runs(b['runs_s'])}]  ratio {s['ratio']:.2f}x")
    print(f"          sha256sum {b['sha256sum_median_s']:.2f} s [{runs(b['sha256sum_runs_s'])}]  "
          f"tar --zstd {b['tar_median_s']:.2f} s [{runs(b['tar_runs_s'])}]")
    if s.get("baseline_openssl"):
        q = s["baseline_openssl"]
        print(f"          informational: openssl dgst -sha256 {q['openssl_median_s']:.2f} s "
              f"[{runs(q['openssl_runs_s'])}]; openssl + tar --zstd {q['median_s']:.2f} s [{runs(q['runs_s'])}]"
              f"  ratio {s['ratio_vs_openssl']:.2f}x")
    if o["hash_median_s"] is not None:
        print(f"          modelctl hash pass {o['hash_median_s']:.2f} s [{runs(o['hash_runs_s'])}]  "
              f"archive pass {o['write_median_s']:.2f} s  (split where the process had read the model's size)")
    print(f"          CPU seconds: modelctl {o['cpu_s']} (user {o['user_s']}, sys {o['sys_s']})  "
          f"sha256sum {b['sha256sum_cpu_s']}  tar + zstd {b['tar_cpu_s']}")
    print(f"          output: bundle {o['bundle_bytes']:,} bytes, tar.zst {b['archive_bytes']:,} bytes, "
          f"model {size_bytes:,} bytes; other processes (user mode), max {s['other_user_cores_max']} cores")
report(f"package {p['size_mib']} MiB", p, p["model_bytes"])
print(f"          target <= {p['target_ratio']}x: {'met' if p['ratio'] <= p['target_ratio'] else 'MISSED'}")
report(f"package {p['small_size_mib']} MiB (informational)", p["small"], p["small_model_bytes"])
r = p["rss"]
delta = r["large_kib"] - r["small_kib"]
print(f"peak RSS modelctl package: {p['small_size_mib']} MiB model {mib(r['small_kib'])}, "
      f"{p['size_mib']} MiB model {mib(r['large_kib'])}, difference {delta / 1024:+.1f} MiB "
      f"(flat, within +/- {r['flat_limit_kib'] // 1024} MiB: "
      f"{'met' if abs(delta) <= r['flat_limit_kib'] else 'MISSED'})")
print(f"  all runs: {p['size_mib']} MiB {p['modelctl']['maxrss_kib']} KiB; "
      f"{p['small_size_mib']} MiB {p['small']['modelctl']['maxrss_kib']} KiB")
print(f"peak RSS tar + zstd (largest of the two processes): {p['small_size_mib']} MiB {mib(r['tar_small_kib'])}, "
      f"{p['size_mib']} MiB {mib(r['tar_large_kib'])}")
print(f"machine: {p['busy_cores_before']} CPU cores busy with other processes before the run")
print(f"context: SHA-256 one core (OpenSSL) {p['context']['sha256_one_core_mb_s']:.0f} MB/s; "
      f"zstd: {p['context']['zstd_settings']}")
PY
} | tee "$RESULTS_DIR/package.txt"
