#!/usr/bin/env python3
"""What one gateway audit record costs SQLite itself, by storage layout (issue #13).

Runs the store's own SQLite migrations (crates/tokengate-store/migrations/sqlite) on a fresh
database in a temporary directory, then commits BATCHES transactions of BATCH gateway records each,
the way the audit writer does (one multi-row INSERT per batch, then the chain head moves), and
prints the microseconds per record for:

  row per record       today's layout: one `audit_events` row per decision, five lookup indexes
  without the indexes  the same rows with no index but the seq key (what the indexes cost)
  row per batch        one row per committed batch holding its records as JSON lines, plus one
                       lookup row per distinct token, subject and client in the batch (a layout
                       tokengate does not have: the next step this measures)

`PRAGMA synchronous = OFF`: the fsync is paid once per batch and the writer waits for it off the
request path, so this measures CPU, the resource a 2-core gateway runs out of. The records are
the shape of `bench/gateway.sh`'s repeated-token scenario: one token, subject and client, with new
ids, times and hashes. The layouts are interleaved over ROUNDS rounds; medians are printed.

Usage: python3 bench/audit_row_cost.py        (environment: ROUNDS=3 BATCH=300 BATCHES=200)
"""

import glob
import hashlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIGRATIONS = os.path.join(ROOT, "crates", "tokengate-store", "migrations", "sqlite")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BATCH = int(os.environ.get("BATCH", "300"))
BATCHES = int(os.environ.get("BATCHES", "200"))

COLUMNS = ("seq, prev_hash, chain_hash, id, at_ms, source, action, outcome, reason, tenant_id, "
           "client_id, subject, token_id, client_ip, status, latency_us, detail")
LOOKUP_INDEXES = ("audit_events_at", "audit_events_id", "audit_events_token", "audit_events_subject",
                  "audit_events_client")
DETAIL = json.dumps({
    "host": "127.0.0.1", "method": "GET", "path": "/demo/", "policy_version": "v1", "route": "demo",
    "token": {"aud": ["05e1f7a7-d59f-4afd-a348-8bc321e139fe"], "issuer": "tokengate",
              "roles": ["Demo.Read.All"], "ver": "2.0"},
}, separators=(",", ":"), sort_keys=True)
TENANT, CLIENT, SUBJECT = (str(uuid.uuid4()) for _ in range(3))
TOKEN_ID = "6he5ltKSp95demB8rI_Dhg"


def migrated_database(directory):
    path = os.path.join(directory, "audit.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    for migration in sorted(glob.glob(os.path.join(MIGRATIONS, "*.sql"))):
        db.executescript(migration_text(migration))
    return db


def migration_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def records(start_seq, count, prev):
    """`count` chained gateway records after seq `start_seq - 1` whose hash was `prev`."""
    rows = []
    for seq in range(start_seq, start_seq + count):
        chain = hashlib.sha256(prev.encode() + str(seq).encode()).hexdigest()
        rows.append((seq, prev, chain, str(uuid.uuid4()), int(time.time() * 1000), "gateway",
                     "gateway.request", "allowed", None, TENANT, CLIENT, SUBJECT, TOKEN_ID,
                     "127.0.0.1", 200, 850, DETAIL))
        prev = chain
    return rows, prev


def prepared_batches():
    """Every batch's rows, made before the clock starts (the writer has them ready too)."""
    batches, prev, seq = [], "0" * 64, 1
    for _ in range(BATCHES):
        rows, prev = records(seq, BATCH, prev)
        batches.append(rows)
        seq += BATCH
    return batches


def row_per_record(db, batches, indexes=True):
    if not indexes:
        for name in LOOKUP_INDEXES:
            db.execute(f"DROP INDEX {name}")
    insert = f"INSERT INTO audit_events ({COLUMNS}) VALUES ({', '.join('?' * 17)})"
    started = time.perf_counter()
    for rows in batches:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(insert, rows)
        db.execute("UPDATE audit_chain_head SET seq = ?, chain_hash = ? WHERE id = 1", (rows[-1][0], rows[-1][2]))
        db.execute("COMMIT")
    return time.perf_counter() - started


def row_per_batch(db, batches):
    db.executescript("""
        CREATE TABLE audit_batches (first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL,
            first_at_ms INTEGER NOT NULL, last_at_ms INTEGER NOT NULL, records TEXT NOT NULL);
        CREATE INDEX audit_batches_at ON audit_batches(last_at_ms);
        CREATE TABLE audit_batch_lookups (kind INTEGER NOT NULL, value TEXT NOT NULL,
            first_seq INTEGER NOT NULL, PRIMARY KEY (kind, value, first_seq)) WITHOUT ROWID;
    """)
    names = COLUMNS.split(", ")
    # Encoded before the clock starts, as the rows are: the writer renders each record's text anyway.
    packed = []
    for rows in batches:
        lines = "\n".join(json.dumps(dict(zip(names, r)), separators=(",", ":")) for r in rows)
        lookups = sorted({(kind, r[column], rows[0][0]) for r in rows for kind, column in ((1, 12), (2, 11), (3, 10))})
        packed.append((rows, lines, lookups))
    started = time.perf_counter()
    for rows, lines, lookups in packed:
        first = rows[0][0]
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO audit_batches VALUES (?, ?, ?, ?, ?)",
                   (first, rows[-1][0], rows[0][4], rows[-1][4], lines))
        db.executemany("INSERT INTO audit_batch_lookups VALUES (?, ?, ?)", lookups)
        db.execute("UPDATE audit_chain_head SET seq = ?, chain_hash = ? WHERE id = 1", (rows[-1][0], rows[-1][2]))
        db.execute("COMMIT")
    return time.perf_counter() - started


def main():
    layouts = {
        "row per record": lambda db, b: row_per_record(db, b),
        "without the indexes": lambda db, b: row_per_record(db, b, indexes=False),
        "row per batch": row_per_batch,
    }
    results = {name: [] for name in layouts}
    for _ in range(ROUNDS):
        batches = prepared_batches()
        for name, run in layouts.items():
            with tempfile.TemporaryDirectory(prefix="tokengate-audit-cost-") as directory:
                db = migrated_database(directory)
                elapsed = run(db, batches)
                db.close()
            results[name].append(elapsed / (BATCH * BATCHES) * 1e6)
    print(f"SQLite {sqlite3.sqlite_version}, {BATCHES} batches of {BATCH} gateway records, "
          f"synchronous=OFF, medians of {ROUNDS} interleaved rounds")
    print("| layout | µs per record | rounds |")
    print("|---|---:|---|")
    for name, values in results.items():
        print(f"| {name} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
