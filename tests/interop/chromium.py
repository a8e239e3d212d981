"""A real browser for the interop tests: Debian's headless Chromium driven by selenium through the
system chromedriver (never selenium-manager: nothing is downloaded), trusting the dev CA through
an NSS database of its own (TLS stays verified), plus a small loopback web site standing in for
client apps (it serves files and records the redirects it receives).
"""

import os
import shutil
import subprocess
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CERTUTIL = "certutil"
WAIT_S = 30


def require_tools():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if shutil.which(CERTUTIL) is None:
        missing.append(CERTUTIL)
    assert not missing, (
        f"the real-browser tests need Debian's chromium, chromium-driver and libnss3-tools; missing {missing} "
        "(.ci/run installs them)"
    )


def trusting_home(home: Path, ca_cert: str) -> Path:
    """A HOME whose NSS database (what Chromium on Linux trusts) holds the dev CA."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    subprocess.run([CERTUTIL, "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(
        [CERTUTIL, "-A", "-d", f"sql:{nssdb}", "-t", "C,,", "-n", "tokengate dev CA", "-i", ca_cert],
        check=True,
        capture_output=True,
    )
    return home


def start_chromium(home: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # --no-sandbox: CI runs as root. No certificate flags: the dev CA is trusted via NSS.
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--no-first-run", "--password-store=basic", f"--user-data-dir={home / 'profile'}"):
        options.add_argument(arg)
    service = Service(executable_path=CHROMEDRIVER, env={**os.environ, "HOME": str(home)})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(WAIT_S)
    return driver


def forget_everything(driver):
    """A new person at the same browser: no cookies (SSO session) and no site storage."""
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.execute_cdp_cmd("Storage.clearDataForOrigin", {"origin": "*", "storageTypes": "all"})


def _look_again_if_replaced(condition, driver):
    """`condition(driver)`, or False when the page was replaced between finding an element and
    reading it (chromedriver reports that as a stale element, or as an inspector error naming a
    node that "does not belong to the document"): the next poll looks at the new page."""
    try:
        return condition(driver)
    except (NoSuchElementException, StaleElementReferenceException):
        return False
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return False
        raise


def wait_until(driver, condition, what, timeout=WAIT_S):
    """Polls `condition(driver)` until truthy (bounded); the failure names what and where."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: _look_again_if_replaced(condition, d))
    except Exception as exc:
        raise AssertionError(
            f"{what}: not within {timeout} s ({type(exc).__name__}: {str(exc)[:200]}); at {driver.current_url!r}, "
            f"page text:\n{page_text(driver)[:600]}"
        ) from exc


def page_text(driver):
    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except Exception:  # noqa: BLE001 - only for failure messages
        return "<no body>"


def present(driver, css):
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0] if found else None


def sign_in(driver, username, password):
    """Fill and submit the issuer's sign-in page shown now (a person typing and clicking)."""
    wait_until(driver, lambda d: present(d, "input#password"), "the sign-in page")
    field = driver.find_element(By.CSS_SELECTOR, "input#username")
    field.clear()
    field.send_keys(username)
    driver.find_element(By.CSS_SELECTOR, "input#password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def click_accept(driver):
    """The consent (or device confirmation) page: press Accept."""
    button = wait_until(driver, lambda d: present(d, "button[name=decision][value=accept]"), "the consent page")
    button.click()


class LoopbackSite:
    """http://localhost:PORT/ serving `root` (if any) and `extra` paths from memory, recording
    every request path with its query (where authorization answers arrive)."""

    def __init__(self, root=None):
        self.requests = []
        self.extra = {}
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root or os.devnull), **kwargs)

            def do_GET(self):  # noqa: N802 - http.server's name
                site.requests.append(self.path)
                body = site.extra.get(urlsplit(self.path).path)
                if body is not None:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif root is None:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"signed in\n")
                else:
                    super().do_GET()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self):
        return f"http://localhost:{self.port}"

    def answer(self, driver=None, key="code", timeout=WAIT_S):
        """The query parameters of the first request carrying `key` (bounded wait); `driver`
        only tells, on failure, where the browser stopped."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in list(self.requests):
                params = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
                if key in params or "error" in params:
                    return params
            time.sleep(0.05)
        where = f"; browser at {driver.current_url!r}: {page_text(driver)[:600]!r}" if driver else ""
        raise AssertionError(f"no request with {key!r} reached {self.origin} within {timeout} s: {self.requests}{where}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()
