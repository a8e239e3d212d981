"""The overview and the audit log in headless Chromium: gateway traffic (allowed with a client
credentials token, denied without one) shows in the overview's chart; the audit log filters by
outcome, follows a decision id, and shows a new denied request live. Screenshots: overview,
audit, audit-filtered, audit-tail, overview-auditor.
"""

import time

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from chromium import present, wait_until
from dashboard_browser import client_token, go, screenshot, sign_in_to_dashboard

DECISION_HEADER = "X-Tokengate-Decision-Id"


def gateway_call(dev, token=None):
    """One request to the demo route: its status and decision id."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = dev["gateway_url"].rstrip("/") + dev["api"]["demo_route"] + "hello"
    resp = requests.get(url, headers=headers, verify=dev["ca_cert"], timeout=10)
    return resp.status_code, resp.headers.get(DECISION_HEADER)




def make_traffic(dev):
    token = client_token(dev)
    allowed = [gateway_call(dev, token) for _ in range(3)]
    denied = [gateway_call(dev) for _ in range(3)]
    assert all(status < 400 for status, _ in allowed), allowed
    assert all(status == 401 for status, _ in denied), denied
    return [d for _, d in denied if d]


def total(driver, outcome):
    found = present(driver, f"[data-total='{outcome}']")
    return int(found.text) if found else 0


def reload_until(driver, check, what, seconds=20):
    """Reload the page until `check(driver)` holds (audit records are written in batches)."""
    deadline = time.monotonic() + seconds
    while True:
        if check(driver):
            return
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(1)
        driver.refresh()


def outcomes(driver):
    return [r.get_attribute("data-outcome") for r in driver.find_elements(By.CSS_SELECTOR, "#audit-records tr.audit-row")]


def test_overview_and_audit_log_show_gateway_traffic(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    make_traffic(dev)
    sign_in_to_dashboard(d, dev, path="/dashboard/")
    reload_until(d, lambda x: total(x, "allowed") > 0 and total(x, "denied") > 0, "the overview's totals")
    chart = d.find_element(By.CSS_SELECTOR, "svg.chart[role='img']")
    title = chart.find_element(By.CSS_SELECTOR, "title").get_attribute("textContent")
    assert "allowed" in title and "denied" in title, title
    assert d.find_elements(By.CSS_SELECTOR, "svg.chart rect.allowed") and d.find_elements(By.CSS_SELECTOR, "svg.chart rect.denied")
    assert d.find_elements(By.CSS_SELECTOR, "table#nodes tbody tr"), "the nodes table"
    screenshot(d, "overview")

    go(d, dev, "/dashboard/audit?source=gateway")
    reload_until(d, lambda x: "denied" in outcomes(x) and "allowed" in outcomes(x), "gateway records in the audit log")
    screenshot(d, "audit")

    Select(d.find_element(By.ID, "f-outcome")).select_by_value("denied")
    d.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait_until(d, lambda x: "outcome=denied" in x.current_url, "the filtered audit log")
    found = outcomes(d)
    assert found and set(found) == {"denied"}, found
    screenshot(d, "audit-filtered")

    link = d.find_element(By.CSS_SELECTOR, "#audit-records a.decision-id")
    decision_id = link.text
    link.click()
    wait_until(d, lambda x: "decision_id=" in x.current_url, "the page of one decision")
    rows = d.find_elements(By.CSS_SELECTOR, "#audit-records tr.audit-row")
    assert len(rows) == 1 and decision_id in rows[0].text, [r.text for r in rows]
    assert d.find_element(By.ID, "f-decision").get_attribute("value") == decision_id


def test_the_live_tail_shows_a_new_denied_request(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    sign_in_to_dashboard(d, dev, path="/dashboard/audit/live?source=gateway")
    assert present(d, "tbody#audit-live-rows[sse-connect]")
    # The stream starts at the log's head when it connects: a request sent before it opened would
    # not show, so send another until one does (bounded).
    shown = None
    for _ in range(4):
        status, decision_id = gateway_call(dev)
        assert status == 401 and decision_id, (status, decision_id)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            if decision_id in d.find_element(By.ID, "audit-live-rows").text:
                shown = decision_id
                break
            time.sleep(0.5)
        if shown:
            break
    assert shown, "a new denied request appears in the live tail"
    row = d.find_element(By.CSS_SELECTOR, "#audit-live-rows tr.audit-row")
    assert row.get_attribute("data-outcome") == "denied"
    screenshot(d, "audit-tail")


def test_the_auditor_sees_the_overview(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    make_traffic(dev)
    sign_in_to_dashboard(d, dev, who="auditor_user", path="/dashboard/")
    assert "Auditor" in d.find_element(By.CSS_SELECTOR, ".who").text
    reload_until(d, lambda x: total(x, "denied") > 0, "the overview's totals as the auditor")
    assert present(d, "svg.chart[role='img']") and present(d, "table#nodes")
    screenshot(d, "overview-auditor")
