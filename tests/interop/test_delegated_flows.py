"""Delegated (user) flows through the real MSAL Python and azure-identity, unchanged: the device
code flow and the authorization code flow with PKCE, with a scripted browser (browser.py) playing
the person on the issuer's pages.

Every access token obtained is verified the way an Entra-protected API verifies it (JWKS, RS256,
audience, issuer) and checked against Entra's v2 delegated claim shape, then used at the gateway.
"""

import concurrent.futures
import hashlib
import time
from urllib.parse import parse_qs, parse_qsl, urlsplit

import jwt
import msal
import pytest
import requests
from azure.identity import DeviceCodeCredential

from browser import CONSENT, SIGN_IN, Browser
from interop_helpers import MAX_LIFETIME_S, MIN_LIFETIME_S, authority_host, is_guid

# The query response mode is what the brief of these flows is about; MSAL merely recommends form_post
# (covered by its own test below).
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")

# Bounds on waiting for a person (the thread driving the pages). MSAL polls every `interval`
# (5 s), so an approved device flow completes within one or two polls.
DEVICE_WAIT_S = 60
APPROVER_WAIT_S = 30


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base(dev):
    return authority_host(dev["authority"])


@pytest.fixture(scope="module")
def user(dev):
    u = dev.get("user")
    assert u and u.get("username") and u.get("password") and u.get("object_id"), f"dev.json user: {u!r}"
    return u


@pytest.fixture(scope="module")
def public_client(dev):
    pc = dev.get("public_client")
    assert pc and pc.get("client_id") and pc.get("redirect_uri"), f"dev.json public_client: {pc!r}"
    return pc


def api_scope(dev, name):
    return f"{dev['api']['app_id_uri'].rstrip('/')}/{name}"


@pytest.fixture
def browser(base, dev):
    return Browser(base, dev["ca_cert"])


@pytest.fixture
def app(dev, public_client):
    """A fresh MSAL public client (own token cache) per test."""
    return msal.PublicClientApplication(
        public_client["client_id"],
        authority=dev["authority"],
        instance_discovery=False,
        verify=dev["ca_cert"],
    )


@pytest.fixture
def verify_user_token(dev, discovery, jwks, jwk_client, user, public_client):
    def _verify(token, scope_name):
        """Verify a v2 delegated access token for the demo API; returns the claims."""
        assert isinstance(token, str) and token.count(".") == 2, f"not a compact JWS: {token[:80]!r}"
        header = jwt.get_unverified_header(token)
        assert header.get("typ") == "JWT" and header.get("alg") == "RS256", f"header {header}"
        assert header.get("kid") in [k.get("kid") for k in jwks["keys"]], f"kid {header.get('kid')!r} not in JWKS"
        claims = jwt.decode(
            token,
            jwk_client.get_signing_key_from_jwt(token).key,
            algorithms=["RS256"],
            audience=dev["api"]["app_id"],
            issuer=discovery["issuer"],
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]},
        )
        assert claims["aud"] == dev["api"]["app_id"], f"aud {claims['aud']!r}"
        assert claims.get("ver") == "2.0", f"ver {claims.get('ver')!r}"
        assert claims.get("tid") == dev["tenant_id"], f"tid {claims.get('tid')!r}"
        assert claims.get("oid") == user["object_id"], f"oid {claims.get('oid')!r} != user {user['object_id']!r}"
        assert claims.get("azp") == public_client["client_id"], f"azp {claims.get('azp')!r}"
        assert claims.get("azpacr") == "0", f"a public client's azpacr is '0', got {claims.get('azpacr')!r}"
        assert claims.get("preferred_username") == user["username"], claims.get("preferred_username")
        scp = claims.get("scp")
        assert isinstance(scp, str) and scope_name in scp.split(" "), (
            f"scp must be a space-separated string containing {scope_name!r}, got {scp!r}"
        )
        assert "Demo.Admin" in (claims.get("roles") or []), (
            f"the demo user holds the app role Demo.Admin; roles={claims.get('roles')!r}"
        )
        assert is_guid(claims["oid"]) and claims["sub"] and claims["sub"] != claims["oid"], (
            f"delegated sub is pairwise (not the oid): sub={claims['sub']!r} oid={claims['oid']!r}"
        )
        for opaque in ("aio", "rh", "uti"):
            assert isinstance(claims.get(opaque), str) and claims[opaque], f"{opaque}={claims.get(opaque)!r}"
        lifetime = claims["exp"] - claims["iat"]
        assert MIN_LIFETIME_S <= lifetime <= MAX_LIFETIME_S, f"exp - iat = {lifetime} s"
        return claims
    return _verify


