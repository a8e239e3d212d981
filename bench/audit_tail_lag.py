#!/usr/bin/env python3
"""Audit tail delivery lag: follows GET /admin/v1/audit/tail (server-sent events) while wrk drives
gateway decisions, and measures for every gateway record the time from its decision (`at_ms`) to
its arrival here. Prints the decision rate seen, p50/p99/max lag, and whether any seq was skipped
or repeated.

Usage: audit_tail_lag.py --admin URL --token TOKEN --seconds N -- WRK_ARGS...
"""
import argparse
import json
import subprocess
import threading
import time
import urllib.request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--admin", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("wrk", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    lags, seqs = [], []
    stop = threading.Event()

    def follow():
        request = urllib.request.Request(
            f"{args.admin}/admin/v1/audit/tail?action=gateway.request",
            headers={"Authorization": f"Bearer {args.token}", "Accept": "text/event-stream"},
        )
        with urllib.request.urlopen(request, timeout=60) as stream:
            for raw in stream:
                if stop.is_set():
                    return
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    record = json.loads(line[6:])
                    lags.append(time.time() * 1000 - record["at_ms"])
                    seqs.append(record["seq"])

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    time.sleep(1)
    wrk = [a for a in args.wrk if a != "--"]
    subprocess.run(["wrk", f"-d{args.seconds}s", *wrk], check=True, stdout=subprocess.DEVNULL)
    time.sleep(2)  # the last records arrive
    stop.set()
    if not lags:
        raise SystemExit("no records arrived on the tail")
    ordered = sorted(lags)
    pct = lambda p: ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
    gaps = sum(1 for a, b in zip(seqs, seqs[1:]) if b != a + 1)
    print(
        f"audit tail: {len(lags)} gateway records in {args.seconds} s of load "
        f"({len(lags) / args.seconds:.0f}/s); lag p50 {pct(50):.0f} ms, p99 {pct(99):.0f} ms, max {ordered[-1]:.0f} ms; "
        f"{gaps} seq gaps or repeats (other actions interleave: only gateway records are followed)"
    )


if __name__ == "__main__":
    main()
