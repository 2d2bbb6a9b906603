#!/usr/bin/env bash
# MLflow-compatible API benchmark: the same registry requests (MLflow REST API 2.0, JSON) against modelctl (release
# build) and against a real `mlflow server` (PyPI mlflow, pinned below; SQLite backend; loopback; its default worker
# settings), in the same run, on the same data:
#   alias          GET  /api/2.0/mlflow/registered-models/alias?name=resnet&alias=champion
#   get            GET  /api/2.0/mlflow/model-versions/get?name=resnet&version=7
#   search         GET  /api/2.0/mlflow/model-versions/search?filter=name='resnet'&max_results=10
#   search-models  GET  /api/2.0/mlflow/registered-models/search?filter=name LIKE 'model-%'&max_results=10
#   create         POST /api/2.0/mlflow/model-versions/create (JSON body; every request creates a new version)
# Requests per second and p99 under wrk (2 threads, 16 connections, 15 s each), the ratio modelctl/MLflow, and the
# targets: >= 50x MLflow's req/s on reads, >= 20x on writes.
#
# Both servers are seeded through the same HTTP calls (bench/mlflow/mlflow_api.py seed): a run in experiment 0 with
# its model artifacts uploaded through /api/2.0/mlflow-artifacts, the registered model `resnet` with 20 versions
# (source mlflow-artifacts:/0/<run>/artifacts/model), tags, aliases champion -> 7 and challenger -> 20, 50 other
# registered models with one version each, and the empty model `resnet-writes` that the write run fills. Before
# measuring, every request must answer 200 on both servers with the expected content; the answers of both servers are
# compared field by field and the differences logged (and kept in the JSON). After the write run, the versions
# created on each server are counted: they must match wrk's request count (plus at most one request per connection
# still in flight when wrk stopped), with no gap and no duplicate. Any non-2xx answer or socket error under load fails
# the run (after the results are written).
#
# Authentication: modelctl runs with authentication on (its default) and every request carries its admin token
# (Authorization: Bearer, from bench/lib.sh). MLflow runs without authentication (its default); wrk sends it the very
# same request bytes, token header included, which MLflow ignores.
#
# The MLflow server is installed with pip into its own virtual environment, bench/mlflow/.venv (git-ignored), on the
# first run. Its telemetry is switched off (MLFLOW_DISABLE_TELEMETRY, DO_NOT_TRACK): nothing leaves the machine.
#
# Usage: bench/mlflow-compat.sh           (results in bench/results/mlflow-compat.{json,txt})
# Environment:
#   BENCH_WRK_THREADS=2 BENCH_WRK_CONNECTIONS=16 BENCH_WRK_DURATION=15s
#   BENCH_WRK_TIMEOUT=30s   wrk's request timeout (its default, 2 s, would drop MLflow's slowest answers from p99)
#   BENCH_MLFLOW_MODELS=50 BENCH_MLFLOW_VERSIONS=20   the seed data
#   BENCH_MLFLOW_VENV=...   virtual environment of the MLflow server (default bench/mlflow/.venv)
#   BENCH_MLFLOW_ONLY=1     measure the MLflow server alone (no modelctl, no ratios): for developing the script
#   MODELCTL_BIN=...        binary to measure (default .build-release/release/modelctl, built if missing;
#                           BENCH_REBUILD=1 rebuilds it)
#   BENCH_WAIT_QUIET=600    wait for an idle machine first, and repeat wrk runs disturbed by other processes
#   BENCH_KEEP_TMP=1        keep the temporary directory (server logs, every wrk output)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

THREADS="${BENCH_WRK_THREADS:-2}"
CONNECTIONS="${BENCH_WRK_CONNECTIONS:-16}"
DURATION="${BENCH_WRK_DURATION:-15s}"
WRK_TIMEOUT="${BENCH_WRK_TIMEOUT:-30s}"
MODELS="${BENCH_MLFLOW_MODELS:-50}"
VERSIONS="${BENCH_MLFLOW_VERSIONS:-20}"
MLFLOW_ONLY="${BENCH_MLFLOW_ONLY:-0}"
MLFLOW_VERSION=3.17.2
MLFLOW_VENV="${BENCH_MLFLOW_VENV:-$BENCH_DIR/mlflow/.venv}"
MLFLOW_API=(python3 "$BENCH_DIR/mlflow/mlflow_api.py")
WRK_LUA="$BENCH_DIR/mlflow/request.lua"
READ_TARGET=50
WRITE_TARGET=20