def assert_tokens(result, what):
    assert isinstance(result, dict), f"{what}: MSAL returned {result!r}"
    assert "access_token" in result, (
        f"{what}: no access_token; error={result.get('error')!r} "
        f"description={result.get('error_description')!r} codes={result.get('error_codes')!r}"
    )
    assert result.get("token_type", "").lower() == "bearer", f"{what}: token_type {result.get('token_type')!r}"


def assert_id_token(result, dev, user, public_client, what):
    idc = result.get("id_token_claims")
    assert idc, f"{what}: no id_token_claims (was openid granted?); keys {sorted(result)}"
    assert idc.get("aud") == public_client["client_id"], f"{what}: id token aud {idc.get('aud')!r}"
    assert idc.get("iss") == dev["issuer"], f"{what}: id token iss {idc.get('iss')!r}"
    assert idc.get("oid") == user["object_id"], f"{what}: id token oid {idc.get('oid')!r}"
    assert idc.get("tid") == dev["tenant_id"], f"{what}: id token tid {idc.get('tid')!r}"
    assert idc.get("preferred_username") == user["username"], f"{what}: {idc.get('preferred_username')!r}"
    return idc


def call_gateway(dev, token, route=None):
    url = dev["gateway_url"].rstrip("/") + (route or dev["api"]["demo_route"]) + "anything"
    return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


class DevicePerson:
    """A person approving (or declining) a device code on the issuer's pages, in a thread."""

    def __init__(self, browser, user, decision="accept"):
        self.browser, self.user, self.decision = browser, user, decision
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self.future = None

    def start(self, user_code):
        self.future = self._pool.submit(self._approve, user_code)

    def _approve(self, user_code):
        resp = self.browser.enter_device_code(user_code)
        assert resp.status_code == 303, (
            f"POST /devicelogin with a valid code -> {resp.status_code} (want 303): {resp.text[:300]}"
        )
        location = resp.headers.get("Location", "")
        assert location.startswith(f"{self.browser.base}/flow/resume?continuation="), location
        return self.browser.walk(resp, self.user["username"], self.user["password"], decision=self.decision)

    def failed(self):
        return self.future is not None and self.future.done() and self.future.exception() is not None

    def result(self):
        try:
            return self.future.result(timeout=APPROVER_WAIT_S)
        finally:
            self._pool.shutdown(wait=False)


def poll_device_flow(app, flow, person):
    """MSAL's own polling, bounded: stops at DEVICE_WAIT_S or when the person's thread failed."""
    deadline = time.time() + DEVICE_WAIT_S
    return app.acquire_token_by_device_flow(
        flow, exit_condition=lambda f: time.time() > deadline or person.failed()
    )


def start_device_flow(app, base, scopes):
    flow = app.initiate_device_flow(scopes=scopes)
    assert "user_code" in flow, f"initiate_device_flow failed: {flow}"
    assert flow.get("verification_uri") == f"{base}/devicelogin", f"verification_uri {flow.get('verification_uri')!r}"
    message = flow.get("message", "")
    assert flow["user_code"] in message and flow["verification_uri"] in message, f"message {message!r}"
    assert isinstance(flow.get("interval"), int) and flow["interval"] >= 1, f"interval {flow.get('interval')!r}"
    assert isinstance(flow.get("expires_in"), int) and flow["expires_in"] > 60, f"expires_in {flow.get('expires_in')!r}"
    return flow


