"""The token debugger in headless Chromium: a person pastes a client-credentials token of the dev
confidential client and reads the verdict and, for the route it fails (demo-write needs
Demo.Write.All), the failing requirement; then a tampered token's failing check. The pasted token
never comes back in the page.
"""

import base64
import json

from selenium.webdriver.common.by import By

from chromium import present, wait_until
from dashboard_browser import client_token, go, heading, screenshot, sign_in_to_dashboard, submit




def tampered(token):
    """The same token with one claim changed: its signature no longer verifies."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["Demo.Write.All"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def explain(driver, dev, token):
    go(driver, dev, "/dashboard/debugger", ready_css="textarea#token")
    driver.find_element(By.CSS_SELECTOR, "textarea#token").send_keys(token)
    submit(driver, "form[action='/dashboard/debugger']")
    wait_until(driver, lambda d: heading(d) == "Token explained", "the explanation")


def route_row(driver, name):
    return driver.find_element(By.CSS_SELECTOR, f"tr[data-route='{name}']").text


def test_a_pasted_token_is_explained_route_by_route(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    token = client_token(dev)
    sign_in_to_dashboard(d, dev, path="/dashboard/debugger")
    assert present(d, "label[for=token]")
    screenshot(d, "debugger")
    explain(d, dev, token)
    verdict = d.find_element(By.CSS_SELECTOR, "p.verdict").text
    assert verdict.startswith("Verified"), verdict
    assert "pass" in route_row(d, "demo"), route_row(d, "demo")
    write = route_row(d, "demo-write")
    assert "fail" in write and "Demo.Write.All" in write, write
    claims = d.find_element(By.CSS_SELECTOR, "table.claims").text
    assert "Audience:" in claims, claims
    assert token not in d.page_source and token.split(".")[2] not in d.page_source, "the token is never echoed"
    assert not d.find_elements(By.CSS_SELECTOR, "textarea#token"), "the result page does not refill the token"
    assert present(d, "a[href^='/dashboard/audit?token_id=']"), "a link to the token's audit records"
    screenshot(d, "debugger-result")


def test_a_tampered_token_fails_its_signature_check(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    sign_in_to_dashboard(d, dev, who="auditor_user", path="/dashboard/debugger")
    explain(d, dev, tampered(client_token(dev)))
    verdict = d.find_element(By.CSS_SELECTOR, "p.verdict").text
    assert verdict.startswith("Refused") and "bad_signature" in verdict, verdict
    checks = d.find_element(By.CSS_SELECTOR, "section[aria-labelledby=verdict-heading] table").text
    assert "Signature fail" in checks, checks
    assert "verification" in route_row(d, "demo"), route_row(d, "demo")


def test_garbage_is_refused_with_words(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    sign_in_to_dashboard(d, dev, path="/dashboard/debugger")
    d.find_element(By.CSS_SELECTOR, "textarea#token").send_keys("definitely not a token")
    submit(d, "form[action='/dashboard/debugger']")
    error = wait_until(d, lambda x: present(x, "p.error"), "the refusal")
    assert "compact JWS" in error.text, error.text
