"""The issuer's pages in a real browser (headless Chromium), as people use them: sign-in through
/authorize, consent, device code entry, logout, MSAL Python's interactive flow, and a single-page
app built on @azure/msal-browser (redirect sign-in, silent token from cache and by refresh token,
redeemed cross-origin at the token endpoint under CORS).

A real browser sends what a scripted one does not — `Origin` on form POSTs, as the pages'
Referrer-Policy lets it, preflights before cross-origin fetches — so these catch what the
page walker of browser.py cannot.
"""

import concurrent.futures
import json
import os
import subprocess
import threading
import time
import webbrowser
from pathlib import Path

import jwt
import msal
import pytest
import requests
from selenium.webdriver.common.by import By

import chromium
from chromium import click_accept, forget_everything, present, sign_in, wait_until

SPA_DIR = Path(__file__).resolve().parent / "spa"
DEVICE_WAIT_S = 60


@pytest.fixture(scope="module")
def user(dev):
    return dev["user"]


@pytest.fixture(scope="module")
def public_client(dev):
    return dev["public_client"]


@pytest.fixture(scope="module")
def driver(dev, tmp_path_factory):
    chromium.require_tools()
    home = chromium.trusting_home(tmp_path_factory.mktemp("chromium"), dev["ca_cert"])
    d = chromium.start_chromium(home)
    try:
        yield d
    finally:
        d.quit()


@pytest.fixture
def browser(driver):
    """The module's Chromium, with no session left from an earlier test."""
    forget_everything(driver)
    return driver


@pytest.fixture
def site():
    s = chromium.LoopbackSite()
    try:
        yield s
    finally:
        s.close()


def read_scope(dev):
    return f"{dev['api']['app_id_uri'].rstrip('/')}/Demo.Read"


def msal_app(dev, public_client):
    return msal.PublicClientApplication(
        public_client["client_id"], authority=dev["authority"], instance_discovery=False, verify=dev["ca_cert"],
    )


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def assert_tokens(result, what):
    assert "access_token" in result, (
        f"{what}: {result.get('error')!r} {result.get('error_description')!r}"
    )


def tokengate_cli(dev, *args):
    binary = os.environ.get("TOKENGATE_BIN", str(Path(__file__).resolve().parents[2] / "target/debug/tokengate"))
    out = subprocess.run([binary, *args, "--dev-dir", dev["_data_dir"]], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"tokengate {' '.join(args)} failed: {out.stderr}"
    return out.stdout


def sign_in_at_authorize(browser, site, dev, user, public_client, **flow_args):
    """MSAL builds the request (PKCE), Chromium walks the pages; returns (app, flow, answer)."""
    app = msal_app(dev, public_client)
    flow = app.initiate_auth_code_flow(scopes=[read_scope(dev)], redirect_uri=site.origin, **flow_args)
    browser.get(flow["auth_uri"])
    sign_in(browser, user["username"], user["password"])
    return app, flow


# --------------------------------------------------------------------------------------------
# The pages
# --------------------------------------------------------------------------------------------

def test_sign_in_through_authorize(browser, site, dev, user, public_client):
    app, flow = sign_in_at_authorize(browser, site, dev, user, public_client)
    answer = site.answer(browser)
    assert answer.get("code") and answer.get("state") == flow["state"], (
        f"the sign-in POST (sent by Chromium with its real Origin) should lead to the code: {answer}"
    )
    result = app.acquire_token_by_auth_code_flow(flow, answer)
    assert_tokens(result, "code redeemed by the test")
    assert claims_of(result["access_token"])["oid"] == user["object_id"]


def test_consent_page_accept(browser, site, dev, user, public_client):
    app, flow = sign_in_at_authorize(browser, site, dev, user, public_client, prompt="consent")
    wait_until(browser, lambda d: "Demo.Read" in chromium.page_text(d), "the consent page naming Demo.Read")
    click_accept(browser)
    answer = site.answer(browser)
    result = app.acquire_token_by_auth_code_flow(flow, answer)
    assert_tokens(result, "after consent")
    assert "Demo.Read" in claims_of(result["access_token"])["scp"].split(" ")


def test_device_code_entry_sign_in_and_confirm(browser, dev, user, public_client):
    app = msal_app(dev, public_client)
    flow = app.initiate_device_flow(scopes=[read_scope(dev)])
    assert "user_code" in flow, flow
    deadline = time.time() + DEVICE_WAIT_S
    stop = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        polling = pool.submit(
            app.acquire_token_by_device_flow, flow, exit_condition=lambda f: stop.is_set() or time.time() > deadline
        )
        try:
            browser.get(flow["verification_uri"])
            code_field = wait_until(browser, lambda d: present(d, "input#user_code"), "the code entry page")
            code_field.send_keys(flow["user_code"])
            browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            sign_in(browser, user["username"], user["password"])
            click_accept(browser)
            wait_until(browser, lambda d: "You're signed in" in chromium.page_text(d), "the confirmation")
        except BaseException:
            stop.set()
            raise
        result = polling.result(timeout=DEVICE_WAIT_S + 10)
    assert_tokens(result, "device flow")
    assert claims_of(result["access_token"])["oid"] == user["object_id"]


def test_logout_ends_the_sign_in(browser, site, dev, user, public_client, discovery):
    app, flow = sign_in_at_authorize(browser, site, dev, user, public_client)
    assert site.answer(browser).get("code")
    # Signed in: the next /authorize answers at once (SSO) ...
    again = msal_app(dev, public_client).initiate_auth_code_flow(scopes=[read_scope(dev)], redirect_uri=site.origin)
    site.requests.clear()
    browser.get(again["auth_uri"])
    assert site.answer(browser).get("code"), "SSO session: no sign-in page"
    # ... until the person signs out.
    browser.get(discovery["end_session_endpoint"])
    wait_until(browser, lambda d: "signed out" in chromium.page_text(d).lower(), "the signed-out page")
    after = msal_app(dev, public_client).initiate_auth_code_flow(scopes=[read_scope(dev)], redirect_uri=site.origin)
    site.requests.clear()
    browser.get(after["auth_uri"])
    wait_until(browser, lambda d: present(d, "input#password"), "the sign-in page after logout")
    assert not site.requests, f"no code without signing in again: {site.requests}"


def test_msal_acquire_token_interactive(browser, dev, user, public_client, monkeypatch):
    """MSAL opens "the system browser" with webbrowser.open: here that is Chromium, where the
    person signs in; MSAL's own loopback listener receives the code."""
    opened = []
    failures = []

    def person(url):
        try:
            browser.get(url)
            sign_in(browser, user["username"], user["password"])
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    def open_in_chromium(url, *args, **kwargs):
        opened.append(url)
        threading.Thread(target=person, args=(url,), daemon=True).start()
        return True

    monkeypatch.setattr(webbrowser, "open", open_in_chromium)
    monkeypatch.delenv("BROWSER", raising=False)
    app = msal_app(dev, public_client)
    result = app.acquire_token_interactive([read_scope(dev)], timeout=60, prompt="select_account")
    assert opened, "MSAL did not open a browser"
    assert not failures, f"the person could not sign in: {failures!r}"
    assert_tokens(result, "acquire_token_interactive")
    assert claims_of(result["access_token"])["oid"] == user["object_id"]


# --------------------------------------------------------------------------------------------
# A single-page app (@azure/msal-browser)
# --------------------------------------------------------------------------------------------

@pytest.fixture
def spa_site(dev):
    msal_js = SPA_DIR / "node_modules" / "@azure" / "msal-browser" / "lib" / "msal-browser.js"
    assert msal_js.is_file(), f"{msal_js} missing: run `npm ci` in {SPA_DIR} (scripts/test.sh does)"
    s = chromium.LoopbackSite(root=SPA_DIR)
    try:
        yield s
    finally:
        s.close()


def spa_call(browser, script, *args):
    """Runs `script` (an async function body using window.spa) in the page and returns its value."""
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"(async (...a) => {{ {script} }})(...Array.from(arguments).slice(0, -1)).then(done, e => done({{error: String(e)}}));",
        *args,
    )