def auth_code_flow(app, public_client, scopes):
    flow = app.initiate_auth_code_flow(scopes=scopes, redirect_uri=public_client["redirect_uri"])
    query = parse_qs(urlsplit(flow["auth_uri"]).query)
    assert query.get("code_challenge_method") == ["S256"] and query.get("code_challenge"), (
        f"MSAL should use PKCE S256: {flow['auth_uri']}"
    )
    return flow, query


def redirect_params(location, redirect_uri):
    assert location and location.startswith(redirect_uri + "?"), (
        f"expected the answer at {redirect_uri}?..., got {location!r}"
    )
    return dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))


# --------------------------------------------------------------------------------------------
# Device code flow (MSAL)
# --------------------------------------------------------------------------------------------

def test_msal_device_flow(dev, base, app, browser, user, public_client, verify_user_token):
    read = api_scope(dev, "Demo.Read")
    flow = start_device_flow(app, base, [read])

    person = DevicePerson(browser, user)
    person.start(flow["user_code"])
    result = poll_device_flow(app, flow, person)
    walk = person.result()

    # Demo.Read has tenant-wide consent: the page only confirms who signs in where.
    assert walk.seen == [SIGN_IN, CONSENT], f"pages seen: {walk.seen}"
    assert walk.page is not None and walk.page.status == 200, f"device approval ended with {walk}"
    assert walk.page.h1 == "You're signed in", f"final page h1 {walk.page.h1!r}"
    assert "__Host-tg_session" in browser.http.cookies, "signing in should set the SSO cookie"

    assert_tokens(result, "device flow")
    assert result.get("refresh_token"), "offline_access (added by MSAL) must yield a refresh token"
    assert_id_token(result, dev, user, public_client, "device flow")
    claims = verify_user_token(result["access_token"], "Demo.Read")

    accounts = app.get_accounts()
    assert len(accounts) == 1, f"accounts: {accounts}"
    account = accounts[0]
    assert account["username"] == user["username"], account
    assert account["home_account_id"] == f"{user['object_id']}.{dev['tenant_id']}", (
        f"home_account_id is built from client_info (uid.utid): {account['home_account_id']!r}"
    )

    cached = app.acquire_token_silent([read], account=account)
    assert_tokens(cached, "silent (cache)")
    assert cached.get("token_source") == "cache", f"token_source {cached.get('token_source')!r}"
    assert cached["access_token"] == result["access_token"]

    refreshed = app.acquire_token_silent([read], account=account, force_refresh=True)
    assert_tokens(refreshed, "silent (force_refresh)")
    assert refreshed.get("token_source") == "identity_provider", f"token_source {refreshed.get('token_source')!r}"
    assert refreshed["access_token"] != result["access_token"], "force_refresh must fetch a new access token"
    new_claims = verify_user_token(refreshed["access_token"], "Demo.Read")
    assert new_claims["uti"] != claims["uti"]
    rts = list(app.token_cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN))
    assert len(rts) == 1, f"MSAL cache should hold one refresh token, has {len(rts)}"
    assert rts[0]["secret"] != result["refresh_token"], "the refresh token must rotate on use"

    for token in (result["access_token"], refreshed["access_token"]):
        resp = call_gateway(dev, token)
        assert resp.status_code == 200, f"gateway with the user token -> {resp.status_code}: {resp.text[:300]}"


def test_msal_device_flow_declined(dev, base, app, browser, user):
    flow = start_device_flow(app, base, [api_scope(dev, "Demo.Read")])
    person = DevicePerson(browser, user, decision="decline")
    person.start(flow["user_code"])
    result = poll_device_flow(app, flow, person)
    walk = person.result()

    assert walk.seen == [SIGN_IN, CONSENT], f"pages seen: {walk.seen}"
    assert walk.page is not None and walk.page.h1 == "Sign-in cancelled", f"final page: {walk.page and walk.page.h1!r}"
    assert "access_token" not in result, "a declined device code must not yield tokens"
    assert result.get("error") == "authorization_declined", (
        f"error {result.get('error')!r} (want authorization_declined): {result.get('error_description')!r}"
    )
    assert app.get_accounts() == []


