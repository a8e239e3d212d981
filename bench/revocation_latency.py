#!/usr/bin/env python3
"""Revocation-to-deny latency across gateway nodes on one Postgres (issue #10's benchmark).

Starts, on a database of its own: `tokengate dev --store postgres://...` (issuer + admin + gateway)
and GATEWAYS gateway-only `tokengate serve` nodes. Mints REVOCATIONS app tokens, checks each passes
on every gateway-only node, then revokes it through the issuer's RFC 7009 endpoint and polls every
gateway-only node (keep-alive connections, no pause) until each answers 401. The latency of one
revocation is from the moment the revocation request is sent until the LAST node denies. Prints
median, p90, p99 and max, and writes them to bench/out/revocation_latency.md.

Only the standard library: run with any python3. Usage:
  bench/revocation_latency.py --bin target/release/tokengate --pg postgres://postgres@127.0.0.1:5432/test
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import uuid


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True, capture_output=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def status(conn, path, token):
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    r = conn.getresponse()
    r.read()
    return r.status


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default="target/release/tokengate")
    p.add_argument("--pg", default=os.environ.get("TOKENGATE_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test"))
    p.add_argument("--revocations", type=int, default=200)
    p.add_argument("--gateways", type=int, default=2)
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "revocation_latency.md"))
    args = p.parse_args()
    binary = os.path.abspath(args.bin)

    db = f"tg_bench_{uuid.uuid4().hex}"
    psql(args.pg, f"CREATE DATABASE {db}")
    base = args.pg.split("?")[0]
    store = base[: base.rfind("/")] + "/" + db
    tmp = tempfile.mkdtemp(prefix="tg-revocation-bench-")
    procs = []
    try:
        env = dict(os.environ, TOKENGATE_LOG="warn")
        dev_dir = os.path.join(tmp, "dev")
        procs.append(subprocess.Popen(
            [binary, "dev", "--store", store, "--data-dir", dev_dir, "--issuer-port", "0", "--gateway-port", "0", "--admin-port", "0"],
            env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "dev.log"), "w")))
        wait_for("dev.json", lambda: os.path.exists(os.path.join(dev_dir, "dev.json")))
        time.sleep(0.2)
        dev = json.load(open(os.path.join(dev_dir, "dev.json")))
        authority = urllib.parse.urlparse(dev["authority"])
        issuer_url = f"https://{authority.netloc}"
        policy = open(dev["gateway_policy"]).read()

        nodes = []
        for i in range(args.gateways):
            d = os.path.join(tmp, f"gw{i}")
            os.makedirs(d)
            open(os.path.join(d, "gateway.toml"), "w").write(policy)
            gw, admin = free_port(), free_port()
            open(os.path.join(d, "tokengate.toml"), "w").write(
                f'[store]\nurl = "{store}"\n[gateway]\nlisten = "127.0.0.1:{gw}"\npolicy_file = "gateway.toml"\n'
                f'builtin_issuer_url = "{issuer_url}"\n[admin]\nlisten = "127.0.0.1:{admin}"\n')
            procs.append(subprocess.Popen([binary, "serve", "--config", os.path.join(d, "tokengate.toml")], env=env,
                                          stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "node.log"), "w")))
            nodes.append((gw, admin))
        for _, admin in nodes:
            def ready(admin=admin):
                c = http.client.HTTPConnection("127.0.0.1", admin, timeout=2)
                c.request("GET", "/readyz")
                return c.getresponse().status == 200
            wait_for(f"gateway node on admin port {admin}", ready)

        ctx = ssl.create_default_context(cafile=dev["ca_cert"])
        issuer = http.client.HTTPSConnection(authority.hostname, authority.port, context=ctx, timeout=30)
        client_id = dev["confidential_client"]["client_id"]
        secret = dev["confidential_client"]["client_secret"]
        scope = dev["api"]["app_id_uri"] + "/.default"
        tenant_path = authority.path

        def post(path, form):
            issuer.request("POST", tenant_path + path, body=urllib.parse.urlencode(form),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
            r = issuer.getresponse()
            return r.status, r.read()

        tokens = []
        for _ in range(args.revocations):
            st, body = post("/oauth2/v2.0/token", {"grant_type": "client_credentials", "client_id": client_id,
                                                    "client_secret": secret, "scope": scope})
            assert st == 200, body
            tokens.append(json.loads(body)["access_token"])

        route = dev["api"]["demo_route"] + "x"
        conns = [http.client.HTTPConnection("127.0.0.1", gw, timeout=10) for gw, _ in nodes]
        latencies = []
        for token in tokens:
            for c in conns:
                assert status(c, route, token) == 200
            started = time.perf_counter()
            st, body = post("/oauth2/v2.0/revoke", {"client_id": client_id, "client_secret": secret, "token": token,
                                                     "token_type_hint": "access_token"})
            assert st == 200, (st, body)
            pending = list(conns)
            deadline = started + 10
            while pending:
                pending = [c for c in pending if status(c, route, token) != 401]
                if time.perf_counter() > deadline:
                    raise SystemExit("a node still accepted a revoked token 10 s later")
            latencies.append((time.perf_counter() - started) * 1000)

        latencies.sort()
        q = statistics.quantiles(latencies, n=100)
        line = (f"{len(latencies)} revocations, {args.gateways} gateway-only nodes on Postgres: revocation request sent -> "
                f"last node denies: median {statistics.median(latencies):.1f} ms, p90 {q[89]:.1f} ms, "
                f"p99 {q[98]:.1f} ms, max {latencies[-1]:.1f} ms")
        print(line)
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        open(args.out, "w").write(line + "\n")
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        subprocess.run(["psql", "-X", "-q", args.pg, "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], capture_output=True)
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    main()
