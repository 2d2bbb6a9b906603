# Shared helpers of the modelctl benchmark scripts. Source it; it does not run anything by itself.
# shellcheck shell=bash

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
RESULTS_DIR="${BENCH_RESULTS_DIR:-$BENCH_DIR/results}"
BENCHUTIL=(python3 "$BENCH_DIR/benchutil.py")
MODELCTL="${MODELCTL_BIN:-$REPO_DIR/.build-release/release/modelctl}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# need_cmd COMMAND DEBIAN_PACKAGE: installs the package with apt-get only when COMMAND is absent.
_apt_updated=0
need_cmd() {
    command -v "$1" >/dev/null 2>&1 && return 0
    log "$1 is missing: installing Debian package $2"
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    if [ "$_apt_updated" = 0 ]; then
        "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
        _apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$2" >/dev/null || die "cannot install $2"
    command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing $2"
}

# nginx is /usr/sbin/nginx, which is not on every user's PATH.
find_nginx() {
    NGINX="$(command -v nginx || true)"
    [ -n "$NGINX" ] || { [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx; }
    if [ -z "$NGINX" ]; then
        need_cmd nginx nginx-light
        NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
    fi
}

# Builds the release binary into .build-release when it is missing (or when BENCH_REBUILD=1).
ensure_modelctl() {
    if [ -x "$MODELCTL" ] && [ "${BENCH_REBUILD:-0}" != 1 ]; then
        return 0
    fi
    if [ -n "${MODELCTL_BIN:-}" ]; then
        die "MODELCTL_BIN=$MODELCTL_BIN is not an executable"
    fi
    command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
    command -v swift >/dev/null 2>&1 || die "swift not found (expected under /opt/swift/usr/bin)"
    log "building the release binary (swift build -c release --scratch-path .build-release); the first build takes 10-20 minutes"
    (cd "$REPO_DIR" && swift build -c release --product modelctl --scratch-path .build-release) >&2 \
        || die "release build failed"
    [ -x "$MODELCTL" ] || die "build finished but $MODELCTL is missing"
}

# Process bookkeeping: every process started here is recorded and stopped by cleanup().
_bench_pids=()
_bench_tmp=""

cleanup() {
    local status=$?
    local pid
    for pid in "${_bench_pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${_bench_pids[@]}"; do
        local waited=0
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 100 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "process $pid did not stop after SIGTERM: sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$_bench_tmp" ] && [ -d "$_bench_tmp" ]; then
        if [ "${BENCH_KEEP_TMP:-0}" = 1 ]; then
            log "keeping temporary directory $_bench_tmp"
        else
            rm -rf "$_bench_tmp"
        fi
    fi
    exit "$status"
}

# setup_tmp: creates the temporary directory (in BENCH_TMPDIR or TMPDIR or /tmp) and installs the traps.
setup_tmp() {
    _bench_tmp="$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/modelctl-bench.XXXXXX")"
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    BENCH_TMP="$_bench_tmp"
}

# stop_pid PID: stops one process started by this script (SIGTERM, then SIGKILL after 10 s).
stop_pid() {
    local pid="$1" waited=0
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 100 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
    local kept=() p
    for p in "${_bench_pids[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
    _bench_pids=("${kept[@]}")
}

# start_modelctl DATA_DIR LOG_PREFIX [SERVE_OPTION ...]: starts the daemon on a free loopback port and waits for
# its "listening" line. Sets MODELCTL_PID, MODELCTL_PORT and MODELCTL_URL. Extra options go to `modelctl serve`
# (e.g. --auth none). With authentication on (the default), the daemon writes an admin token to
# DATA_DIR/admin-token on its first start; bench_use_token then reads it, so that every later request of the script
# authenticates like a real client.
start_modelctl() {
    local data_dir="$1" prefix="$2"
    shift 2
    "$MODELCTL" serve --data-dir "$data_dir" --listen 127.0.0.1:0 "$@" >"$prefix.out" 2>"$prefix.err" &
    MODELCTL_PID=$!
    _bench_pids+=("$MODELCTL_PID")
    local i line
    for i in $(seq 1 300); do
        line="$(grep -m1 'modelctl registry listening on http://127.0.0.1:' "$prefix.out" 2>/dev/null || true)"
        [ -n "$line" ] && break
        kill -0 "$MODELCTL_PID" 2>/dev/null || { cat "$prefix.err" >&2; die "modelctl exited during start-up"; }
        sleep 0.1
    done
    [ -n "$line" ] || die "modelctl did not report listening within 30 s"
    MODELCTL_PORT="$(sed -E 's#.*http://127\.0\.0\.1:([0-9]+).*#\1#' <<<"$line")"
    MODELCTL_URL="http://127.0.0.1:$MODELCTL_PORT"
    log "modelctl pid $MODELCTL_PID listening on $MODELCTL_URL${*:+ (serve $*)}"
    case " $* " in
        *" --auth none "* | *" --auth=none "*) ;;
        *) bench_use_token "$data_dir" ;;
    esac
}

