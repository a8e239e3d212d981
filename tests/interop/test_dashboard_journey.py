"""The issue's journey in one browser, across pages built separately: the admin watches the live
audit tail in one tab, tightens the demo route in another (so the dev client is refused), sees the
refused request arrive in the tail, fixes the rule by editing it back, and sees the next request
arrive allowed. Each step waits for an event (bounded), never for a time.
"""

import time

import requests
from selenium.webdriver.common.by import By

from chromium import present, wait_until
from dashboard_browser import client_token, dashboard_url, flash, go, screenshot, sign_in_to_dashboard

NEEDED = 'roles_any = ["Demo.Read.All"]'
TIGHTENED = 'roles_any = ["Demo.Journey.Nobody"]'




def call_until(dev, token, wanted):
    """Calls the demo route until it answers `wanted` (the gateways apply a publish within a
    second; bounded): the decision id of that answer."""
    url = dev["gateway_url"].rstrip("/") + dev["api"]["demo_route"] + "hello"
    seen = []
    for _ in range(40):
        resp = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        seen.append(resp.status_code)
        if resp.status_code == wanted:
            return resp.headers["X-Tokengate-Decision-Id"]
        time.sleep(0.25)
    raise AssertionError(f"the demo route never answered {wanted}: {seen}")


def publish(driver, dev, replace, by, message):
    """Edit the published policy in the dashboard, preview it, publish it."""
    go(driver, dev, "/dashboard/policies/edit", ready_css="textarea#policy-toml")
    field = driver.find_element(By.CSS_SELECTOR, "textarea#policy-toml")
    source = field.get_attribute("value")
    assert replace in source, source
    driver.execute_script("arguments[0].value = arguments[1];", field, source.replace(replace, by, 1))
    driver.find_element(By.CSS_SELECTOR, "button#preview").click()
    wait_until(driver, lambda d: present(d, "#preview-simulation"), "the preview")
    driver.find_element(By.CSS_SELECTOR, "#policy-message").send_keys(message)
    driver.find_element(By.CSS_SELECTOR, "button#publish").click()
    wait_until(driver, lambda d: flash(d).startswith("Published v"), "the publish message")


def row_in_tail(driver, decision_id):
    """The live tail's row for `decision_id`, once it arrives (bounded)."""
    def found(d):
        for row in d.find_elements(By.CSS_SELECTOR, "#audit-live-rows tr.audit-row"):
            if decision_id in row.text:
                return row
        return None

    return wait_until(driver, found, f"the decision {decision_id} in the live tail")


def test_a_rule_change_shows_as_denied_in_the_live_tail_and_its_fix_as_allowed(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    token = client_token(dev)
    call_until(dev, token, 200)

    sign_in_to_dashboard(d, dev, path="/dashboard/audit/live?source=gateway")
    tail = d.current_window_handle
    assert present(d, "tbody#audit-live-rows[sse-connect]")
    d.switch_to.new_window("tab")
    editor = d.current_window_handle
    try:
        publish(d, dev, NEEDED, TIGHTENED, "journey: tighten the demo route")
        denied = call_until(dev, token, 403)
        d.switch_to.window(tail)
        row = row_in_tail(d, denied)
        assert row.get_attribute("data-outcome") == "denied", row.text
        assert "demo" in row.text, row.text
        screenshot(d, "journey-tail-denied")

        d.switch_to.window(editor)
        publish(d, dev, TIGHTENED, NEEDED, "journey: fix the demo route")
        allowed = call_until(dev, token, 200)
        d.switch_to.window(tail)
        row = row_in_tail(d, allowed)
        assert row.get_attribute("data-outcome") == "allowed", row.text
        screenshot(d, "journey-tail-allowed")
    finally:
        d.switch_to.window(editor)
        d.close()
        d.switch_to.window(tail)
        d.get(dashboard_url(dev, "/dashboard/"))