need_cmd curl curl
need_cmd wrk wrk
need_cmd python3 python3

# ensure_mlflow: the pinned mlflow in its own virtual environment (created and installed when missing or different).
ensure_mlflow() {
    local have=""
    [ -x "$MLFLOW_VENV/bin/mlflow" ] && have="$("$MLFLOW_VENV/bin/python" -c \
        'import importlib.metadata as m; print(m.version("mlflow"))' 2>/dev/null || true)"
    [ "$have" = "$MLFLOW_VERSION" ] && return 0
    log "installing mlflow==$MLFLOW_VERSION into $MLFLOW_VENV (pip; takes a few minutes)"
    if [ ! -x "$MLFLOW_VENV/bin/python" ]; then
        python3 -m venv "$MLFLOW_VENV" >&2 || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    fi
    "$MLFLOW_VENV/bin/python" -m pip install -q --disable-pip-version-check "mlflow==$MLFLOW_VERSION" >&2 \
        || die "pip install mlflow==$MLFLOW_VERSION failed"
    "$MLFLOW_VENV/bin/mlflow" --version >&2 || die "mlflow does not start from $MLFLOW_VENV"
}

ensure_mlflow
[ "$MLFLOW_ONLY" = 1 ] || ensure_modelctl
setup_tmp
T="$BENCH_TMP"
mkdir -p "$RESULTS_DIR"
log "temporary directory $T"

# The MLflow server runs in a session of its own (setsid): its process group holds the uvicorn parent and workers and
# its job runner, and is stopped as one before lib.sh's cleanup runs.
MLFLOW_PGID=""
stop_mlflow() {
    [ -n "$MLFLOW_PGID" ] || return 0
    local waited=0
    kill -TERM -- "-$MLFLOW_PGID" 2>/dev/null || true
    while kill -0 -- "-$MLFLOW_PGID" 2>/dev/null && [ "$waited" -lt 300 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 -- "-$MLFLOW_PGID" 2>/dev/null; then
        log "the MLflow server did not stop after SIGTERM: sending SIGKILL to its process group"
        kill -KILL -- "-$MLFLOW_PGID" 2>/dev/null || true
    fi
    wait "$MLFLOW_PGID" 2>/dev/null || true
    MLFLOW_PGID=""
}
# shellcheck disable=SC2154 # status is assigned in the trap itself
trap 'status=$?; stop_mlflow; (exit "$status"); cleanup' EXIT

# descendants PID: PID's children, grandchildren..., one a line.
descendants() {
    local child
    for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}

start_mlflow() {
    MLFLOW_PORT="$("${BENCHUTIL[@]}" free-port)"
    MLFLOW_URL="http://127.0.0.1:$MLFLOW_PORT"
    MLFLOW_COMMAND=(mlflow server --backend-store-uri "sqlite:///$T/mlflow.db" --serve-artifacts
        --artifacts-destination "$T/mlflow-artifacts" --host 127.0.0.1 --port "$MLFLOW_PORT")
    (cd "$T" && MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true PATH="$MLFLOW_VENV/bin:$PATH" \
        exec setsid "${MLFLOW_COMMAND[@]}" >"$T/mlflow.out" 2>"$T/mlflow.err") &
    MLFLOW_PID=$!
    MLFLOW_PGID="$MLFLOW_PID"
    local started
    started="$(date +%s.%N)"
    for _ in $(seq 1 600); do
        [ "$(curl -s --max-time 2 "$MLFLOW_URL/health" 2>/dev/null || true)" = OK ] && break
        kill -0 "$MLFLOW_PID" 2>/dev/null || { tail -30 "$T/mlflow.err" >&2; die "mlflow server exited during start-up"; }
        sleep 0.5
    done
    [ "$(curl -s --max-time 2 "$MLFLOW_URL/health" 2>/dev/null || true)" = OK ] \
        || { tail -30 "$T/mlflow.err" >&2; die "mlflow server did not answer /health within 300 s"; }
    MLFLOW_STARTUP_S="$(python3 -c 'import sys, time; print(round(time.time() - float(sys.argv[1]), 1))' "$started")"
    # The worker processes: uvicorn's parent (its command line holds --workers) and the processes it spawned.
    local pid args
    MLFLOW_UVICORN_PID="" MLFLOW_UVICORN_ARGS=""
    for pid in $(descendants "$MLFLOW_PID"); do
        args="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
        case "$args" in
            *" -m uvicorn "*) MLFLOW_UVICORN_PID="$pid" MLFLOW_UVICORN_ARGS="$args" ;;
        esac
    done
    [ -n "$MLFLOW_UVICORN_PID" ] || die "no uvicorn process under the mlflow server (pid $MLFLOW_PID)"
    MLFLOW_WORKERS_OPTION="$(sed -nE 's/.*--workers ([0-9]+).*/\1/p' <<<"$MLFLOW_UVICORN_ARGS")"
    MLFLOW_WORKERS="$(grep -c . < <(for pid in $(cat /proc/"$MLFLOW_UVICORN_PID"/task/*/children); do
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q spawn_main && echo "$pid"; done) || true)"
    mapfile -t MLFLOW_SERVER_PIDS < <(echo "$MLFLOW_PID"; descendants "$MLFLOW_PID")
    log "mlflow server pid $MLFLOW_PID listening on $MLFLOW_URL after ${MLFLOW_STARTUP_S} s: uvicorn" \
        "--workers ${MLFLOW_WORKERS_OPTION:-?} ($MLFLOW_WORKERS worker processes), ${#MLFLOW_SERVER_PIDS[@]} processes in all"
}

