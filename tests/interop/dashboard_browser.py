"""The dashboard in a real browser: a `tokengate dev` of its own (the dashboard tests revoke, rotate
and change policy, so they never share the interop run's server), headless Chromium trusting the
dev CA, signing in as a person does (dashboard -> issuer sign-in page -> back), and screenshots of
each page, wide and narrow, under target/dashboard-screenshots/ (TOKENGATE_SCREENSHOT_DIR).
"""

import os
from pathlib import Path

import requests
from selenium.webdriver.common.by import By

import chromium
from chromium import present, wait_until

SCREENSHOT_DIR = Path(
    os.environ.get("TOKENGATE_SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "target" / "dashboard-screenshots")
)
WIDE = (1366, 900)
NARROW = (390, 844)


def dashboard_url(dev, path="/dashboard/"):
    return dev["dashboard_url"].rstrip("/").removesuffix("/dashboard") + path


def sign_in_to_dashboard(driver, dev, who="admin_user", path="/dashboard/"):
    """Open `path` signed out, sign in at the issuer as dev.json's `who`, land back on `path`."""
    chromium.forget_everything(driver)
    driver.get(dashboard_url(dev, path))
    chromium.sign_in(driver, dev[who]["username"], dev[who]["password"])
    wait_until(driver, lambda d: present(d, "nav.sections"), f"the dashboard after signing in as {who}")
    assert driver.current_url.startswith(dashboard_url(dev, path.split("?")[0])), driver.current_url


def go(driver, dev, path, ready_css="main h1"):
    driver.get(dashboard_url(dev, path))
    return wait_until(driver, lambda d: present(d, ready_css), f"the page {path}")


def heading(driver):
    return driver.find_element(By.CSS_SELECTOR, "main h1").text


def flash(driver):
    """The one-time message at the top of the page, or ''."""
    found = present(driver, "p.flash")
    return found.text if found else ""


def submit(driver, form_css):
    """Press the submit button of the form `form_css` (as a person clicks it)."""
    driver.find_element(By.CSS_SELECTOR, f"{form_css} button[type=submit]").click()


def fill(driver, css, text):
    field = driver.find_element(By.CSS_SELECTOR, css)
    field.clear()
    field.send_keys(text)


def screenshot(driver, name):
    """`name`-wide.png and `name`-narrow.png of the page shown now (full page height)."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in (("wide", WIDE), ("narrow", NARROW)):
        driver.set_window_size(width, height)
        full = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(max(height, full), 6000))
        driver.save_screenshot(str(SCREENSHOT_DIR / f"{name}-{label}.png"))
    driver.set_window_size(*WIDE)


def client_token(dev, client=None, resource=None):
    """A client-credentials token of `client` (default: the dev confidential client) for
    `resource` (default: the demo API)."""
    client = client or dev["confidential_client"]
    resource = (resource or dev["api"]["app_id_uri"]).rstrip("/")
    resp = requests.post(
        dev["token_endpoint"],
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
            "scope": f"{resource}/.default",
        },
        verify=dev["ca_cert"],
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def admin_token(dev, auditor=False):
    """An app-only admin API token (the dev admin or auditor client), for arranging and checking
    state through the API beside the browser."""
    return client_token(dev, dev["auditor"] if auditor else dev["admin"], dev["admin"]["app_id_uri"])


def api(dev, method, path, **kwargs):
    """The admin API as the dev admin client."""
    headers = {"Authorization": f"Bearer {admin_token(dev)}", **kwargs.pop("headers", {})}
    return requests.request(method, dev["admin_url"].rstrip("/") + path, headers=headers, timeout=10, **kwargs)