# bench_use_token DATA_DIR: reads the admin token that the daemon wrote to DATA_DIR/admin-token and has every client
# of the scripts send it. The token is never printed or logged, and never put on a command line (where `ps` shows
# it to every user of the machine):
#   BENCH_TOKEN      exported; read by benchutil.py (Python requests) and by the wrk script
#   MODELCTL_TOKEN   exported; read by the modelctl CLI
#   CURL_AUTH        curl options: -H @FILE, FILE holding the Authorization header (mode 0600)
#   WRK_AUTH         wrk options: -s FILE, a Lua script adding the Authorization header from BENCH_TOKEN
# Needs setup_tmp first: both files go into the temporary directory (mode 0700).
CURL_AUTH=()
WRK_AUTH=()
bench_use_token() {
    local file="$1/admin-token" dir
    [ -n "$_bench_tmp" ] || die "bench_use_token needs setup_tmp first"
    [ -f "$file" ] || die "no admin token in $file: $MODELCTL predates authentication (no --auth in" \
        "'modelctl serve --help'); rebuild it with BENCH_REBUILD=1"
    BENCH_TOKEN="$(tr -d '[:space:]' <"$file")"
    [ -n "$BENCH_TOKEN" ] || die "$file is empty"
    MODELCTL_TOKEN="$BENCH_TOKEN"
    export BENCH_TOKEN MODELCTL_TOKEN
    dir="$_bench_tmp/auth"
    (umask 077 && mkdir -p "$dir" && printf 'Authorization: Bearer %s\n' "$BENCH_TOKEN" >"$dir/header.txt")
    cat >"$dir/wrk-auth.lua" <<'EOF'
-- Written by bench/lib.sh: every request carries the benchmark's bearer token, read from the environment
-- (BENCH_TOKEN) so that it is not on wrk's command line. No request() function: wrk builds the request once.
local token = os.getenv("BENCH_TOKEN")
assert(token and token ~= "", "BENCH_TOKEN is not set")
wrk.headers["Authorization"] = "Bearer " .. token
EOF
    # shellcheck disable=SC2034 # both are used by the scripts that source this file
    CURL_AUTH=(-H "@$dir/header.txt") WRK_AUTH=(-s "$dir/wrk-auth.lua")
    log "clients authenticate with the admin token from $file"
}

# write_nginx_conf DIR PORT SERVER_BLOCK_BODY: writes DIR/nginx.conf for a foreground nginx run as the
# current user, with every pid/log/temp path inside DIR.
write_nginx_conf() {
    local dir="$1" port="$2" body="$3" user_line=""
    mkdir -p "$dir/logs" "$dir/client_body" "$dir/proxy" "$dir/fastcgi" "$dir/uwsgi" "$dir/scgi"
    # Workers of a root master would switch to "nobody"; keep them as the current user instead.
    [ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"
    cat >"$dir/nginx.conf" <<EOF
$user_line
daemon off;
master_process on;
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$port;
        server_name localhost;
$body
    }
}
EOF
}

# start_nginx DIR PORT: starts nginx with DIR/nginx.conf in the foreground (no daemon mode), waits for the port.
# Sets NGINX_PID (the master) and NGINX_URL.
start_nginx() {
    local dir="$1" port="$2"
    find_nginx
    "$NGINX" -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" 2>"$dir/logs/test.err" \
        || { cat "$dir/logs/test.err" "$dir/logs/error.log" >&2 2>/dev/null; die "nginx rejected its configuration"; }
    "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" >"$dir/logs/stdout" 2>"$dir/logs/stderr" &
    NGINX_PID=$!
    _bench_pids+=("$NGINX_PID")
    NGINX_URL="http://127.0.0.1:$port"
    local i
    for i in $(seq 1 100); do
        curl -s -o /dev/null "$NGINX_URL/" 2>/dev/null && break
        kill -0 "$NGINX_PID" 2>/dev/null || { cat "$dir/logs/stderr" "$dir/logs/error.log" >&2; die "nginx exited"; }
        sleep 0.1
    done
    log "nginx pid $NGINX_PID listening on $NGINX_URL"
}

# nginx_worker_pids: the worker processes of the nginx master NGINX_PID.
nginx_worker_pids() {
    cat "/proc/$NGINX_PID/task/$NGINX_PID/children" 2>/dev/null || pgrep -P "$NGINX_PID"
}

rss_kib() { "${BENCHUTIL[@]}" rss "$1"; }

machine_info() {
    local swift_bin
    swift_bin="$(command -v swift || echo /opt/swift/usr/bin/swift)"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "swift: $("$swift_bin" --version 2>&1 | head -1)"
    echo "nginx: $("${NGINX:-nginx}" -v 2>&1 || /usr/sbin/nginx -v 2>&1)"
    echo "curl: $(curl --version | head -1)"
    echo "wrk: $(dpkg-query -W -f '${Version}' wrk 2>/dev/null || echo unknown)"
}

# quiet_check: how many CPU cores other processes keep busy before a benchmark starts. With BENCH_WAIT_QUIET=N,
# waits up to N seconds for the machine to go idle first (fewer than BENCH_QUIET_THRESHOLD=0.2 cores busy).
# Sets BUSY_BEFORE.
quiet_check() {
    BUSY_BEFORE="$("${BENCHUTIL[@]}" wait-quiet "${BENCH_WAIT_QUIET:-0}" "${BENCH_QUIET_THRESHOLD:-0.2}")"
    log "CPU cores busy before the benchmark (other processes): $BUSY_BEFORE; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    if awk -v b="$BUSY_BEFORE" 'BEGIN {exit !(b >= 0.2)}'; then
        log "warning: the machine is not idle; the numbers will be disturbed (set BENCH_WAIT_QUIET=600 to wait)"
    fi
}
