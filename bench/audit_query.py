#!/usr/bin/env python3
"""Audit query latency through the admin API: a mix of filtered pages an operator runs on a large
log, each repeated; prints p50/p99 per query and over the indexed mix (target p99 < 200 ms), and the
worst case (a filter no index serves, matching nothing: a full scan) separately.

Usage: audit_query.py --admin URL --token TOKEN --records N [--repeat 20]
The records were bulk-loaded by bench/audit.sh: record i has client client-(i%1000), subject
user-(i%100000), token uti-(i/10), id 00000000-0000-4000-8000-<i, 12 digits>, denied when i%20 == 0 (reason insufficient_scope,
route route-0), route route-(i%10), at_ms = START + i*STEP.
"""
import argparse
import json
import statistics
import time
import urllib.parse
import urllib.request


def pct(values, p):
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--admin", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--start-ms", type=int, required=True)
    ap.add_argument("--step-ms", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    n = args.records
    mid_ms = args.start_ms + (n // 2) * args.step_ms
    indexed = {
        "client (10k matches)": {"client": "client-517"},
        "token id (10 matches)": {"token_id": f"uti-{n // 20}"},
        "subject (100 matches)": {"subject": "user-4242"},
        "decision id (1 match)": {"decision_id": f"00000000-0000-4000-8000-{n // 2:012d}"},
        "time window, 1 h": {"since": ms_iso(mid_ms), "until": ms_iso(mid_ms + 3_600_000)},
        "client + denied": {"client": "client-20", "outcome": "denied"},
        "denied + reason": {"outcome": "denied", "reason": "insufficient_scope"},
        "client, page 3 by cursor": "pages",
    }
    worst = {"no match, no index (full scan)": {"route": "route-7", "outcome": "denied"}}
    all_times = []
    lines = []
    for name, query in list(indexed.items()) + list(worst.items()):
        times = []
        for _ in range(args.repeat if name not in worst else 3):
            started = time.perf_counter()
            if query == "pages":
                cursor = ""
                for _ in range(3):
                    page = get(args, {"client": "client-3", "limit": "100", "cursor": cursor})
                    cursor = page["next_cursor"] or ""
            else:
                page = get(args, dict(query, limit="100"))
                if name not in worst and not page["items"]:
                    raise SystemExit(f"{name}: no records: {query}")
            times.append((time.perf_counter() - started) * 1000)
        if name not in worst:
            all_times.extend(times)
        lines.append(f"  {name:34} p50 {statistics.median(times):8.1f} ms   p99 {pct(times, 99):8.1f} ms")
    print("\n".join(lines))
    print(f"indexed mix over {n} records: p50 {statistics.median(all_times):.1f} ms, p99 {pct(all_times, 99):.1f} ms (target p99 < 200 ms)")


def ms_iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def get(args, query):
    url = f"{args.admin}/admin/v1/audit?{urllib.parse.urlencode({k: v for k, v in query.items() if v != ''})}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {args.token}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


if __name__ == "__main__":
    main()
