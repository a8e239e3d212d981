"""Routes & policies in a real browser: the dev admin reads the published policy, tests a token
against a route, edits the policy so the demo route needs a role the dev confidential client lacks,
previews it (diff + simulation against the client's real recent gateway requests), publishes,
sees the gateway refuse, compares versions in history and rolls back. The auditor sees the same
pages with no edit, publish or rollback control. Screenshots of every page.
"""

import time

import requests
from selenium.webdriver.common.by import By

from chromium import present, wait_until
from dashboard_browser import api, client_token, flash, go, heading, screenshot, sign_in_to_dashboard

MISSING_ROLE = "Demo.Nobody"




def call_demo(dev, token):
    url = dev["gateway_url"].rstrip("/") + dev["api"]["demo_route"] + "hello"
    return requests.get(url, headers={"Authorization": f"Bearer {token}"}, verify=dev["ca_cert"], timeout=10).status_code


def published_version(dev):
    resp = api(dev, "GET", "/admin/v1/policies/published", verify=dev["ca_cert"])
    assert resp.status_code == 200, resp.text
    return resp.json()["version"]


def set_textarea(driver, css, text):
    field = driver.find_element(By.CSS_SELECTOR, css)
    driver.execute_script("arguments[0].value = arguments[1];", field, text)


def click(driver, css):
    driver.find_element(By.CSS_SELECTOR, css).click()