# call URL METHOD PATH [BODY_FILE] OUT: one request with curl, exactly as wrk sends it (token included); prints the
# status code.
call() {
    local url="$1" method="$2" path="$3" body="${4:-}" out="$5"
    local options=(-sS --max-time 60 -o "$out" -w '%{http_code}' -X "$method")
    [ -n "$BENCH_TOKEN" ] && options+=("${CURL_AUTH[@]}")
    [ -n "$body" ] && options+=(-H 'Content-Type: application/json' --data-binary "@$body")
    curl "${options[@]}" "$url$path"
}

# ---------------------------------------------------------------------------------------------------------------
# Servers
BENCH_TOKEN=""
if [ "$MLFLOW_ONLY" = 1 ]; then
    log "BENCH_MLFLOW_ONLY=1: measuring the MLflow server alone"
else
    # The measured daemon, authentication on (its default); start_modelctl reads its admin token (BENCH_TOKEN,
    # CURL_AUTH).
    start_modelctl "$T/data" "$T/modelctl"
    code="$(curl -sS --max-time 30 -o "$T/noauth.json" -w '%{http_code}' \
        "$MODELCTL_URL/api/2.0/mlflow/registered-models/search?max_results=1")"
    case "$code" in
        401) ;;
        404) die "modelctl answers 404 to /api/2.0/mlflow/registered-models/search: $MODELCTL has no MLflow API" \
                 "(rebuild it with BENCH_REBUILD=1)" ;;
        *) die "without a token modelctl answered $code to an MLflow route, expected 401: is authentication on?" ;;
    esac
fi
export BENCH_TOKEN
start_mlflow
MLFLOW_PYTHON_VERSIONS="$("$MLFLOW_VENV/bin/python" - <<'PY'
import importlib.metadata as m, platform
print(f"mlflow {m.version('mlflow')}, uvicorn {m.version('uvicorn')}, SQLAlchemy {m.version('sqlalchemy')},"
      f" Python {platform.python_version()}")
PY
)"
log "$MLFLOW_PYTHON_VERSIONS"

SERVERS=(mlflow)
[ "$MLFLOW_ONLY" = 1 ] || SERVERS=(modelctl mlflow)
url_of() { if [ "$1" = modelctl ]; then echo "$MODELCTL_URL"; else echo "$MLFLOW_URL"; fi; }

# ---------------------------------------------------------------------------------------------------------------
# The same data on both servers, through the same HTTP calls.
for server in "${SERVERS[@]}"; do
    log "seeding $server: $VERSIONS versions of resnet, $MODELS other models"
    "${MLFLOW_API[@]}" seed "$(url_of "$server")" "$MODELS" "$VERSIONS" >"$T/seed-$server.json" \
        || die "seeding $server failed"
    log "seeded $server: $(cat "$T/seed-$server.json")"
done