def _mistype(code):
    """The same code with one character changed (still of the code alphabet)."""
    i = next(i for i, c in enumerate(code) if c.isalnum())
    return code[:i] + ("B" if code[i] != "B" else "C") + code[i + 1:]


@pytest.mark.parametrize("entered", ["mistyped", "malformed"])
def test_device_code_wrong_entry(dev, base, app, browser, entered):
    flow = start_device_flow(app, base, [api_scope(dev, "Demo.Read")])
    code = _mistype(flow["user_code"]) if entered == "mistyped" else "NOT-A-CODE!"
    resp = browser.enter_device_code(code)
    assert resp.status_code == 400, f"wrong code -> {resp.status_code} (want 400): {resp.text[:300]}"
    assert "Location" not in resp.headers, f"a wrong code must not redirect: {resp.headers.get('Location')}"
    page = browser.page(resp)
    assert page.alerts and "wasn't recognised" in page.alerts[0], f"error shown: {page.alerts}"
    # The page lets the person try again.
    retry = page.form("/devicelogin")
    assert retry.fields.get("csrf"), "the error page must carry a fresh form"
    # ...and the right code still works after a wrong one.
    assert browser.submit(retry, user_code=flow["user_code"]).status_code == 303


@pytest.mark.parametrize("forgery", ["no-csrf", "other-browser-token", "cross-origin"])
def test_device_code_entry_csrf(dev, base, app, browser, forgery):
    flow = start_device_flow(app, base, [api_scope(dev, "Demo.Read")])
    entry = browser.open(f"{base}/devicelogin")
    form = entry.form("/devicelogin")
    set_cookie = entry.response.headers.get("Set-Cookie", "")
    assert set_cookie.startswith("__Host-tg_csrf="), f"GET /devicelogin should set the __Host-tg_csrf cookie: {set_cookie!r}"
    for attribute in ("Secure", "HttpOnly", "Path=/"):
        assert attribute in set_cookie.split("; "), f"__Host-tg_csrf cookie lacks {attribute}: {set_cookie!r}"
    data = {"csrf": form.fields["csrf"], "user_code": flow["user_code"]}
    headers = {}
    if forgery == "no-csrf":
        del data["csrf"]
    elif forgery == "other-browser-token":
        other = Browser(base, dev["ca_cert"])
        data["csrf"] = other.open(f"{base}/devicelogin").form("/devicelogin").fields["csrf"]
        assert data["csrf"] != form.fields["csrf"]
    else:
        headers["Origin"] = "https://evil.example"
    resp = browser.request("POST", f"{base}/devicelogin", data=data, headers=headers)
    assert resp.status_code == 403, f"{forgery}: POST /devicelogin -> {resp.status_code} (want 403): {resp.text[:300]}"
    assert "Location" not in resp.headers
    # Control: the same browser, posting honestly, gets through.
    assert browser.submit(form, user_code=flow["user_code"]).status_code == 303


# --------------------------------------------------------------------------------------------
# Authorization code flow with PKCE (MSAL)
# --------------------------------------------------------------------------------------------

