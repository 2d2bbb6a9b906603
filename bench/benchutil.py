#!/usr/bin/env python3
"""Small helpers for the modelctl benchmark scripts (Python 3 standard library only).

Subcommands:
  free-port                          print a free TCP port on 127.0.0.1
  rss PID                            print VmRSS of PID in KiB
  memory PID                         print VmRSS, VmHWM, RssAnon, RssFile, RssShmem (KiB) and Threads as JSON
  fsync FILE                         fsync FILE, print the seconds it took
  watch --pid PID [--pid PID ...] [--interval S] [--out FILE] -- CMD ...
                                     run CMD; while it runs sample VmRSS of the first PID every S seconds (0.1 by
                                     default) and count the CPU time of every PID (all threads). Prints CMD's stdout,
                                     then writes a JSON record to FILE (or stderr): baseline/peak/end RSS, growth,
                                     CPU seconds, wall seconds, exit code.
  busy [S]                           CPU cores busy machine-wide over S seconds (3 by default)
  wait-quiet MAX_S [THRESHOLD]       wait (at most MAX_S) until fewer than THRESHOLD cores are busy; print the value
  median V ...                       print the median of the values
  wrk-parse FILE                     parse `wrk --latency` output into JSON (req/s, p50/p75/p90/p99 in ms, errors)
  hash-rate FILE                     SHA-256 throughput of one core over FILE (MB/s), read in 1 MiB chunks
  write-fsync SRC DST                copy SRC to DST in 1 MiB chunks, fsync, print MB/s (disk write + fsync baseline)
  run [--out FILE] [--split-read BYTES] [--interval S] -- CMD ...
                                     run CMD (stdout and stderr pass through) and write a JSON record to FILE (or
                                     stderr): wall, user and system CPU seconds (wait4), peak RSS in KiB (run through
                                     /usr/bin/time -f %M: the largest of CMD and the children it waited for), CPU
                                     cores used by other processes, exit code. With
                                     --split-read, samples rchar in /proc/PID/io every S seconds (0.02 by default)
                                     and records when CMD had read BYTES (for a two-pass command: end of pass one).
  gen-normal FILE MIB [SEED]         write MIB MiB of float32 values drawn from N(0, 1) with numpy; exit 3 when
                                     numpy is missing
  summary DIR                        print the results in DIR (blob-transfer.json, resolve-alias.json,
                                     package.json, cli-transfer.json) as a table (with resolve-alias.json: also
                                     the cost of authentication, tokens vs a --auth none daemon)
  exec-time RUNS [--warmup N] -- CMD ...
                                     start CMD RUNS times (posix_spawn, stdout and stderr to /dev/null) after N
                                     warm-up runs (5 by default) and print the wall times as JSON: median, p90,
                                     min, mean, max in ms
  metrics-delta BEFORE AFTER         difference between two scrapes of the daemon's /metrics (Prometheus text) as
                                     JSON: requests and server seconds per "METHOD route", body bytes in and out
  cpu PID [--since FILE]             user and system CPU seconds of PID (all threads) as JSON; with --since, the
                                     difference from an earlier output of this command saved in FILE
  session-upload URL FILE DIGEST CHUNK_MIB
                                     upload FILE to the daemon at URL through a resumable session (POST
                                     /api/v1/uploads, PATCH chunks of CHUNK_MIB MiB sent with sendfile over one
                                     keep-alive connection, PUT ?digest=DIGEST) and print the timings as JSON

Requests to the daemon carry `Authorization: Bearer $BENCH_TOKEN` when BENCH_TOKEN is set (bench/lib.sh exports
it after reading DATA_DIR/admin-token); the token is never printed.
"""

import hashlib
import json
import math
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
MIB = 1 << 20


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def system_cpu():
    """(busy, total, user) jiffies of all CPUs from /proc/stat; user includes nice."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already part of user
    return total - idle, total, values[0] + values[1]


def process_cpu(pid):
    """(utime, stime) of the whole process (all threads), in seconds, or None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def memory_detail(pid):
    """VmRSS, RssAnon, RssFile, RssShmem of PID in KiB."""
    detail = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM", "Threads"):
                detail[key] = int(line.split()[1])
    return detail


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_utime


