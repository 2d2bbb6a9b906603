#!/usr/bin/env bash
# Fleet benchmark: one daemon (release build) and many simulated agents in one process (bench/FleetSimulator).
# Measures the daemon's CPU and memory idle with 0 (the baseline), 1,000 and 10,000 long-polling agents, and the time
# from a promotion until all 1,000 agents report the new version active (target: < 5 s with a small model).
#
# Usage: bench/fleet.sh            (results in bench/results/fleet.{json,txt})
# Environment:
#   BENCH_AGENTS=1000          agents for the convergence measurement
#   BENCH_MORE_AGENTS=10000    agents for the second idle measurement (0: skip)
#   BENCH_IDLE_SECONDS=30      length of each idle window
#   BENCH_PROMOTIONS=3         promotions measured
#   MODELCTL_BIN=...           daemon binary (default .build-release/release/modelctl, built if missing)
#   FLEET_SIMULATOR_BIN=...    simulator binary (default .build-release/release/FleetSimulator, built if missing)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENTS="${BENCH_AGENTS:-1000}"
MORE="${BENCH_MORE_AGENTS:-10000}"
IDLE="${BENCH_IDLE_SECONDS:-30}"
PROMOTIONS="${BENCH_PROMOTIONS:-3}"
SIMULATOR="${FLEET_SIMULATOR_BIN:-$REPO_DIR/.build-release/release/FleetSimulator}"

ensure_modelctl
if [ ! -x "$SIMULATOR" ] || [ "${BENCH_REBUILD:-0}" = 1 ]; then
    command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
    log "building the fleet simulator (release)"
    (cd "$REPO_DIR" && swift build -c release --product FleetSimulator --scratch-path .build-release) >&2 \
        || die "release build of the simulator failed"
fi
setup_tmp
mkdir -p "$RESULTS_DIR"
T="$BENCH_TMP"

# Every long-poll holds a connection: two descriptors per agent (client and daemon side).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
log "open-file limit $(ulimit -n)"
quiet_check

start_modelctl "$T/data" "$T/daemon"
"$SIMULATOR" --registry "$MODELCTL_URL" --admin-token-file "$T/data/admin-token" --daemon-pid "$MODELCTL_PID" \
    --agents "$AGENTS" --more-agents "$MORE" --idle-seconds "$IDLE" --promotions "$PROMOTIONS" \
    --work "$T/agents" --out "$T/fleet.json"

python3 - "$T/fleet.json" "$RESULTS_DIR" "$AGENTS" "$MORE" "$BUSY_BEFORE" <<'PY'
import json, sys, statistics
path, out, agents, more, busy = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
r = json.load(open(path))
base = r["idle_0"]
lines = [f"fleet benchmark ({agents} and {more} long-polling agents; other processes kept {busy} cores busy before)"]
def idle(name, label):
    if name not in r:
        return
    d = r[name]
    ratio = d["daemon_rss_mib"] / base["daemon_rss_mib"] if base["daemon_rss_mib"] else float("nan")
    lines.append(f"  {label:<28} daemon CPU {d['daemon_cpu_percent']:6.2f} % of a core, RSS {d['daemon_rss_mib']:7.1f} MiB"
                 f" ({ratio:4.1f}x the idle baseline); simulator CPU {d['simulator_cpu_percent']:6.2f} %")
idle("idle_0", "idle, 0 agents (baseline)")
idle(f"idle_{agents}", f"idle, {agents} agents")
idle(f"idle_{more}", f"idle, {more} agents")
conv = r.get(f"convergence_{agents}", [])
if conv:
    secs = [c["seconds"] for c in conv]
    lines.append(f"  promotion -> all {agents} agents active: median {statistics.median(secs):.2f} s, max {max(secs):.2f} s"
                 f" (target < 5 s; {len(secs)} promotions: {', '.join(f'{s:.2f}' for s in secs)})")
    downloaded = ", ".join(str(int(c["bytes_downloaded"])) for c in conv)
    cpu = ", ".join("%.2f s" % c["daemon_cpu_seconds"] for c in conv)
    lines.append(f"  bytes downloaded per promotion: {downloaded}; daemon CPU per promotion: {cpu}")
for key in sorted(k for k in r if k.startswith("enroll_seconds_")):
    lines.append(f"  enrolment of {key.split('_')[-1]} agents (cumulative batch): {r[key]:.1f} s")
lines.append(f"  refused documents: {r['refused_documents']}, agent errors: {r['agent_errors']}")
text = "\n".join(lines)
print(text)
open(f"{out}/fleet.txt", "w").write(text + "\n")
json.dump(r, open(f"{out}/fleet.json", "w"), indent=2, sort_keys=True)
PY