def test_msal_browser_spa_redirect_and_silent_tokens(browser, spa_site, dev, user):
    redirect_uri = f"{spa_site.origin}/"
    out = tokengate_cli(dev, "app", "create", "--tenant", dev["tenant_id"], "--name", "Interop SPA",
                        "--redirect-uri", f"spa={redirect_uri}")
    client_id = out.split()[1]
    scope = read_scope(dev)
    spa_site.extra["/config.json"] = json.dumps(
        {"clientId": client_id, "authority": dev["authority"], "redirectUri": redirect_uri}
    ).encode()

    browser.get(redirect_uri)
    wait_until(browser, lambda d: d.execute_script("return window.spa.ready || window.spa.startError"), "msal-browser")
    assert browser.execute_script("return window.spa.startError") is None, browser.execute_script("return window.spa.startError")
    browser.execute_script("window.spa.login(arguments[0])", [scope])
    sign_in(browser, user["username"], user["password"])
    click_accept(browser)  # a new app: the person consents to Demo.Read for it
    # Back at the SPA: handleRedirectPromise redeems the code cross-origin (CORS + preflight).
    wait_until(
        browser,
        lambda d: d.current_url.startswith(redirect_uri) and d.execute_script("return window.spa && window.spa.ready"),
        "the SPA after the redirect",
    )
    signed_in = browser.execute_script("return window.spa.redirectResult")
    assert signed_in and signed_in.get("accessToken"), f"handleRedirectPromise: {signed_in}"
    claims = claims_of(signed_in["accessToken"])
    assert claims["azp"] == client_id and claims["aud"] == dev["api"]["app_id"], claims
    assert claims["azpacr"] == "0" and "Demo.Read" in claims["scp"].split(" "), claims
    assert signed_in["username"] == user["username"]

    cached = spa_call(browser, "return await window.spa.silent(a[0], false);", [scope])
    assert cached.get("fromCache") is True and cached["accessToken"] == signed_in["accessToken"], cached

    refreshed = spa_call(browser, "return await window.spa.silent(a[0], true);", [scope])
    assert refreshed.get("accessToken"), f"acquireTokenSilent(forceRefresh) by refresh token: {refreshed}"
    assert refreshed["fromCache"] is False and refreshed["accessToken"] != signed_in["accessToken"], refreshed
    assert claims_of(refreshed["accessToken"])["oid"] == user["object_id"]

    # Outside the browser (no Origin), the SPA's refresh token is refused (AADSTS9002327).
    rts = browser.execute_script("return window.spa.refreshTokens")
    assert len(rts) == 2, f"a refresh token from the code and one from the refresh: {len(rts)}"
    replay = requests.post(
        f"{dev['authority']}/oauth2/v2.0/token",
        data={"grant_type": "refresh_token", "client_id": client_id, "refresh_token": rts[-1], "scope": scope},
        timeout=10,
    )
    assert replay.status_code == 400 and 9002327 in replay.json().get("error_codes", []), replay.text