def test_an_admin_edits_previews_publishes_compares_and_rolls_back(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    token = client_token(dev)
    statuses = [call_demo(dev, token) for _ in range(3)]
    assert statuses == [200, 200, 200], statuses
    first = published_version(dev)

    sign_in_to_dashboard(d, dev, path="/dashboard/policies")
    assert heading(d) == "Routes & policies"
    routes = d.find_element(By.CSS_SELECTOR, "table#routes").text
    assert "demo" in routes and "Demo.Read.All" in routes, routes
    assert f"v{first}" in d.find_element(By.CSS_SELECTOR, "#published").text
    screenshot(d, "policies")

    # Test the client's token against the demo route: it passes; the token is never shown back.
    d.find_element(By.CSS_SELECTOR, "#test-route option[value='demo']").click()
    set_textarea(d, "#test-token-text", token)
    click(d, "form[action='/dashboard/policies/test-token'] button[type=submit]")
    wait_until(d, lambda x: present(x, ".route-verdict") or present(x, "p.error"), "the token's verdict")
    assert "passes" in d.find_element(By.CSS_SELECTOR, ".route-verdict").text
    assert token not in d.page_source and token.split(".")[1] not in d.page_source
    screenshot(d, "policies-test-token")

    # Edit: the demo route now needs a role the confidential client does not have.
    go(d, dev, "/dashboard/policies/edit", ready_css="textarea#policy-toml.code")
    source = d.find_element(By.CSS_SELECTOR, "textarea#policy-toml").get_attribute("value")
    assert 'roles_any = ["Demo.Read.All"]' in source, source
    screenshot(d, "policies-edit")
    edited = source.replace('roles_any = ["Demo.Read.All"]', f'roles_any = ["{MISSING_ROLE}"]', 1)
    set_textarea(d, "textarea#policy-toml", edited)
    click(d, "button#preview")
    wait_until(d, lambda x: present(x, "#preview-simulation"), "the preview")
    diff = d.find_element(By.CSS_SELECTOR, "#preview-diff").text
    assert "route demo" in diff and MISSING_ROLE in diff, diff
    simulation = d.find_element(By.CSS_SELECTOR, "#preview-simulation").text
    assert "would change" in simulation and "now denied" in simulation, simulation
    assert dev["confidential_client"]["client_id"] in simulation, simulation
    assert MISSING_ROLE in d.find_element(By.CSS_SELECTOR, "textarea#policy-toml").get_attribute("value")
    screenshot(d, "policies-preview")

    d.find_element(By.CSS_SELECTOR, "#policy-message").send_keys("demo needs a role nobody has")
    click(d, "button#publish")
    wait_until(d, lambda x: flash(x).startswith("Published v"), "the publish message")
    assert flash(d).startswith(f"Published v{first + 1}"), flash(d)
    assert MISSING_ROLE in d.find_element(By.CSS_SELECTOR, "table#routes").text
    screenshot(d, "policies-published")

    refused = None
    for _ in range(20):  # the gateway applies a published version within a second
        refused = call_demo(dev, token)
        if refused == 403:
            break
        time.sleep(0.25)
    assert refused == 403, refused

    # History, one version's source, and the diff between the two.
    go(d, dev, "/dashboard/policies/history", ready_css="table#versions")
    versions = d.find_element(By.CSS_SELECTOR, "table#versions").text
    assert "demo needs a role nobody has" in versions and "published" in versions, versions
    screenshot(d, "policies-history")
    click(d, "#compare button[type=submit]")
    wait_until(d, lambda x: present(x, "#diff"), "the diff page")
    assert MISSING_ROLE in d.find_element(By.CSS_SELECTOR, "#diff").text
    screenshot(d, "policies-diff")
    go(d, dev, f"/dashboard/policies/v/{first}", ready_css="#policy-source")
    assert "Demo.Read.All" in d.find_element(By.CSS_SELECTOR, "#policy-source").text
    screenshot(d, "policies-version")

    # Roll back to the first version, through its confirmation page.
    go(d, dev, "/dashboard/policies/history", ready_css="table#versions")
    click(d, f"a[href='/dashboard/policies/rollback/{first}']")
    wait_until(d, lambda x: present(x, "#rollback-form"), "the rollback confirmation")
    assert MISSING_ROLE in d.find_element(By.CSS_SELECTOR, "#rollback-diff").text
    screenshot(d, "policies-rollback")
    click(d, "#rollback-form button[type=submit]")
    wait_until(d, lambda x: flash(x).startswith("Rolled back"), "the rollback message")
    assert f"published v{first + 2}" in flash(d), flash(d)
    assert published_version(dev) == first + 2
    allowed = None
    for _ in range(20):
        allowed = call_demo(dev, token)
        if allowed == 200:
            break
        time.sleep(0.25)
    assert allowed == 200, allowed


def test_a_stale_edit_keeps_the_text_and_shows_the_other_change(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    sign_in_to_dashboard(d, dev, path="/dashboard/policies/edit")
    source = d.find_element(By.CSS_SELECTOR, "textarea#policy-toml").get_attribute("value")
    mine = source.replace('path_prefix = "/public/"', 'path_prefix = "/open/"', 1)
    set_textarea(d, "textarea#policy-toml", mine)
    click(d, "button#preview")
    wait_until(d, lambda x: present(x, "button#publish"), "the preview")
    # Meanwhile someone publishes through the API.
    current = api(dev, "GET", "/admin/v1/policies/published", verify=dev["ca_cert"])
    theirs = current.json()["source"].replace('scopes_any = ["Demo.Write"]', 'scopes_any = ["Demo.Write", "Demo.Admin"]', 1)
    resp = api(
        dev,
        "POST",
        "/admin/v1/policies",
        json={"toml": theirs, "message": "someone else"},
        headers={"If-Match": current.headers["ETag"]},
        verify=dev["ca_cert"],
    )
    assert resp.status_code == 201, resp.text
    d.find_element(By.CSS_SELECTOR, "#policy-message").send_keys("open instead of public")
    click(d, "button#publish")
    wait_until(d, lambda x: present(x, "#stale"), "the stale-edit notice")
    notice = d.find_element(By.CSS_SELECTOR, "#stale").text
    assert "since you started editing" in notice and "Demo.Admin" in notice, notice
    assert '"/open/"' in d.find_element(By.CSS_SELECTOR, "textarea#policy-toml").get_attribute("value")
    screenshot(d, "policies-stale")


def test_the_auditor_sees_policies_without_write_controls(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    sign_in_to_dashboard(d, dev, who="auditor_user", path="/dashboard/policies")
    assert present(d, "table#routes"), "the auditor sees the routes"
    assert not present(d, "#edit-policy") and not present(d, "a[href='/dashboard/policies/edit']")
    screenshot(d, "policies-auditor")
    go(d, dev, "/dashboard/policies/history", ready_css="table#versions")
    assert not present(d, "a.rollback"), "no rollback control for an auditor"
    screenshot(d, "policies-history-auditor")
    d.get(d.current_url.split("/dashboard/")[0] + "/dashboard/policies/edit")
    wait_until(d, lambda x: "Not allowed" in x.page_source, "the refusal of the edit page")