def busy_cores(seconds):
    busy0, total0, _ = system_cpu()
    time.sleep(seconds)
    busy1, total1, _ = system_cpu()
    ncpu = os.cpu_count() or 1
    return (busy1 - busy0) / max(total1 - total0, 1) * ncpu


def cmd_busy(args):
    """busy [SECONDS]: CPU cores busy machine-wide over SECONDS (3 by default)."""
    print(f"{busy_cores(float(args[0]) if args else 3.0):.2f}")


def cmd_wait_quiet(args):
    """wait-quiet MAX_SECONDS [THRESHOLD]: wait until the machine is idle (busy cores over 3 s < THRESHOLD,
    0.2 by default) or MAX_SECONDS passed; print the last busy-cores value."""
    deadline = time.monotonic() + float(args[0])
    threshold = float(args[1]) if len(args) > 1 else 0.2
    while True:
        busy = busy_cores(3.0)
        if busy < threshold or time.monotonic() >= deadline:
            print(f"{busy:.2f}")
            return
        print(f"machine busy ({busy:.2f} cores used by other processes): waiting", file=sys.stderr)


def cmd_free_port(_args):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        print(sock.getsockname()[1])


def cmd_memory(args):
    print(json.dumps(memory_detail(int(args[0]))))


def cmd_fsync(args):
    """fsync FILE: fsync an existing file, print the seconds it took."""
    start = time.monotonic()
    descriptor = os.open(args[0], os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    print(f"{time.monotonic() - start:.3f}")


def cmd_rss(args):
    value = rss_kib(int(args[0]))
    if value is None:
        sys.exit(f"no such process {args[0]}")
    print(value)


def cmd_watch(args):
    pids, interval, out = [], 0.1, None
    while args and args[0] != "--":
        option = args.pop(0)
        if option == "--pid":
            pids.append(int(args.pop(0)))
        elif option == "--interval":
            interval = float(args.pop(0))
        elif option == "--out":
            out = args.pop(0)
        else:
            sys.exit(f"watch: unknown option {option}")
    if not args or not pids:
        sys.exit("usage: watch --pid PID [--pid PID ...] [--interval S] [--out FILE] -- CMD ...")
    command = args[1:]
    baseline = rss_kib(pids[0])
    cpu_before = [process_cpu(pid) or (0.0, 0.0) for pid in pids]
    children_before = children_cpu_seconds()
    system_before = system_cpu()
    peak = baseline or 0
    samples = 0
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    next_sample = start
    while process.poll() is None:
        value = rss_kib(pids[0])
        if value is not None:
            samples += 1
            peak = max(peak, value)
        next_sample += interval
        delay = next_sample - time.monotonic()
        if delay > 0:
            try:
                process.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                pass
    wall = time.monotonic() - start
    output = process.stdout.read()
    end = rss_kib(pids[0])
    if end is not None:
        peak = max(peak, end)
    cpu_after = [process_cpu(pid) or (0.0, 0.0) for pid in pids]
    cpu = sum(sum(after) - sum(before) for before, after in zip(cpu_before, cpu_after))
    cpu_user = sum(after[0] - before[0] for before, after in zip(cpu_before, cpu_after))
    children_after = children_cpu_seconds()
    client_cpu = children_after[0] - children_before[0]
    client_user = children_after[1] - children_before[1]
    system_after = system_cpu()
    ncpu = os.cpu_count() or 1
    jiffies = max(system_after[1] - system_before[1], 1)
    system_busy = (system_after[0] - system_before[0]) / jiffies * ncpu
    system_user = (system_after[2] - system_before[2]) / jiffies * ncpu
    sys.stdout.write(output.decode(errors="replace"))
    sys.stdout.flush()
    record = {
        "exit_code": process.returncode,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "cpu_cores_used": round(cpu / wall, 3) if wall > 0 else None,
        "client_cpu_cores_used": round(client_cpu / wall, 3) if wall > 0 else None,
        "machine_busy_cores": round(system_busy, 3),
        "other_busy_cores": round(system_busy - (cpu + client_cpu) / wall, 3) if wall > 0 else None,
        # user-mode CPU of everything but the server and the client: other processes (builds, tests...)
        "other_user_cores": round(max(system_user - (cpu_user + client_user) / wall, 0.0), 3) if wall > 0 else None,
        "rss_baseline_kib": baseline,
        "rss_peak_kib": peak,
        "rss_end_kib": end,
        "rss_growth_kib": (peak - baseline) if baseline is not None else None,
        "rss_samples": samples,
    }
    text = json.dumps(record)
    if out:
        with open(out, "w") as handle:
            handle.write(text + "\n")
    else:
        print(text, file=sys.stderr)
    sys.exit(process.returncode)


def cmd_median(args):
    values = [float(value) for value in args]
    print(statistics.median(values))


def to_ms(text):
    text = text.strip()
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def cmd_wrk_parse(args):
    with open(args[0]) as handle:
        lines = handle.read().splitlines()
    result = {"latency_ms": {}, "non_2xx": 0, "socket_errors": None}
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "Requests/sec:":
            result["requests_per_s"] = float(parts[1])
        elif parts[0] in ("50%", "75%", "90%", "99%") and len(parts) == 2:
            result["latency_ms"][parts[0].rstrip("%")] = to_ms(parts[1])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            result["non_2xx"] = int(parts[-1])
        elif line.strip().startswith("Socket errors:"):
            result["socket_errors"] = line.strip()
        elif len(parts) >= 5 and parts[1] == "requests" and parts[2] == "in":
            result["requests"] = int(parts[0])
        elif parts[0] == "Latency" and len(parts) >= 3:
            result["latency_avg_ms"] = to_ms(parts[1])
    print(json.dumps(result))


def cmd_hash_rate(args):
    hasher = hashlib.sha256()
    size = 0
    start = time.monotonic()
    with open(args[0], "rb", buffering=0) as handle:
        while True:
            chunk = handle.read(MIB)
            if not chunk:
                break
            hasher.update(chunk)
            size += len(chunk)
    elapsed = time.monotonic() - start
    print(f"{size / elapsed / 1e6:.1f}")


def cmd_write_fsync(args):
    source, destination = args
    size = 0
    start = time.monotonic()
    with open(source, "rb", buffering=0) as src, open(destination, "wb", buffering=0) as dst:
        while True:
            chunk = src.read(MIB)
            if not chunk:
                break
            dst.write(chunk)
            size += len(chunk)
        os.fsync(dst.fileno())
    elapsed = time.monotonic() - start
    os.unlink(destination)
    print(f"{size / elapsed / 1e6:.1f}")


def read_proc_io(pid):
    """rchar and wchar of PID from /proc/PID/io, or None."""
    try:
        with open(f"/proc/{pid}/io") as handle:
            values = dict(line.split(": ") for line in handle.read().splitlines())
        return int(values["rchar"]), int(values["wchar"])
    except (FileNotFoundError, ProcessLookupError, PermissionError, KeyError, ValueError):
        return None


def child_pid(pid):
    """The first child of PID (from /proc/PID/task/PID/children), or None."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            children = handle.read().split()
        return int(children[0]) if children else None
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None


def cmd_run(args):
    out, split_read, interval = None, None, 0.02
    while args and args[0] != "--":
        option = args.pop(0)
        if option == "--out":
            out = args.pop(0)
        elif option == "--split-read":
            split_read = int(args.pop(0))
        elif option == "--interval":
            interval = float(args.pop(0))
        else:
            sys.exit(f"run: unknown option {option}")
    if not args:
        sys.exit("usage: run [--out FILE] [--split-read BYTES] [--interval S] -- CMD ...")
    command = args[1:]
    # The peak RSS comes from GNU time: a child forked by this Python process starts out with Python's own peak
    # RSS (~20 MiB) in ru_maxrss, while time's children start from time's (~2 MiB).
    gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    rss_file = None
    if gnu_time:
        rss_file = f"{out or '/tmp/benchutil-run'}.{os.getpid()}.maxrss"
        command = [gnu_time, "-f", "%M", "-o", rss_file, "--"] + command
    system_before = system_cpu()
    start = time.monotonic()
    process = subprocess.Popen(command)
    split_at, last_io, target = None, None, None
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG if split_read is not None else 0)
        if pid == process.pid:
            break
        if target is None:
            target = child_pid(process.pid) if gnu_time else process.pid
        io = read_proc_io(target) if target else None
        if io is not None:
            last_io = io
            if split_at is None and io[0] >= split_read:
                split_at = time.monotonic() - start
        time.sleep(interval)
    wall = time.monotonic() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    system_after = system_cpu()
    ncpu = os.cpu_count() or 1
    jiffies = max(system_after[1] - system_before[1], 1)
    system_user = (system_after[2] - system_before[2]) / jiffies * ncpu
    cpu = usage.ru_utime + usage.ru_stime
    maxrss, source = usage.ru_maxrss, "wait4 (includes the Python parent's peak)"
    if rss_file:
        try:
            with open(rss_file) as handle:
                lines = handle.read().split()
            maxrss, source = int(lines[-1]), "GNU time %M"
        except (OSError, ValueError, IndexError):
            pass
        finally:
            if os.path.exists(rss_file):
                os.unlink(rss_file)
    record = {
        "exit_code": process.returncode,
        "wall_s": round(wall, 3),
        "user_s": round(usage.ru_utime, 3),
        "sys_s": round(usage.ru_stime, 3),
        "cpu_s": round(cpu, 3),
        "cpu_cores_used": round(cpu / wall, 3) if wall > 0 else None,
        "maxrss_kib": maxrss,
        "maxrss_source": source,
        # user-mode CPU of everything but CMD and its children: other processes (builds, tests...)
        "other_user_cores": round(max(system_user - usage.ru_utime / wall, 0.0), 3) if wall > 0 else None,
    }
    if split_read is not None:
        record["split_read_bytes"] = split_read
        record["split_s"] = None if split_at is None else round(split_at, 3)
        record["last_rchar"] = last_io[0] if last_io else None
        record["last_wchar"] = last_io[1] if last_io else None
    text = json.dumps(record)
    if out:
        with open(out, "w") as handle:
            handle.write(text + "\n")
    else:
        print(text, file=sys.stderr)
    sys.exit(process.returncode)


def cmd_gen_normal(args):
    """gen-normal FILE MIB [SEED]: float32 values of N(0, 1), like trained weights (zstd barely compresses them)."""
    try:
        import numpy
    except ImportError:
        sys.exit(3)
    path, mib = args[0], int(args[1])
    rng = numpy.random.default_rng(int(args[2]) if len(args) > 2 else 0)
    chunk = 16 * MIB // 4  # 16 MiB of float32 per step
    remaining = mib * MIB // 4
    with open(path, "wb") as handle:
        while remaining > 0:
            count = min(chunk, remaining)
            rng.standard_normal(count, dtype=numpy.float32).tofile(handle)
            remaining -= count


def fmt_mbs(value):
    return f"{value / 1e6:.0f} MB/s"


def fmt_mib(kib):
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def verdict(ok):
    return "met" if ok else "MISSED"


def cmd_summary(args):
    directory = args[0]
    rows = []
    transfer_path = os.path.join(directory, "blob-transfer.json")
    alias_path = os.path.join(directory, "resolve-alias.json")
    if os.path.exists(transfer_path):
        with open(transfer_path) as handle:
            t = json.load(handle)
        up, down = t["upload"], t["download"]
        size = f"{t['size_mib'] // 1024} GiB" if t["size_mib"] % 1024 == 0 else f"{t['size_mib']} MiB"
        rows.append((f"Upload {size} (median of %d)" % t["runs"], fmt_mbs(up["modelctl_median_bps"]),
                     fmt_mbs(up["nginx_median_bps"]), f"{up['ratio']:.0%}", ">= 70 % of nginx",
                     verdict(up["ratio"] >= 0.70)))
        if "nginx_fsync_median_bps" in up:
            rows.append((f"Upload {size} vs nginx + fsync (informational)", fmt_mbs(up["modelctl_median_bps"]),
                         fmt_mbs(up["nginx_fsync_median_bps"]), f"{up['ratio_vs_nginx_fsync']:.0%}", "", ""))
        rows.append((f"Download {size} (median of %d)" % t["runs"], fmt_mbs(down["modelctl_median_bps"]),
                     fmt_mbs(down["nginx_median_bps"]), f"{down['ratio']:.0%}", ">= 50 % of nginx",
                     verdict(down["ratio"] >= 0.50)))
        for label, key in ((size, "rss_upload_large"), (f"{t['small_size_mib']} MiB", "rss_upload_small")):
            r = t[key]
            rows.append((f"RSS growth, {label} upload (worst run)", fmt_mib(r["growth_kib"]),
                         f"base {fmt_mib(r['baseline_kib'])}, peak {fmt_mib(r['peak_kib'])}", "", "< 64 MiB",
                         verdict(r["growth_kib"] < 64 * 1024)))
        if "rss_download" in t:
            r = t["rss_download"]
            rows.append((f"RSS growth, {size} download (worst run)", fmt_mib(r["growth_kib"]),
                         f"base {fmt_mib(r['baseline_kib'])}, peak {fmt_mib(r['peak_kib'])}", "", "(none)", ""))
        for label, key in (("after start", "idle_rss_start_kib"), ("after benchmark", "idle_rss_end_kib")):
            kib = t[key]
            rows.append((f"Idle RSS {label}", f"{fmt_mib(kib)} = {kib * 1024 / 1e6:.1f} MB", "", "", "< 50 MB",
                         verdict(kib * 1024 < 50_000_000)))
    if os.path.exists(alias_path):
        with open(alias_path) as handle:
            a = json.load(handle)
        m, n = a["modelctl"], a["nginx"]
        rows.append(("Resolve alias, req/s", f"{m['requests_per_s']:,.0f}", f"{n['requests_per_s']:,.0f}",
                     f"{m['requests_per_s'] / n['requests_per_s']:.0%}", ">= 4,000 req/s",
                     verdict(m["requests_per_s"] >= 4000)))
        rows.append(("Resolve alias, p50 latency", f"{m['latency_ms']['50']:.2f} ms",
                     f"{n['latency_ms']['50']:.2f} ms", f"{m['latency_ms']['50'] / n['latency_ms']['50']:.1f}x", "",
                     ""))
        rows.append(("Resolve alias, p99 latency", f"{m['latency_ms']['99']:.2f} ms",
                     f"{n['latency_ms']['99']:.2f} ms", f"{m['latency_ms']['99'] / n['latency_ms']['99']:.1f}x",
                     "< 5 ms", verdict(m["latency_ms"]["99"] < 5.0)))
        if "modelctl_noauth" in a:
            none, cost = a["modelctl_noauth"], a["auth_cost"]
            rows.append(("Resolve alias, tokens vs --auth none, req/s", f"{m['requests_per_s']:,.0f}",
                         f"{none['requests_per_s']:,.0f} (--auth none)", f"{cost['ratio_requests_per_s']:.0%}",
                         "(informational)", ""))
            rows.append(("Resolve alias, tokens vs --auth none, p99", f"{m['latency_ms']['99']:.2f} ms",
                         f"{none['latency_ms']['99']:.2f} ms (--auth none)", f"{cost['ratio_p99']:.2f}x",
                         "(informational)", ""))
    package_path = os.path.join(directory, "package.json")
    if os.path.exists(package_path):
        with open(package_path) as handle:
            p = json.load(handle)
        size = f"{p['size_mib'] // 1024} GiB" if p["size_mib"] % 1024 == 0 else f"{p['size_mib']} MiB"
        ours, base = p["modelctl"], p["baseline"]
        rows.append((f"Package + sign {size}, {p['data']} data (median of {p['runs']})",
                     f"{ours['median_s']:.2f} s", f"{base['median_s']:.2f} s (sha256sum + tar --zstd)",
                     f"{p['ratio']:.2f}x", "<= 1.2x baseline", verdict(p["ratio"] <= 1.2)))
        if ours.get("hash_median_s") is not None:
            rows.append(("  hash pass / sha256sum (informational)", f"{ours['hash_median_s']:.2f} s",
                         f"{base['sha256sum_median_s']:.2f} s",
                         f"{ours['hash_median_s'] / base['sha256sum_median_s']:.2f}x", "", ""))
            rows.append(("  archive pass / tar --zstd (informational)", f"{ours['write_median_s']:.2f} s",
                         f"{base['tar_median_s']:.2f} s",
                         f"{ours['write_median_s'] / base['tar_median_s']:.2f}x", "", ""))
        if p.get("baseline_openssl"):
            rows.append(("  vs openssl dgst -sha256 + tar --zstd (informational)", f"{ours['median_s']:.2f} s",
                         f"{p['baseline_openssl']['median_s']:.2f} s", f"{p['ratio_vs_openssl']:.2f}x", "", ""))
        rss = p["rss"]
        rows.append((f"Peak RSS, package {size}", fmt_mib(rss["large_kib"]),
                     f"tar + zstd {fmt_mib(rss['tar_large_kib'])}", "", "", ""))
        rows.append((f"Peak RSS, package {p['small_size_mib']} MiB", fmt_mib(rss["small_kib"]),
                     f"tar + zstd {fmt_mib(rss['tar_small_kib'])}", "",
                     f"flat: +/- {rss['flat_limit_kib'] // 1024} MiB",
                     verdict(abs(rss["large_kib"] - rss["small_kib"]) <= rss["flat_limit_kib"])))
    cli_path = os.path.join(directory, "cli-transfer.json")
    if os.path.exists(cli_path):
        with open(cli_path) as handle:
            c = json.load(handle)
        size = f"{c['size_mib'] // 1024} GiB" if c["size_mib"] % 1024 == 0 else f"{c['size_mib']} MiB"
        target = c["target_ratio"]
        for kind, what in (("push", "{tool} + curl -T"), ("pull", "curl -o + {tool}")):
            entry = c[kind]
            tool = entry["baseline"]["hash_tool"]
            rows.append((f"CLI {kind} {size} (median of {c['runs']})", f"{entry['modelctl']['median_s']:.2f} s",
                         f"{entry['baseline']['median_s']:.2f} s ({what.format(tool=tool)})",
                         f"{entry['ratio']:.2f}x", f"<= {target:.2f}x baseline", verdict(entry["ratio"] <= target)))
        push, pull = c["push"], c["pull"]
        if push["modelctl"].get("hash_median_s") is not None:
            tool = push["baseline"]["hash_tool"]
            rows.append((f"  push: hash pass / {tool} (informational)", f"{push['modelctl']['hash_median_s']:.2f} s",
                         f"{push['baseline']['hash_median_s'][tool]:.2f} s", f"{push['hash_ratio']:.2f}x", "", ""))
            rows.append(("  push: upload + register / curl -T (informational)",
                         f"{push['modelctl']['after_hash_median_s']:.2f} s",
                         f"{push['baseline']['curl_median_s']:.2f} s", f"{push['upload_ratio']:.2f}x", "", ""))
        if pull["modelctl"].get("download_median_s") is not None:
            rows.append(("  pull: download / curl -o (informational)", f"{pull['modelctl']['download_median_s']:.2f} s",
                         f"{pull['baseline']['curl_median_s']:.2f} s", f"{pull['download_ratio']:.2f}x", "", ""))
        startup = c["startup"]
        m, t = startup["modelctl"], startup["true"]
        rows.append((f"modelctl --version start-up, median (p90), {startup['runs']} runs",
                     f"{m['median_ms']:.1f} ms ({m['p90_ms']:.1f} ms)",
                     f"/bin/true {t['median_ms']:.1f} ms ({t['p90_ms']:.1f} ms)", "",
                     f"< {c['startup_target_ms']:.0f} ms", verdict(m["median_ms"] < c["startup_target_ms"])))
        rss = c["rss"]
        for kind in ("push", "pull"):
            small, large = rss[f"{kind}_small_kib"], rss[f"{kind}_large_kib"]
            rows.append((f"Peak RSS, CLI {kind} {c['small_size_mib']} MiB / {size}",
                         f"{fmt_mib(small)} / {fmt_mib(large)}",
                         f"curl {fmt_mib(rss[f'curl_{kind}_large_kib'])}", "",
                         f"flat: +/- {rss['flat_limit_kib'] // 1024} MiB",
                         verdict(abs(large - small) <= rss["flat_limit_kib"])))
    if not rows:
        sys.exit(f"no results in {directory}")
    same_run = os.path.exists(package_path) or os.path.exists(cli_path)
    baseline = "baseline (same run)" if same_run else "baseline (nginx)"
    header = ("metric", "modelctl", baseline, "ratio", "target", "result")
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")


def percentile(values, fraction):
    """Nearest-rank percentile of VALUES (fraction 0.9 = p90)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered) - 1e-9) - 1))
    return ordered[index]