# The measured requests: NAME METHOD PATH (the create body is written per server: it names that server's run).
NAMES=(alias get search search-models create)
declare -A METHOD PATHS KIND
METHOD=([alias]=GET [get]=GET [search]=GET [search-models]=GET [create]=POST)
PATHS=(
    [alias]="/api/2.0/mlflow/registered-models/alias?name=resnet&alias=champion"
    [get]="/api/2.0/mlflow/model-versions/get?name=resnet&version=7"
    [search]="/api/2.0/mlflow/model-versions/search?filter=name%3D%27resnet%27&max_results=10"
    [search-models]="/api/2.0/mlflow/registered-models/search?filter=name%20LIKE%20%27model-%25%27&max_results=10"
    [create]="/api/2.0/mlflow/model-versions/create"
)
KIND=([alias]=read [get]=read [search]=read [search-models]=read [create]=write)
for server in "${SERVERS[@]}"; do
    python3 - "$T/seed-$server.json" "$T/create-body-$server.json" <<'PY'
import json, sys
seed = json.load(open(sys.argv[1]))
body = {"name": "resnet-writes", "source": seed["source"], "run_id": seed["run_id"],
        "description": "created by wrk", "tags": [{"key": "origin", "value": "benchmark"}]}
open(sys.argv[2], "w").write(json.dumps(body, separators=(",", ":")))
PY
done

# Every request answers 200 with the expected content on both servers; the answers are compared field by field.
: >"$T/differences.txt"
for name in "${NAMES[@]}"; do
    for server in "${SERVERS[@]}"; do
        body=""
        [ "$name" = create ] && body="$T/create-body-$server.json"
        code="$(call "$(url_of "$server")" "${METHOD[$name]}" "${PATHS[$name]}" "$body" "$T/answer-$name-$server.json")"
        [ "$code" = 200 ] || die "$server answered $code to ${METHOD[$name]} ${PATHS[$name]}: $(head -c 500 "$T/answer-$name-$server.json")"
        "${MLFLOW_API[@]}" check "$name" "$T/answer-$name-$server.json" || die "$server's answer to $name is wrong"
        log "$name on $server: 200, $(stat -c %s "$T/answer-$name-$server.json") bytes"
    done
    if [ "$MLFLOW_ONLY" != 1 ]; then
        "${MLFLOW_API[@]}" compare "$name" "$T/answer-$name-modelctl.json" "$T/answer-$name-mlflow.json" \
            >>"$T/differences.txt"
    fi
done
if [ -s "$T/differences.txt" ]; then
    log "the answers of modelctl and MLflow differ ($(wc -l <"$T/differences.txt") fields; timestamps, ids and" \
        "page tokens left out):"
    sed 's/^/    /' "$T/differences.txt" >&2
fi

# ---------------------------------------------------------------------------------------------------------------
# Measurements
# run_wrk NAME SERVER: one measured wrk run of request NAME against SERVER. With BENCH_WAIT_QUIET set, a run during
# which other processes kept more than BENCH_QUIET_THRESHOLD (0.2) cores busy is repeated after waiting for quiet, up
# to BENCH_RETRIES (3) attempts in all; the least disturbed attempt is kept (each attempt is in the log). Writes are
# not repeated: the version count check needs exactly one run.
run_wrk() {
    local name="$1" server="$2" attempt other best="" best_other="" tag="$1-$2" url pids pid body
    url="$(url_of "$server")${PATHS[$name]}"
    if [ "$server" = modelctl ]; then pids=(--pid "$MODELCTL_PID"); else
        pids=()
        for pid in "${MLFLOW_SERVER_PIDS[@]}"; do pids+=(--pid "$pid"); done
    fi
    local retries="${BENCH_RETRIES:-3}"
    [ "${KIND[$name]}" = write ] && retries=1
    for attempt in $(seq 1 "$retries"); do
        log "$server: ${METHOD[$name]} $name: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout $WRK_TIMEOUT" \
            "--latency (attempt $attempt)"
        body=""
        [ "$name" = create ] && body="$T/create-body-$server.json"
        BENCH_WRK_METHOD="${METHOD[$name]}" BENCH_WRK_BODY_FILE="$body" \
            "${BENCHUTIL[@]}" watch "${pids[@]}" --out "$T/watch-$tag-$attempt.json" -- \
            wrk -s "$WRK_LUA" -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout "$WRK_TIMEOUT" --latency "$url" \
            >"$T/wrk-$tag-$attempt.txt"
        cat "$T/wrk-$tag-$attempt.txt" >&2
        other="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["other_user_cores"])' \
            "$T/watch-$tag-$attempt.json")"
        log "other processes kept $other cores busy during the run"
        if [ -z "$best" ] || awk -v a="$other" -v b="$best_other" 'BEGIN {exit !(a < b)}'; then
            best="$attempt"
            best_other="$other"
        fi
        [ "${BENCH_WAIT_QUIET:-0}" = 0 ] && break
        awk -v a="$other" -v t="${BENCH_QUIET_THRESHOLD:-0.2}" 'BEGIN {exit !(a < t)}' && break
        [ "$attempt" = "$retries" ] && break
        log "run disturbed by other processes: waiting for quiet and repeating it"
        "${BENCHUTIL[@]}" wait-quiet 120 "${BENCH_QUIET_THRESHOLD:-0.2}" >/dev/null
    done
    cp "$T/wrk-$tag-$best.txt" "$T/wrk-$tag.txt"
    cp "$T/watch-$tag-$best.json" "$T/watch-$tag.json"
    "${BENCHUTIL[@]}" wrk-parse "$T/wrk-$tag.txt" >"$T/wrk-$tag.json"
}

