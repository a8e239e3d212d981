"""Revocations in headless Chromium, end to end: the demo user signs in with the device code flow
(MSAL polls, Chromium enters the code and signs in), the gateway lets their token through; the dev
admin revokes the demo user in the dashboard (form -> confirmation naming them -> revoke, waiting
for every gateway), and the gateway refuses the same token. The auditor sees no revoke controls.
Also the keys page's emergency removal up to its confirmation.
"""

import concurrent.futures
import threading
import time

import msal
import requests
from selenium.webdriver.common.by import By

import chromium
from chromium import click_accept, present, sign_in, wait_until
from dashboard_browser import go, heading, screenshot, sign_in_to_dashboard, submit

DEVICE_WAIT_S = 60


def demo_user_token(driver, dev):
    """An access token of dev["user"] for the demo API, by the device code flow."""
    public = dev["public_client"]
    # This dev server's CA is not the process-wide default (the interop run's server keeps that),
    # and REQUESTS_CA_BUNDLE from the environment would override a session's `verify`.
    session = requests.Session()
    session.trust_env = False
    session.verify = dev["ca_cert"]
    app = msal.PublicClientApplication(
        public["client_id"], authority=dev["authority"], instance_discovery=False, http_client=session
    )
    flow = app.initiate_device_flow(scopes=[f"{dev['api']['app_id_uri'].rstrip('/')}/Demo.Read"])
    assert "user_code" in flow, flow
    deadline = time.time() + DEVICE_WAIT_S
    stop = threading.Event()
    chromium.forget_everything(driver)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        polling = pool.submit(
            app.acquire_token_by_device_flow, flow, exit_condition=lambda f: stop.is_set() or time.time() > deadline
        )
        try:
            driver.get(flow["verification_uri"])
            wait_until(driver, lambda d: present(d, "input#user_code"), "the code entry page").send_keys(flow["user_code"])
            driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            sign_in(driver, dev["user"]["username"], dev["user"]["password"])
            click_accept(driver)
            wait_until(driver, lambda d: "You're signed in" in chromium.page_text(d), "the device confirmation")
        except BaseException:
            stop.set()
            raise
        result = polling.result(timeout=DEVICE_WAIT_S + 10)
    assert "access_token" in result, result
    return result["access_token"]


def call_demo_route(dev, token):
    url = dev["gateway_url"].rstrip("/") + dev["api"]["demo_route"]
    return requests.get(url, headers={"Authorization": f"Bearer {token}"}, verify=dev["ca_cert"], timeout=10)


def test_revoking_the_demo_user_in_the_dashboard_stops_their_token_at_the_gateway(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    token = demo_user_token(d, dev)
    before = call_demo_route(dev, token)
    assert before.status_code == 200, (before.status_code, before.text[:300])

    sign_in_to_dashboard(d, dev, path="/dashboard/revocations")
    assert heading(d) == "Revocations"
    screenshot(d, "revocations")
    d.find_element(By.CSS_SELECTOR, "#revoke-user-target").send_keys(dev["user"]["username"])
    d.find_element(By.CSS_SELECTOR, "#revoke-user-reason").send_keys("browser test: account compromised")
    submit(d, "form.revoke-user")
    wait_until(d, lambda x: present(x, "section.confirm"), "the confirmation page")
    confirm = d.find_element(By.CSS_SELECTOR, "section.confirm").text
    assert "every access token issued to" in confirm and "refresh-token family" in confirm, confirm
    assert dev["user"]["username"].lower() in confirm.lower(), confirm
    screenshot(d, "revocations-confirm")
    submit(d, "section.confirm form")
    wait_until(d, lambda x: heading(x) == "Revoked", "the revocation's result")
    done = d.find_element(By.CSS_SELECTOR, "p.flash.done").text
    assert "Applied on 1 of 1 gateways" in done, done
    assert "refresh-token famil" in d.find_element(By.CSS_SELECTOR, "ul.effects").text
    screenshot(d, "revocations-done")

    after = call_demo_route(dev, token)
    assert after.status_code == 401, (after.status_code, after.text[:300])

    go(d, dev, "/dashboard/revocations")
    listed = d.find_element(By.CSS_SELECTOR, "table.revoked").text
    assert "account compromised" in listed, listed
    assert dev["admin_user"]["username"] in listed, f"the table names who revoked: {listed}"


def test_the_auditor_sees_revocations_without_revoke_controls(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    sign_in_to_dashboard(d, dev, who="auditor_user", path="/dashboard/revocations")
    assert heading(d) == "Revocations"
    assert not present(d, "form[action='/dashboard/revocations/confirm']"), "no revoke form for an auditor"
    assert "Propagation" in d.find_element(By.CSS_SELECTOR, "main").text
    screenshot(d, "revocations-auditor")


def test_removing_a_key_is_confirmed_with_its_impact(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    sign_in_to_dashboard(d, dev, path="/dashboard/keys")
    active = [row for row in d.find_elements(By.CSS_SELECTOR, "tbody tr") if "active" in row.text][0]
    kid = active.find_element(By.CSS_SELECTOR, "code").text
    active.find_element(By.CSS_SELECTOR, "form.remove-key button").click()
    wait_until(d, lambda x: present(x, "section.confirm"), "the removal's confirmation")
    confirm = d.find_element(By.CSS_SELECTOR, "section.confirm").text
    assert kid in confirm and "the issuer rotates first" in confirm and "JWKS" in confirm, confirm
    screenshot(d, "keys-remove-confirm")
    d.find_element(By.LINK_TEXT, "Cancel").click()
    wait_until(d, lambda x: heading(x) == "Keys", "back on the keys page")
    assert kid in d.find_element(By.CSS_SELECTOR, "table").text, "cancelling removed nothing"