def cmd_exec_time(args):
    """exec-time RUNS [--warmup N] -- CMD ...: wall time of starting CMD and waiting for it, RUNS times."""
    runs, warmup = int(args.pop(0)), 5
    while args and args[0] != "--":
        option = args.pop(0)
        if option == "--warmup":
            warmup = int(args.pop(0))
        else:
            sys.exit(f"exec-time: unknown option {option}")
    command = args[1:]
    if runs < 1 or not command:
        sys.exit("usage: exec-time RUNS [--warmup N] -- CMD ...")
    executable = command[0] if os.sep in command[0] else (shutil.which(command[0]) or command[0])
    devnull = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    times = []
    for index in range(warmup + runs):
        start = time.perf_counter()
        pid = os.posix_spawn(executable, command, os.environ, file_actions=actions)
        _, status = os.waitpid(pid, 0)
        elapsed = (time.perf_counter() - start) * 1000
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            sys.exit(f"exec-time: {' '.join(command)} exited with {code}")
        if index >= warmup:
            times.append(elapsed)
    os.close(devnull)
    print(json.dumps({
        "command": command,
        "runs": runs,
        "warmup": warmup,
        "median_ms": round(statistics.median(times), 3),
        "p90_ms": round(percentile(times, 0.9), 3),
        "min_ms": round(min(times), 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "max_ms": round(max(times), 3),
        "times_ms": [round(t, 3) for t in times],
    }))


def parse_prometheus(path):
    """{(name, ((label, value), ...)): float} of a Prometheus text exposition."""
    samples = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "{" in line:
                name, rest = line.split("{", 1)
                labels_text, value = rest.rsplit("}", 1)
                pairs = re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels_text)
                labels = tuple(sorted((k.strip(), v) for k, v in pairs))
            else:
                name, value = line.split(None, 1)
                labels = ()
            try:
                samples[(name.strip(), labels)] = float(value.split()[0])
            except (ValueError, IndexError):
                continue
    return samples