# count_versions SERVER OUT: the versions of resnet-writes on SERVER, once the count is stable (requests still in
# flight when wrk stopped finish first).
count_versions() {
    local server="$1" out="$2" previous="" current
    for _ in $(seq 1 60); do
        current="$("${MLFLOW_API[@]}" count "$(url_of "$server")" resnet-writes)" || die "counting versions on $server failed"
        [ "$current" = "$previous" ] && break
        previous="$current"
        sleep 1
    done
    printf '%s\n' "$current" >"$out"
}

quiet_check
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
# A short warm-up of every read on every server, then the measured runs: for each request, modelctl and MLflow one
# right after the other; the writes last.
for name in "${NAMES[@]}"; do
    [ "${KIND[$name]}" = read ] || continue
    for server in "${SERVERS[@]}"; do
        wrk -s "$WRK_LUA" -t1 -c4 -d2s --timeout "$WRK_TIMEOUT" "$(url_of "$server")${PATHS[$name]}" >/dev/null
    done
done
for name in "${NAMES[@]}"; do
    for server in "${SERVERS[@]}"; do
        if [ "${KIND[$name]}" = write ]; then
            count_versions "$server" "$T/count-before-$server.json"
            run_wrk "$name" "$server"
            count_versions "$server" "$T/count-after-$server.json"
        else
            run_wrk "$name" "$server"
        fi
    done
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
MODELCTL_RSS_AFTER=""
[ "$MLFLOW_ONLY" = 1 ] || MODELCTL_RSS_AFTER="$(rss_kib "$MODELCTL_PID")"
MLFLOW_RSS_AFTER=0
for pid in "${MLFLOW_SERVER_PIDS[@]}"; do
    MLFLOW_RSS_AFTER=$((MLFLOW_RSS_AFTER + $(rss_kib "$pid" 2>/dev/null || echo 0)))
done

# ---------------------------------------------------------------------------------------------------------------
# Results
machine_info >"$T/machine.txt"
MLFLOW_COMMAND_TEXT="${MLFLOW_COMMAND[*]}"
MLFLOW_COMMAND_TEXT="${MLFLOW_COMMAND_TEXT//$T/\$T}"
export T THREADS CONNECTIONS DURATION WRK_TIMEOUT MODELS VERSIONS MLFLOW_ONLY BUSY_BEFORE LOAD_BEFORE LOAD_AFTER
export MLFLOW_COMMAND_TEXT MLFLOW_WORKERS MLFLOW_WORKERS_OPTION MLFLOW_PYTHON_VERSIONS MLFLOW_STARTUP_S
export MODELCTL_RSS_AFTER MLFLOW_RSS_AFTER READ_TARGET WRITE_TARGET
export MLFLOW_SERVER_PROCESSES="${#MLFLOW_SERVER_PIDS[@]}"
export NAMES_TEXT="${NAMES[*]}"
METHODS_JSON="$(for n in "${NAMES[@]}"; do printf '%s\t%s\t%s\t%s\n' "$n" "${METHOD[$n]}" "${PATHS[$n]}" "${KIND[$n]}"; done)"
export METHODS_JSON
python3 - "$RESULTS_DIR/mlflow-compat.json" <<'PY'
import json, os, sys
t = os.environ["T"]
only = os.environ["MLFLOW_ONLY"] == "1"
servers = ["mlflow"] if only else ["modelctl", "mlflow"]
connections = int(os.environ["CONNECTIONS"])
targets = {"read": float(os.environ["READ_TARGET"]), "write": float(os.environ["WRITE_TARGET"])}

