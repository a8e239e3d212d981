"""Session fixtures: one `tokengate dev` process for the whole interop run.

The server is started on port 0 for every listener; the actual addresses come from
`<data-dir>/dev.json` (the quickstart contract in DESIGN.md). TLS is verified against the
dev CA named there: nothing in these tests turns verification off.
"""

import json
import os
import ssl
import subprocess
import time
from pathlib import Path

import jwt
import pytest
import requests

DEFAULT_BIN = str(Path(__file__).resolve().parents[2] / "target" / "debug" / "tokengate")
START_DEADLINE_S = 60.0
STOP_DEADLINE_S = 10.0
POLL_INTERVAL_S = 0.1


def _tail(path: Path, limit: int = 8000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<could not read {path}: {exc}>"
    return text[-limit:]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_DEADLINE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_DEADLINE_S)


def _load_dev_json(path: Path):
    """dev.json may be seen half-written: only a complete JSON object counts."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="session")
def tokengate(tmp_path_factory):
    """Start `tokengate dev`, wait for dev.json and a listening issuer, yield dev.json."""
    yield from run_tokengate_dev(tmp_path_factory, "tokengate")


def run_tokengate_dev(tmp_path_factory, name: str):
    """A generator fixture body: one `tokengate dev` process of its own (all ports picked by the
    OS, loopback only), yielding its dev.json once the issuer answers; stopped afterwards.
    Tests that change the directory destructively start their own with this."""
    binary = os.environ.get("TOKENGATE_BIN", DEFAULT_BIN)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        pytest.fail(
            f"tokengate binary not found or not executable at {binary!r} "
            "(build it first or set TOKENGATE_BIN)",
            pytrace=False,
        )

    base = tmp_path_factory.mktemp(name)
    data_dir = base / "dev"  # not created: `dev` must create it
    stdout_path = base / "stdout.log"
    stderr_path = base / "stderr.log"
    dev_json_path = data_dir / "dev.json"

    cmd = [
        binary, "dev",
        "--data-dir", str(data_dir),
        "--issuer-port", "0",
        "--gateway-port", "0",
        "--admin-port", "0",
    ]
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)

    saved_env = {k: os.environ.get(k) for k in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}
    try:
        deadline = time.monotonic() + START_DEADLINE_S

        def check_alive(stage: str) -> None:
            rc = proc.poll()
            if rc is not None:
                pytest.fail(
                    f"tokengate exited early ({stage}) with code {rc}\n"
                    f"command: {' '.join(cmd)}\n"
                    f"--- stderr ---\n{_tail(stderr_path)}\n"
                    f"--- stdout ---\n{_tail(stdout_path, 2000)}",
                    pytrace=False,
                )

        dev = None
        while dev is None:
            check_alive("waiting for dev.json")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no complete {dev_json_path} within {START_DEADLINE_S:.0f} s\n"
                    f"--- stderr ---\n{_tail(stderr_path)}",
                    pytrace=False,
                )
            dev = _load_dev_json(dev_json_path)
            if dev is None:
                time.sleep(POLL_INTERVAL_S)

        for key in ("authority", "tenant_id", "issuer", "ca_cert", "api", "confidential_client"):
            assert key in dev, f"dev.json lacks {key!r}: {sorted(dev)}"
        ca_cert = dev["ca_cert"]
        assert os.path.isabs(ca_cert) and os.path.isfile(ca_cert), (
            f"dev.json ca_cert must be an absolute path to an existing file, got {ca_cert!r}"
        )

        # requests (and so MSAL and azure-identity) read REQUESTS_CA_BUNDLE on every request;
        # urllib/OpenSSL default verify paths honour SSL_CERT_FILE.
        os.environ["REQUESTS_CA_BUNDLE"] = ca_cert
        os.environ["SSL_CERT_FILE"] = ca_cert

        # dev.json is written once the ports are known; make sure the issuer answers HTTPS
        # with a certificate our CA vouches for before handing out the fixture.
        probe = dev["authority"].rstrip("/") + "/v2.0/.well-known/openid-configuration"
        last_error = None
        while True:
            check_alive("waiting for the issuer to answer")
            try:
                requests.get(probe, timeout=5, verify=ca_cert)
                break
            except requests.exceptions.SSLError as exc:
                pytest.fail(f"TLS to the issuer failed with the dev CA {ca_cert}: {exc}", pytrace=False)
            except requests.exceptions.ConnectionError as exc:
                last_error = exc
            if time.monotonic() > deadline:
                pytest.fail(
                    f"issuer never answered {probe} within {START_DEADLINE_S:.0f} s: {last_error}\n"
                    f"--- stderr ---\n{_tail(stderr_path)}",
                    pytrace=False,
                )
            time.sleep(POLL_INTERVAL_S)

        dev["_data_dir"] = str(data_dir)
        dev["_stderr_log"] = str(stderr_path)
        yield dev
    finally:
        _stop(proc)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def dev(tokengate):
    return tokengate


@pytest.fixture(scope="session")
def discovery(dev):
    url = dev["authority"].rstrip("/") + "/v2.0/.well-known/openid-configuration"
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200, f"GET {url} -> {resp.status_code}: {resp.text[:500]}"
    doc = resp.json()
    for key in ("issuer", "token_endpoint", "jwks_uri", "authorization_endpoint"):
        assert key in doc, f"discovery lacks {key!r}: {sorted(doc)}"
    return doc


@pytest.fixture(scope="session")
def jwks(discovery):
    resp = requests.get(discovery["jwks_uri"], timeout=10)
    assert resp.status_code == 200, (
        f"GET {discovery['jwks_uri']} -> {resp.status_code}: {resp.text[:500]}"
    )
    doc = resp.json()
    assert isinstance(doc.get("keys"), list) and doc["keys"], f"JWKS has no keys: {doc}"
    return doc


@pytest.fixture(scope="session")
def jwk_client(dev, discovery):
    """PyJWT's own JWKS client (urllib), trusting only the dev CA."""
    ctx = ssl.create_default_context(cafile=dev["ca_cert"])
    return jwt.PyJWKClient(discovery["jwks_uri"], cache_keys=True, ssl_context=ctx, timeout=10)


@pytest.fixture(scope="session")
def dashboard_dev(tmp_path_factory):
    """A `tokengate dev` for the dashboard tests alone (they revoke, rotate and publish). Its CA
    is not made the process-wide default: the interop run's own server keeps that."""
    saved = {k: os.environ.get(k) for k in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}
    server = run_tokengate_dev(tmp_path_factory, "dashboard")
    dev = next(server)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield dev
    finally:
        next(server, None)


@pytest.fixture(scope="session")
def dashboard_driver(dashboard_dev, tmp_path_factory):
    """One headless Chromium for the dashboard tests, trusting the dev CA."""
    import chromium

    chromium.require_tools()
    home = chromium.trusting_home(tmp_path_factory.mktemp("dashboard-chromium"), dashboard_dev["ca_cert"])
    driver = chromium.start_chromium(home)
    driver.set_window_size(1366, 900)
    try:
        yield driver
    finally:
        driver.quit()