def cmd_metrics_delta(args):
    """metrics-delta BEFORE AFTER: requests, server seconds and body bytes between two /metrics scrapes."""
    before, after = parse_prometheus(args[0]), parse_prometheus(args[1])
    def delta(key):
        return after.get(key, 0.0) - before.get(key, 0.0)
    routes = {}
    for key in after:
        name, labels = key
        label = dict(labels)
        if "method" not in label or "route" not in label:
            continue
        route = f"{label['method']} {label['route']}"
        if route == "GET /metrics":  # the scrapes themselves
            continue
        if name == "modelctl_http_requests_total":
            count = delta(key)
            if count:
                entry = routes.setdefault(route, {"count": 0, "seconds": 0.0, "statuses": {}})
                entry["count"] += int(count)
                entry["statuses"][label.get("status", "?")] = int(count)
        elif name == "modelctl_http_request_duration_seconds_sum":
            seconds = delta(key)
            if seconds:
                routes.setdefault(route, {"count": 0, "seconds": 0.0, "statuses": {}})["seconds"] += seconds
    for entry in routes.values():
        entry["seconds"] = round(entry["seconds"], 4)
    print(json.dumps({
        "requests": sum(entry["count"] for entry in routes.values()),
        "routes": routes,
        "bytes_in": int(delta(("modelctl_http_request_bytes_total", ()))),
        "bytes_out": int(delta(("modelctl_http_response_bytes_total", ()))),
    }))