def test_msal_auth_code_flow_and_sso(dev, app, browser, user, public_client, verify_user_token):
    read = api_scope(dev, "Demo.Read")
    redirect_uri = public_client["redirect_uri"]

    flow, query = auth_code_flow(app, public_client, [read])
    walk = browser.walk(browser.request("GET", flow["auth_uri"]), user["username"], user["password"])
    # Tenant-wide consent for Demo.Read: straight from sign-in to the code.
    assert walk.seen == [SIGN_IN], f"pages seen: {walk.seen} (ended on {walk.page and walk.page.h1!r})"
    params = redirect_params(walk.redirect, redirect_uri)
    assert params.get("code") and params.get("state") == flow["state"], params
    assert params.get("session_state"), f"session_state missing: {params}"

    # MSAL checks state, sends the PKCE verifier and checks the ID token's nonce itself.
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert_tokens(result, "auth code")
    idc = assert_id_token(result, dev, user, public_client, "auth code")
    assert idc.get("nonce") == query["nonce"][0], f"id token nonce {idc.get('nonce')!r}"
    assert idc.get("nonce") == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    assert result.get("refresh_token")
    verify_user_token(result["access_token"], "Demo.Read")
    assert call_gateway(dev, result["access_token"]).status_code == 200

    # The code is single use.
    again = app.acquire_token_by_auth_code_flow(dict(flow), params)
    assert "access_token" not in again and again.get("error") == "invalid_grant", again

    # Same browser, second app: the SSO session skips the sign-in page.
    app2 = msal.PublicClientApplication(
        public_client["client_id"], authority=dev["authority"], instance_discovery=False, verify=dev["ca_cert"],
    )
    flow2, _ = auth_code_flow(app2, public_client, [read])
    first = browser.request("GET", flow2["auth_uri"])
    assert first.status_code == 303, f"with an SSO session, /authorize should 303 straight to the code, got {first.status_code}"
    params2 = redirect_params(first.headers.get("Location"), redirect_uri)
    assert params2.get("code") and params2["code"] != params["code"] and params2.get("state") == flow2["state"]
    assert params2.get("session_state") == params["session_state"], "same browser session, same session_state"
    result2 = app2.acquire_token_by_auth_code_flow(flow2, params2)
    assert_tokens(result2, "auth code (SSO)")
    verify_user_token(result2["access_token"], "Demo.Read")


def test_msal_auth_code_flow_form_post(dev, app, browser, user, public_client, verify_user_token):
    """response_mode=form_post (what MSAL recommends): the code arrives in an auto-submitting form."""
    flow = app.initiate_auth_code_flow(
        scopes=[api_scope(dev, "Demo.Read")], redirect_uri=public_client["redirect_uri"], response_mode="form_post",
    )
    walk = browser.walk(browser.request("GET", flow["auth_uri"]), user["username"], user["password"])
    assert walk.seen == [SIGN_IN] and walk.redirect is None, f"pages seen {walk.seen}, redirect {walk.redirect!r}"
    form = walk.form_post
    assert form is not None and form.method == "post", f"expected an auto-submitting form, got {walk}"
    assert form.action == public_client["redirect_uri"], f"form_post action {form.action!r}"
    assert form.fields.get("code") and form.fields.get("state") == flow["state"], form.fields
    csp = walk.page.response.headers.get("Content-Security-Policy", "")
    assert "script-src 'nonce-" in csp, f"the auto-submit script must be allowed by nonce only: {csp!r}"
    result = app.acquire_token_by_auth_code_flow(flow, dict(form.fields))
    assert_tokens(result, "auth code (form_post)")
    verify_user_token(result["access_token"], "Demo.Read")


def test_id_token_sid_is_the_browser_session(dev, app, browser, user, public_client):
    """`sid` identifies the sign-in session (what front-channel logout and session checks key on):
    the `session_state` the code came with, and the same for every app signed in by SSO."""
    read = api_scope(dev, "Demo.Read")
    redirect_uri = public_client["redirect_uri"]
    sids, states = [], []
    for _ in range(2):  # the first signs in, the second rides the SSO session
        flow, _ = auth_code_flow(app, public_client, [read])
        walk = browser.walk(browser.request("GET", flow["auth_uri"]), user["username"], user["password"])
        params = redirect_params(walk.redirect, redirect_uri)
        result = app.acquire_token_by_auth_code_flow(flow, params)
        assert_tokens(result, "auth code")
        sids.append(result["id_token_claims"].get("sid"))
        states.append(params.get("session_state"))
    assert states[0] and states[0] == states[1], f"session_state of one browser session: {states}"
    assert sids[0] and sids[1] == sids[0], f"SSO in the same browser session should keep the sid: {sids}"
    assert sids[0] == states[0], (
        f"ID token sid {sids[0]!r} should be the session_state {states[0]!r} returned with the code"
    )


