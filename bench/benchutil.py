#!/usr/bin/env python3
"""Small helpers for the modelctl benchmark scripts (Python 3 standard library only).

Subcommands:
  free-port                          print a free TCP port on 127.0.0.1
  rss PID                            print VmRSS of PID in KiB
  watch --pid PID [--pid PID ...] [--interval S] [--out FILE] -- CMD ...
                                     run CMD; while it runs sample VmRSS of the first PID every S seconds (0.1 by
                                     default) and count the CPU time of every PID (all threads). Prints CMD's stdout,
                                     then writes a JSON record to FILE (or stderr): baseline/peak/end RSS, growth,
                                     CPU seconds, wall seconds, exit code.
  median V ...                       print the median of the values
  wrk-parse FILE                     parse `wrk --latency` output into JSON (req/s, p50/p75/p90/p99 in ms, errors)
  hash-rate FILE                     SHA-256 throughput of one core over FILE (MB/s), read in 1 MiB chunks
  write-fsync SRC DST                copy SRC to DST in 1 MiB chunks, fsync, print MB/s (disk write + fsync baseline)
  summary DIR                        print the results in DIR (blob-transfer.json, resolve-alias.json) as a table
"""

import hashlib
import json
import os
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


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        # fields[0] is state (field 3); utime is field 14, stime field 15 (1-based, in the full line).
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def cmd_free_port(_args):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        print(sock.getsockname()[1])


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
    cpu_before = [cpu_seconds(pid) or 0.0 for pid in pids]
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
    cpu_after = [cpu_seconds(pid) or 0.0 for pid in pids]
    cpu = sum(after - before for before, after in zip(cpu_before, cpu_after))
    sys.stdout.write(output.decode(errors="replace"))
    sys.stdout.flush()
    record = {
        "exit_code": process.returncode,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "cpu_cores_used": round(cpu / wall, 3) if wall > 0 else None,
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
        rows.append(("Upload 1 GiB (median of %d)" % t["runs"], fmt_mbs(up["modelctl_median_bps"]),
                     fmt_mbs(up["nginx_median_bps"]), f"{up['ratio']:.0%}", ">= 70 % of nginx",
                     verdict(up["ratio"] >= 0.70)))
        rows.append(("Download 1 GiB (median of %d)" % t["runs"], fmt_mbs(down["modelctl_median_bps"]),
                     fmt_mbs(down["nginx_median_bps"]), f"{down['ratio']:.0%}", ">= 50 % of nginx",
                     verdict(down["ratio"] >= 0.50)))
        for label, key in (("1 GiB", "rss_upload_large"), ("256 MiB", "rss_upload_small")):
            r = t[key]
            rows.append((f"RSS growth, {label} upload (worst run)", fmt_mib(r["growth_kib"]),
                         f"base {fmt_mib(r['baseline_kib'])}, peak {fmt_mib(r['peak_kib'])}", "", "< 64 MiB",
                         verdict(r["growth_kib"] < 64 * 1024)))
        for label, key in (("after start", "idle_rss_start_kib"), ("after benchmark", "idle_rss_end_kib")):
            kib = t[key]
            rows.append((f"Idle RSS {label}", fmt_mib(kib), "", "", "< 50 MB",
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
    if not rows:
        sys.exit(f"no results in {directory}")
    header = ("metric", "modelctl", "baseline (nginx)", "ratio", "target", "result")
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")


COMMANDS = {
    "free-port": cmd_free_port,
    "rss": cmd_rss,
    "watch": cmd_watch,
    "median": cmd_median,
    "wrk-parse": cmd_wrk_parse,
    "hash-rate": cmd_hash_rate,
    "write-fsync": cmd_write_fsync,
    "summary": cmd_summary,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])