def cmd_cpu(args):
    """cpu PID [--since FILE]: CPU seconds of PID, or their growth since FILE (an earlier output)."""
    cpu = process_cpu(int(args[0]))
    if cpu is None:
        sys.exit(f"no such process {args[0]}")
    user, system = cpu
    if len(args) == 3 and args[1] == "--since":
        with open(args[2]) as handle:
            before = json.load(handle)
        user, system = user - before["user_s"], system - before["sys_s"]
    print(json.dumps({"user_s": round(user, 3), "sys_s": round(system, 3)}))


def auth_headers():
    """{"Authorization": "Bearer …"} from BENCH_TOKEN (exported by bench/lib.sh), or {} when it is not set."""
    token = os.environ.get("BENCH_TOKEN", "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def cmd_session_upload(args):
    """session-upload URL FILE DIGEST CHUNK_MIB: a resumable upload with sendfile, the ideal client of the protocol."""
    import http.client
    import urllib.parse
    if len(args) != 4:
        sys.exit("usage: session-upload URL FILE DIGEST CHUNK_MIB")
    url, path, digest, chunk_mib = args
    chunk = int(float(chunk_mib) * MIB)
    target = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=900)
    auth = auth_headers()
    def exchange(method, location):
        connection.request(method, location, headers={"Content-Length": "0", **auth})
        response = connection.getresponse()
        return response.status, response.read()
    size = os.path.getsize(path)
    start = time.monotonic()
    status, body = exchange("POST", "/api/v1/uploads")
    if status != 201:
        sys.exit(f"session-upload: POST /api/v1/uploads answered {status}: {body[:200]!r}")
    location = json.loads(body)["location"]
    created = time.monotonic()
    patches = []
    with open(path, "rb") as handle:
        offset = 0
        while offset < size:
            length = min(chunk, size - offset)
            began = time.monotonic()
            connection.putrequest("PATCH", location, skip_accept_encoding=True)
            connection.putheader("Content-Type", "application/octet-stream")
            connection.putheader("Content-Range", f"bytes {offset}-{offset + length - 1}/*")
            connection.putheader("Content-Length", str(length))
            for name, value in auth.items():
                connection.putheader(name, value)
            connection.endheaders()
            connection.sock.sendfile(handle, offset, length)
            response = connection.getresponse()
            answer = response.read()
            if response.status != 200:
                sys.exit(f"session-upload: PATCH answered {response.status}: {answer[:200]!r}")
            offset = json.loads(answer)["offset"]
            patches.append(time.monotonic() - began)
    sent = time.monotonic()
    status, body = exchange("PUT", location + "?digest=" + urllib.parse.quote(digest, safe=":"))
    if status not in (200, 201):
        sys.exit(f"session-upload: PUT answered {status}: {body[:200]!r}")
    end = time.monotonic()
    connection.close()
    print(json.dumps({
        "chunk_mib": float(chunk_mib),
        "chunks": len(patches),
        "bytes": size,
        "wall_s": round(end - start, 3),
        "create_s": round(created - start, 4),
        "patch_total_s": round(sent - created, 3),
        "patch_median_s": round(statistics.median(patches), 4),
        "patch_max_s": round(max(patches), 4),
        "finish_s": round(end - sent, 4),
        "finish_status": status,
        "bytes_per_s": round(size / (end - start)),
    }))


COMMANDS = {
    "free-port": cmd_free_port,
    "busy": cmd_busy,
    "wait-quiet": cmd_wait_quiet,
    "rss": cmd_rss,
    "memory": cmd_memory,
    "fsync": cmd_fsync,
    "watch": cmd_watch,
    "median": cmd_median,
    "wrk-parse": cmd_wrk_parse,
    "hash-rate": cmd_hash_rate,
    "write-fsync": cmd_write_fsync,
    "run": cmd_run,
    "gen-normal": cmd_gen_normal,
    "summary": cmd_summary,
    "exec-time": cmd_exec_time,
    "metrics-delta": cmd_metrics_delta,
    "cpu": cmd_cpu,
    "session-upload": cmd_session_upload,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])