def test_msal_auth_code_flow_consent(dev, app, browser, user, public_client, verify_user_token):
    write = api_scope(dev, "Demo.Write")
    redirect_uri = public_client["redirect_uri"]

    # Declining first: the app hears access_denied, nothing is granted.
    flow, _ = auth_code_flow(app, public_client, [write])
    walk = browser.walk(browser.request("GET", flow["auth_uri"]), user["username"], user["password"], decision="decline")
    assert walk.seen == [SIGN_IN, CONSENT], f"Demo.Write needs the user's consent; pages seen: {walk.seen}"
    params = redirect_params(walk.redirect, redirect_uri)
    assert params.get("error") == "access_denied" and params.get("state") == flow["state"], params
    assert "code" not in params
    declined = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" not in declined and declined.get("error") == "access_denied", declined

    # Accepting: the consent page names the permission; the token carries it.
    flow, _ = auth_code_flow(app, public_client, [write])
    resp = browser.request("GET", flow["auth_uri"])
    consent = browser.page(resp)
    assert consent.kind() == CONSENT, f"declining must not grant: expected the consent page again, got {consent.h1!r}"
    assert "Demo.Write" in consent.response.text, "the consent page should name Demo.Write"
    walk = browser.walk(resp, decision="accept")
    params = redirect_params(walk.redirect, redirect_uri)
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert_tokens(result, "auth code (Demo.Write)")
    claims = verify_user_token(result["access_token"], "Demo.Write")
    assert claims["scp"].split(" ") == ["Demo.Write"], f"scp {claims['scp']!r}"
    resp = call_gateway(dev, result["access_token"], route="/demo-write/")
    assert resp.status_code == 200, f"gateway /demo-write/ with Demo.Write -> {resp.status_code}: {resp.text[:300]}"

    # Consent is remembered: the next request for Demo.Write goes straight to the code.
    flow, _ = auth_code_flow(app, public_client, [write])
    resp = browser.request("GET", flow["auth_uri"])
    assert resp.status_code == 303, f"after consent, /authorize should answer at once, got {resp.status_code}"
    assert redirect_params(resp.headers.get("Location"), redirect_uri).get("code")


# --------------------------------------------------------------------------------------------
# azure-identity
# --------------------------------------------------------------------------------------------

def test_azure_identity_device_code_credential(dev, base, browser, user, public_client, verify_user_token):
    person = DevicePerson(browser, user)
    prompts = []

    def prompt_callback(verification_uri, user_code, expires_on):
        prompts.append((verification_uri, user_code, expires_on))
        person.start(user_code)

    cred = DeviceCodeCredential(
        client_id=public_client["client_id"],
        tenant_id=dev["tenant_id"],
        authority=base,
        disable_instance_discovery=True,
        prompt_callback=prompt_callback,
        timeout=DEVICE_WAIT_S,
    )
    token = cred.get_token(api_scope(dev, "Demo.Read"))
    walk = person.result()

    assert len(prompts) == 1, f"prompt_callback calls: {prompts}"
    verification_uri, _, expires_on = prompts[0]
    assert verification_uri == f"{base}/devicelogin", verification_uri
    assert expires_on.timestamp() > time.time() + 60, f"expires_on {expires_on}"
    assert walk.page is not None and walk.page.h1 == "You're signed in", walk
    assert token.token and token.expires_on > time.time() + 300, f"expires_on {token.expires_on}"
    claims = verify_user_token(token.token, "Demo.Read")
    assert abs(token.expires_on - claims["exp"]) <= 60, f"expires_on {token.expires_on} vs exp {claims['exp']}"
    assert call_gateway(dev, token.token).status_code == 200

    # Served from the credential's cache the second time (no new device code).
    assert cred.get_token(api_scope(dev, "Demo.Read")).token == token.token
    assert len(prompts) == 1
