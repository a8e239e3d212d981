"""The dashboard end to end in headless Chromium, as its users work: the dev admin signs in
through the issuer's sign-in page and uses each page; the auditor sees everything and can change
nothing. Screenshots of every page, wide and narrow, land in target/dashboard-screenshots/.
"""

from selenium.webdriver.common.by import By

from dashboard_browser import dashboard_url, flash, heading, screenshot, sign_in_to_dashboard, submit
import chromium
from chromium import present, wait_until


def test_sign_in_lands_on_the_page_asked_for_and_sign_out_ends_the_session(dashboard_driver, dashboard_dev):
    d = dashboard_driver
    sign_in_to_dashboard(d, dashboard_dev, path="/dashboard/keys")
    assert heading(d) == "Keys"
    who = d.find_element(By.CSS_SELECTOR, ".who").text
    assert "Demo Admin" in who and "Admin" in who, who
    screenshot(d, "keys")
    submit(d, "form[action='/dashboard/sign-out']")
    wait_until(d, lambda x: "You signed out" in x.page_source, "the signed-out page")
    screenshot(d, "signed-out")
    d.get(dashboard_url(dashboard_dev, "/dashboard/keys"))
    wait_until(d, lambda x: present(x, "input#password"), "the issuer's sign-in page again (the SSO session ended too)")


def test_an_admin_rotates_the_signing_keys(dashboard_driver, dashboard_dev):
    d = dashboard_driver
    sign_in_to_dashboard(d, dashboard_dev, path="/dashboard/keys")
    submit(d, "form[action='/dashboard/keys/rotate']")
    wait_until(d, lambda x: flash(x).startswith("Rotated:"), "the rotation's message")
    active = flash(d).split(" ")[1]
    assert active in d.find_element(By.CSS_SELECTOR, "table").text


def test_the_auditor_sees_keys_without_write_controls(dashboard_driver, dashboard_dev):
    d = dashboard_driver
    sign_in_to_dashboard(d, dashboard_dev, who="auditor_user", path="/dashboard/keys")
    assert "Auditor" in d.find_element(By.CSS_SELECTOR, ".who").text
    assert present(d, "table"), "the auditor sees the keys"
    assert not present(d, "form[action='/dashboard/keys/rotate']"), "no rotate control for an auditor"
    screenshot(d, "keys-auditor")


def test_a_person_without_an_admin_role_is_told_so_and_gets_no_session(dashboard_driver, dashboard_dev):
    d = dashboard_driver
    chromium.forget_everything(d)
    d.get(dashboard_url(dashboard_dev, "/dashboard/"))
    chromium.sign_in(d, dashboard_dev["user"]["username"], dashboard_dev["user"]["password"])
    wait_until(d, lambda x: "holds neither" in x.page_source, "the page saying the demo user holds no admin role")
    assert "Tokengate.Admin" in d.page_source and not present(d, "nav.sections")
    screenshot(d, "no-role")


def test_pages_follow_the_systems_dark_mode(dashboard_driver, dashboard_dev):
    d = dashboard_driver
    sign_in_to_dashboard(d, dashboard_dev, path="/dashboard/keys")
    d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    try:
        background = d.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(15, 20, 32)", f"the dark palette applies: {background}"
        screenshot(d, "keys-dark")
    finally:
        d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_the_person_without_a_role_can_switch_to_another_account(dashboard_driver, dashboard_dev):
    d = dashboard_driver
    chromium.forget_everything(d)
    d.get(dashboard_url(dashboard_dev, "/dashboard/"))
    chromium.sign_in(d, dashboard_dev["user"]["username"], dashboard_dev["user"]["password"])
    wait_until(d, lambda x: present(x, "a.button.primary"), "the no-role page's sign-out link")
    d.find_element(By.CSS_SELECTOR, "a.button.primary").click()
    wait_until(d, lambda x: "You signed out" in x.page_source, "signed out at the issuer, back at the dashboard")
    d.find_element(By.CSS_SELECTOR, "a.button.primary").click()
    chromium.sign_in(d, dashboard_dev["admin_user"]["username"], dashboard_dev["admin_user"]["password"])
    wait_until(d, lambda x: present(x, "nav.sections"), "the dashboard, now as the admin")
