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
                                     package.json) as a table
"""

import hashlib
import json
import os
import resource
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
    if not rows:
        sys.exit(f"no results in {directory}")
    baseline = "baseline (same run)" if os.path.exists(package_path) else "baseline (nginx)"
    header = ("metric", "modelctl", baseline, "ratio", "target", "result")
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")


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
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])