def load(tag):
    result = json.load(open(f"{t}/wrk-{tag}.json"))
    result["server"] = json.load(open(f"{t}/watch-{tag}.json"))
    return result

requests = {}
for line in os.environ["METHODS_JSON"].splitlines():
    name, method, path, kind = line.split("\t")
    entry = {"method": method, "path": path, "kind": kind}
    for server in servers:
        r = entry[server] = load(f"{name}-{server}")
        r["response_bytes"] = os.path.getsize(f"{t}/answer-{name}-{server}.json")
        # CPU time of the server's processes (all of MLflow's) per answered request
        r["server_cpu_us_per_request"] = round(r["server"]["cpu_s"] / r["requests"] * 1e6, 1) if r["requests"] else None
    if kind == "write":
        for server in servers:
            before = json.load(open(f"{t}/count-before-{server}.json"))
            after = json.load(open(f"{t}/count-after-{server}.json"))
            created = after["versions"] - before["versions"]
            counted = entry[server]["requests"]
            entry[server]["versions"] = {
                "before": before["versions"], "after": after["versions"], "created": created,
                "wrk_requests": counted,
                # wrk counts answered requests; up to one request per connection is still in flight when it stops.
                "in_flight_at_stop": created - counted,
                "no_gaps_or_duplicates": after["distinct_versions"] == after["versions"] == after["highest_version"],
                "ok": counted <= created <= counted + connections
                      and after["distinct_versions"] == after["versions"] == after["highest_version"],
            }
    if not only:
        m, f = entry["modelctl"], entry["mlflow"]
        entry["ratio_requests_per_s"] = m["requests_per_s"] / f["requests_per_s"]
        # > 1: modelctl's p99 is that many times lower than MLflow's
        entry["ratio_p99_mlflow_over_modelctl"] = f["latency_ms"]["99"] / m["latency_ms"]["99"]
        entry["target_ratio"] = targets[kind]
        entry["target_met"] = entry["ratio_requests_per_s"] >= targets[kind]
    requests[name] = entry

differences = []
if os.path.exists(f"{t}/differences.txt"):
    differences = [line.rstrip("\n") for line in open(f"{t}/differences.txt") if line.strip()]
result = {
    "wrk": f"-t{os.environ['THREADS']} -c{connections} -d{os.environ['DURATION']} --timeout {os.environ['WRK_TIMEOUT']}"
           " --latency",
    "machine": open(f"{t}/machine.txt").read().splitlines(),
    "busy_cores_before": float(os.environ["BUSY_BEFORE"]),
    "load_average_before": os.environ["LOAD_BEFORE"],
    "load_average_after": os.environ["LOAD_AFTER"],
    "seed": {"resnet_versions": int(os.environ["VERSIONS"]), "other_models": int(os.environ["MODELS"]),
             "calls": {s: json.load(open(f"{t}/seed-{s}.json")) for s in servers}},
    "modelctl": None if only else {
        "auth": "on (default): every request carries Authorization: Bearer <admin token>",
        "rss_after_kib": int(os.environ["MODELCTL_RSS_AFTER"]),
    },
    "mlflow": {
        "command": os.environ["MLFLOW_COMMAND_TEXT"],
        "versions": os.environ["MLFLOW_PYTHON_VERSIONS"],
        "server": "uvicorn (mlflow 3's default)",
        "workers_option": os.environ["MLFLOW_WORKERS_OPTION"],
        "worker_processes": int(os.environ["MLFLOW_WORKERS"]),
        "processes": int(os.environ["MLFLOW_SERVER_PROCESSES"]),
        "auth": "none (default); wrk sends it the same token header, which it ignores",
        "startup_s": float(os.environ["MLFLOW_STARTUP_S"]),
        "rss_after_kib_all_processes": int(os.environ["MLFLOW_RSS_AFTER"]),
    },
    "requests": requests,
    "compatibility_differences": differences,
}
if not only:
    result["targets"] = {"read_ratio": targets["read"], "write_ratio": targets["write"],
                         "all_met": all(e["target_met"] for e in requests.values())}
json.dump(result, open(sys.argv[1], "w"), indent=2)
PY

{
    echo "== MLflow-compatible API vs mlflow server: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout $WRK_TIMEOUT ($(date -u +%Y-%m-%dT%H:%M:%SZ)) =="
    cat "$T/machine.txt"
    python3 - "$RESULTS_DIR/mlflow-compat.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
f = a["mlflow"]
print(f"load average before {a['load_average_before']}, after {a['load_average_after']}; "
      f"{a['busy_cores_before']} CPU cores busy with other processes before the run")
print(f"MLflow server: {f['versions']}; `{f['command']}`; {f['server']} --workers {f['workers_option']} "
      f"({f['worker_processes']} worker processes, {f['processes']} processes in all with the job runner); "
      f"authentication: {f['auth']}")
if a["modelctl"]:
    print(f"modelctl: release build, SQLite; authentication {a['modelctl']['auth']}")
s = a["seed"]
print(f"data (same HTTP calls on both): resnet with {s['resnet_versions']} versions, aliases, tags; "
      f"{s['other_models']} other registered models; writes go to resnet-writes")
print()
rows = []
servers = ["modelctl", "mlflow"] if a["modelctl"] else ["mlflow"]
for name, e in a["requests"].items():
    row = [f"{e['method']} {name}"]
    for server in servers:
        r = e[server]
        row += [f"{r['requests_per_s']:,.0f}", f"{r['latency_ms']['99']:.2f} ms"]
    if a["modelctl"]:
        row += [f"{e['ratio_requests_per_s']:,.1f}x", f"{e['ratio_p99_mlflow_over_modelctl']:,.1f}x",
                f">= {e['target_ratio']:.0f}x", "met" if e["target_met"] else "MISSED"]
    rows.append(row)
header = ["request"]
for server in servers:
    label = "MLflow" if server == "mlflow" else "modelctl"
    header += [f"{label} req/s", f"{label} p99"]
if a["modelctl"]:
    header += ["req/s ratio", "p99 MLflow/modelctl", "target", "result"]
widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for row in rows:
    print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
print()
for name, e in a["requests"].items():
    for server in servers:
        r = e[server]
        l = r["latency_ms"]
        line = (f"{name:14} {server:9}: {r['requests_per_s']:9,.1f} req/s ({r['requests']} requests)  p50 {l['50']:.2f} ms"
                f"  p90 {l['90']:.2f} ms  p99 {l['99']:.2f} ms  non-2xx {r['non_2xx']}"
                f"  {r['socket_errors'] or 'no socket errors'}  {r['response_bytes']} bytes;"
                f" CPU cores used: server {r['server']['cpu_cores_used']}, wrk {r['server']['client_cpu_cores_used']},"
                f" other processes (user mode) {r['server']['other_user_cores']};"
                f" server CPU per request {r['server_cpu_us_per_request']:,.0f} us")
        print(line)
        v = r.get("versions")
        if v:
            print(f"{'':26}versions created {v['created']} for {v['wrk_requests']} answered requests"
                  f" ({v['in_flight_at_stop']} in flight when wrk stopped); numbers without gaps or duplicates:"
                  f" {v['no_gaps_or_duplicates']}; check {'ok' if v['ok'] else 'FAILED'}")
if a["modelctl"]:
    print()
    print(f"targets: reads >= {a['targets']['read_ratio']:.0f}x MLflow's req/s, writes >= "
          f"{a['targets']['write_ratio']:.0f}x: {'all met' if a['targets']['all_met'] else 'NOT all met'}")
    d = a["compatibility_differences"]
    print(f"answers of modelctl and MLflow: {len(d)} field differences (timestamps, run ids, sources and page tokens left out)")
    for line in d:
        print(f"  {line}")
PY
} | tee "$RESULTS_DIR/mlflow-compat.txt"

python3 - "$RESULTS_DIR/mlflow-compat.json" <<'PY' || die "errors under load: see $RESULTS_DIR/mlflow-compat.txt"
import json, sys
a = json.load(open(sys.argv[1]))
bad = []
for name, e in a["requests"].items():
    for server in ("modelctl", "mlflow"):
        r = e.get(server)
        if not r:
            continue
        if r["non_2xx"]:
            bad.append(f"{server} answered {r['non_2xx']} non-2xx responses to {name}")
        if r["socket_errors"]:
            bad.append(f"{server}, {name}: {r['socket_errors']}")
        if r.get("versions") and not r["versions"]["ok"]:
            bad.append(f"{server}: the versions created do not match wrk's request count: {r['versions']}")
for line in bad:
    print(line, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
