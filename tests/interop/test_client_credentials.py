"""Client credentials grant through the real MSAL Python and azure-identity, unchanged.

Every token obtained is verified the way an Entra-protected API verifies it (discovery -> JWKS ->
RS256 signature, audience, issuer) and checked against Entra's v2 app-only claim shape.
"""

import base64
import hashlib
import json
import uuid

import jwt
import msal
import pytest
import requests
from azure.identity import CertificateCredential, ClientSecretCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from interop_helpers import (
    authority_host,
    check_expires_in,
    now,
    split_key_and_certs,
    verify_app_token,
)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class RecordingSession(requests.Session):
    """A requests.Session that remembers the form bodies MSAL posts (to check what it sent)."""

    def __init__(self):
        super().__init__()
        self.posted = []

    def request(self, method, url, *args, **kwargs):
        if method.upper() == "POST":
            self.posted.append((url, dict(kwargs.get("data") or {})))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture(scope="module")
def cc(dev):
    return dev["confidential_client"]


@pytest.fixture(scope="module")
def scope(dev):
    return dev["api"]["app_id_uri"].rstrip("/") + "/.default"


@pytest.fixture
def verify(dev, discovery, jwks, jwk_client):
    def _verify(token, azpacr, requested_between=None):
        return verify_app_token(
            token, dev=dev, discovery=discovery, jwks=jwks, jwk_client=jwk_client,
            azpacr=azpacr, requested_between=requested_between,
        )
    return _verify


def _msal_app(dev, credential, **kwargs):
    return msal.ConfidentialClientApplication(
        dev["confidential_client"]["client_id"],
        client_credential=credential,
        authority=dev["authority"],
        instance_discovery=False,
        **kwargs,
    )


def _assert_token_result(result, what):
    assert isinstance(result, dict), f"{what}: MSAL returned {result!r}"
    assert "access_token" in result, (
        f"{what}: no access_token; error={result.get('error')!r} "
        f"description={result.get('error_description')!r} codes={result.get('error_codes')!r}"
    )
    assert result.get("token_type", "").lower() == "bearer", f"{what}: token_type {result.get('token_type')!r}"
    assert isinstance(result.get("expires_in"), int) and result["expires_in"] > 300, (
        f"{what}: expires_in must be an int > 300, got {result.get('expires_in')!r}"
    )


# --------------------------------------------------------------------------------------------
# Discovery and keys (what every verification below relies on)
# --------------------------------------------------------------------------------------------

def test_discovery_document(dev, discovery):
    authority = dev["authority"].rstrip("/")
    assert discovery["issuer"] == dev["issuer"], (
        f"discovery issuer {discovery['issuer']!r} != dev.json issuer {dev['issuer']!r}"
    )
    assert discovery["issuer"] == f"{authority_host(authority)}/{dev['tenant_id']}/v2.0", (
        f"v2 issuer must be {{base}}/{{tid}}/v2.0, got {discovery['issuer']!r}"
    )
    # msal-node requires the issuer's scheme, host and port to equal the authority's.
    assert authority_host(discovery["issuer"]) == authority_host(authority)
    assert discovery["token_endpoint"] == f"{authority}/oauth2/v2.0/token", discovery["token_endpoint"]
    assert discovery["authorization_endpoint"] == f"{authority}/oauth2/v2.0/authorize", (
        discovery["authorization_endpoint"]
    )
    assert discovery["jwks_uri"].startswith("https://"), discovery["jwks_uri"]
    methods = discovery.get("token_endpoint_auth_methods_supported", [])
    for m in ("client_secret_post", "private_key_jwt", "client_secret_basic"):
        assert m in methods, f"token_endpoint_auth_methods_supported lacks {m}: {methods}"
    assert discovery.get("id_token_signing_alg_values_supported") == ["RS256"], (
        discovery.get("id_token_signing_alg_values_supported")
    )


def test_jwks_shape(jwks):
    for key in jwks["keys"]:
        assert key.get("kty") == "RSA", f"kty must be RSA: {key}"
        assert key.get("use") == "sig", f"use must be sig: {key}"
        assert key.get("e") == "AQAB", f"e must be AQAB: {key}"
        for private in ("d", "p", "q", "dp", "dq", "qi", "k"):
            assert private not in key, f"JWKS must never publish {private!r} (key {key.get('kid')})"
        assert key.get("kid") and key.get("x5t") == key["kid"], f"kid must equal x5t: {key}"
        x5c = key.get("x5c")
        assert isinstance(x5c, list) and x5c, f"x5c must be a non-empty list: {key.get('kid')}"
        der = base64.b64decode(x5c[0])
        assert _b64url(hashlib.sha1(der).digest()) == key["kid"], (
            f"kid {key['kid']!r} must be base64url(SHA-1(DER of x5c[0]))"
        )
        cert = x509.load_der_x509_certificate(der)
        n = cert.public_key().public_numbers().n
        assert int.from_bytes(_b64url_decode(key["n"]), "big") == n, (
            f"key {key['kid']}: n does not match the x5c certificate's public key"
        )


# --------------------------------------------------------------------------------------------
# MSAL Python
# --------------------------------------------------------------------------------------------

def test_msal_client_secret(dev, cc, scope, verify):
    app = _msal_app(dev, cc["client_secret"])

    t0 = now()
    first = app.acquire_token_for_client(scopes=[scope])
    t1 = now()
    _assert_token_result(first, "MSAL secret, first call")
    assert first.get("token_source") == "identity_provider", (
        f"first call must go to the issuer, token_source={first.get('token_source')!r}"
    )
    claims = verify(first["access_token"], azpacr="1", requested_between=(t0, t1))
    check_expires_in(first["expires_in"], claims, t0)

    second = app.acquire_token_for_client(scopes=[scope])
    _assert_token_result(second, "MSAL secret, second call")
    assert second.get("token_source") == "cache", (
        "second call should be served from MSAL's cache (the token response's scope must echo "
        f"the request); token_source={second.get('token_source')!r}"
    )
    assert second["access_token"] == first["access_token"]


def _cert_material(cc, tmp_path):
    key_pem, cert_pems = split_key_and_certs(cc["certificate_pem"])
    cert = x509.load_pem_x509_certificate(cert_pems[0].encode("ascii"))
    sha1 = cert.fingerprint(hashes.SHA1()).hex().upper()
    expected = cc.get("certificate_thumbprint")
    assert expected, "dev.json confidential_client lacks certificate_thumbprint"
    assert expected == sha1, (
        f"dev.json certificate_thumbprint {expected!r} != SHA-1 of the certificate ({sha1}); "
        "it must be uppercase hex like the portal shows"
    )
    key = serialization.load_pem_private_key(key_pem.encode("ascii"), password=None)
    pfx_path = tmp_path / "client.pfx"
    pfx_path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"tokengate-interop", key, cert, None, serialization.NoEncryption()
        )
    )
    return {
        "key_pem": key_pem,
        "cert_pem": cert_pems[0],
        "sha1": sha1,
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
        "pfx": str(pfx_path),
    }


# (credential builder, expected assertion alg, expected thumbprint header, x5c expected)
MSAL_CERT_VARIANTS = {
    # Classic: SHA-1 thumbprint given by the caller -> RS256 + x5t.
    "thumbprint-rs256": (
        lambda m: {"private_key": m["key_pem"], "thumbprint": m["sha1"]},
        "RS256", "x5t", False,
    ),
    # Subject name / issuer auth: thumbprint plus the certificate in x5c.
    "thumbprint-x5c-rs256": (
        lambda m: {"private_key": m["key_pem"], "thumbprint": m["sha1"], "public_certificate": m["cert_pem"]},
        "RS256", "x5t", True,
    ),
    # msal >= 1.35: no thumbprint, certificate given -> PS256 + x5t#S256 + x5c.
    "public-certificate-ps256": (
        lambda m: {"private_key": m["key_pem"], "public_certificate": m["cert_pem"]},
        "PS256", "x5t#S256", True,
    ),
    # msal >= 1.29: PFX file -> PS256 + x5t#S256, no certificate sent.
    "pfx-ps256": (
        lambda m: {"private_key_pfx_path": m["pfx"]},
        "PS256", "x5t#S256", False,
    ),
    # msal >= 1.30: PFX file with SNI -> PS256 + x5t#S256 + x5c.
    "pfx-x5c-ps256": (
        lambda m: {"private_key_pfx_path": m["pfx"], "public_certificate": True},
        "PS256", "x5t#S256", True,
    ),
}


@pytest.mark.parametrize("variant", list(MSAL_CERT_VARIANTS))
def test_msal_certificate(dev, cc, scope, verify, tmp_path, variant):
    build, alg, thumb_header, with_x5c = MSAL_CERT_VARIANTS[variant]
    material = _cert_material(cc, tmp_path)
    http = RecordingSession()
    app = _msal_app(dev, build(material), http_client=http)

    t0 = now()
    result = app.acquire_token_for_client(scopes=[scope])
    t1 = now()

    # First make sure MSAL sent the assertion variant this case is about.
    assertions = [d.get("client_assertion") for _, d in http.posted if d.get("client_assertion")]
    assert assertions, f"MSAL posted no client_assertion: {[u for u, _ in http.posted]}"
    sent = jwt.get_unverified_header(assertions[-1])
    assert sent.get("alg") == alg, f"{variant}: expected MSAL to sign with {alg}, header {sent}"
    expected_thumb = material["sha1"] if thumb_header == "x5t" else material["sha256"]
    got_thumb = sent.get(thumb_header, "")
    # MSAL pads its thumbprint headers with '='; the server must accept that.
    got_raw = _b64url_decode(got_thumb.rstrip("=")) if got_thumb else b""
    want_raw = bytes.fromhex(expected_thumb)
    assert got_raw == want_raw, f"{variant}: {thumb_header} header {got_thumb!r} is not the certificate's thumbprint"
    assert ("x5c" in sent) == with_x5c, f"{variant}: x5c presence {('x5c' in sent)} != {with_x5c}: {sent}"

    _assert_token_result(result, f"MSAL certificate ({variant})")
    claims = verify(result["access_token"], azpacr="2", requested_between=(t0, t1))
    check_expires_in(result["expires_in"], claims, t0)


# --------------------------------------------------------------------------------------------
# MSAL Python signs its client assertion once and reuses it (same jti) for 9 minutes
# (oauth2cli.assertion.AutoRefresher, expires_in=600-60). Entra accepts that; so must we, or
# every second network token request of a long-lived certificate client fails.
# --------------------------------------------------------------------------------------------

CAE_CLAIMS = '{"access_token":{"xms_cc":{"values":["cp1"]}}}'


def _drop_cached_access_tokens(app):
    for at in list(app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
        app.token_cache.remove_at(at)


@pytest.mark.parametrize("trigger", ["cache-miss", "claims-challenge"])
def test_msal_certificate_assertion_reused(dev, cc, scope, verify, tmp_path, trigger):
    material = _cert_material(cc, tmp_path)
    http = RecordingSession()
    app = _msal_app(
        dev, {"private_key": material["key_pem"], "thumbprint": material["sha1"]}, http_client=http,
    )
    first = app.acquire_token_for_client(scopes=[scope])
    _assert_token_result(first, "MSAL certificate, first request")

    if trigger == "cache-miss":  # as when the cached token has expired
        _drop_cached_access_tokens(app)
        second = app.acquire_token_for_client(scopes=[scope])
    else:  # as when an API answers 401 insufficient_claims (CAE)
        second = app.acquire_token_for_client(scopes=[scope], claims_challenge=CAE_CLAIMS)

    sent = [d["client_assertion"] for _, d in http.posted if d.get("client_assertion")]
    assert len(sent) == 2, f"expected two token requests on the wire, saw {len(sent)}"
    assert sent[0] == sent[1], "precondition: MSAL was expected to resend its cached assertion"
    _assert_token_result(second, f"MSAL certificate, second request ({trigger}) reusing MSAL's assertion")
    assert second.get("token_source") == "identity_provider", second.get("token_source")
    verify(second["access_token"], azpacr="2")


def test_azure_identity_certificate_claims_challenge(dev, cc, scope, verify):
    cred = CertificateCredential(
        dev["tenant_id"], cc["client_id"],
        certificate_path=cc["certificate_pem"],
        authority=authority_host(dev["authority"]),
        disable_instance_discovery=True,
    )
    first = cred.get_token(scope)
    # claims bypasses azure-identity's cache; the same MSAL app resends its cached assertion.
    second = cred.get_token(scope, claims=CAE_CLAIMS)
    assert second.token and second.token != first.token, "expected a freshly issued token"
    verify(second.token, azpacr="2")


# --------------------------------------------------------------------------------------------
# azure-identity
# --------------------------------------------------------------------------------------------

def test_azure_identity_client_secret(dev, cc, scope, verify):
    cred = ClientSecretCredential(
        dev["tenant_id"], cc["client_id"], cc["client_secret"],
        authority=authority_host(dev["authority"]),
        disable_instance_discovery=True,
    )
    t0 = now()
    token = cred.get_token(scope)
    t1 = now()
    assert token.token, "azure-identity returned an empty token"
    assert token.expires_on > t1 + 300, f"expires_on {token.expires_on} is less than 5 min ahead"
    claims = verify(token.token, azpacr="1", requested_between=(t0, t1))
    assert abs(token.expires_on - claims["exp"]) <= 60, (
        f"expires_on {token.expires_on} disagrees with exp {claims['exp']}"
    )


@pytest.mark.parametrize("send_certificate_chain", [False, True], ids=["x5t", "x5t+x5c-chain"])
def test_azure_identity_certificate(dev, cc, scope, verify, send_certificate_chain):
    cred = CertificateCredential(
        dev["tenant_id"], cc["client_id"],
        certificate_path=cc["certificate_pem"],
        authority=authority_host(dev["authority"]),
        disable_instance_discovery=True,
        send_certificate_chain=send_certificate_chain,
    )
    t0 = now()
    token = cred.get_token(scope)
    t1 = now()
    assert token.token, "azure-identity returned an empty token"
    assert token.expires_on > t1 + 300, f"expires_on {token.expires_on} is less than 5 min ahead"
    verify(token.token, azpacr="2", requested_between=(t0, t1))


# --------------------------------------------------------------------------------------------
# The wire, without a library in between
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("auth_style", ["client_secret_post", "client_secret_basic"])
def test_raw_token_response(dev, cc, scope, discovery, verify, auth_style):
    form = {"grant_type": "client_credentials", "client_id": cc["client_id"], "scope": scope}
    auth = None
    if auth_style == "client_secret_post":
        form["client_secret"] = cc["client_secret"]
    else:
        # RFC 6749 2.3.1: form-urlencode id and secret, then Basic.
        auth = requests.auth.HTTPBasicAuth(cc["client_id"], cc["client_secret"])
    t0 = now()
    resp = requests.post(discovery["token_endpoint"], data=form, auth=auth, timeout=10)
    t1 = now()
    assert resp.status_code == 200, f"{auth_style}: {resp.status_code} {resp.text[:500]}"
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers.get("Content-Type")
    cache_control = resp.headers.get("Cache-Control", "").lower()
    assert "no-store" in cache_control, f"token responses must not be cached: Cache-Control={cache_control!r}"
    assert resp.headers.get("Pragma", "").lower() == "no-cache", f"Pragma={resp.headers.get('Pragma')!r}"
    body = resp.json()
    assert body.get("token_type") == "Bearer", body.get("token_type")
    assert body.get("scope") == scope, f"scope must echo the request verbatim: {body.get('scope')!r} != {scope!r}"
    for field in ("expires_in", "ext_expires_in"):
        assert isinstance(body.get(field), int) and body[field] > 300, f"{field}={body.get(field)!r}"
    assert "refresh_token" not in body, "client credentials never yields a refresh token"
    assert "id_token" not in body, "client credentials never yields an id token"
    claims = verify(body["access_token"], azpacr="1", requested_between=(t0, t1))
    check_expires_in(body["expires_in"], claims, t0)


# --------------------------------------------------------------------------------------------
# Errors, shaped like Entra's
# --------------------------------------------------------------------------------------------

def _assert_entra_error(body, error, code, what):
    assert body.get("error") == error, f"{what}: error {body.get('error')!r} != {error!r}; body={body}"
    codes = body.get("error_codes")
    assert isinstance(codes, list) and code in codes, f"{what}: {code} not in error_codes {codes!r}"
    desc = body.get("error_description", "")
    assert desc.startswith(f"AADSTS{code}:"), f"{what}: error_description should start 'AADSTS{code}:': {desc!r}"
    for field in ("timestamp", "trace_id", "correlation_id"):
        assert body.get(field), f"{what}: error body lacks {field!r}: {sorted(body)}"


def test_msal_wrong_secret(dev, cc, scope):
    app = _msal_app(dev, cc["client_secret"] + "-wrong")
    result = app.acquire_token_for_client(scopes=[scope])
    assert "access_token" not in result, "a wrong secret must not yield a token"
    assert result.get("error") == "invalid_client", f"error {result.get('error')!r}; result={result}"
    assert 7000215 in (result.get("error_codes") or []), f"7000215 not in error_codes: {result.get('error_codes')!r}"


def test_raw_wrong_secret(cc, scope, discovery):
    resp = requests.post(discovery["token_endpoint"], data={
        "grant_type": "client_credentials", "client_id": cc["client_id"],
        "client_secret": "definitely-not-the-secret", "scope": scope,
    }, timeout=10)
    assert resp.status_code == 401, f"wrong secret -> {resp.status_code} (Entra: 401): {resp.text[:500]}"
    _assert_entra_error(resp.json(), "invalid_client", 7000215, "wrong secret")


@pytest.mark.parametrize("suffix", ["", "/{first_scope}"], ids=["bare-app-id-uri", "named-scope"])
def test_scope_without_default(dev, cc, discovery, suffix):
    app_id_uri = dev["api"]["app_id_uri"].rstrip("/")
    scopes = dev["api"].get("scopes") or []
    if suffix:
        assert scopes, "dev.json api.scopes is empty"
        first = scopes[0]
        # dev.json may list bare names ("Items.Read") or full scopes ("api://.../Items.Read").
        bad_scope = first if "://" in first else f"{app_id_uri}/{first}"
    else:
        bad_scope = app_id_uri
    resp = requests.post(discovery["token_endpoint"], data={
        "grant_type": "client_credentials", "client_id": cc["client_id"],
        "client_secret": cc["client_secret"], "scope": bad_scope,
    }, timeout=10)
    assert resp.status_code == 400, f"scope {bad_scope!r} -> {resp.status_code}: {resp.text[:500]}"
    _assert_entra_error(resp.json(), "invalid_scope", 1002012, f"scope {bad_scope!r}")


def test_unknown_tenant_msal(dev, cc):
    unknown = str(uuid.uuid4())
    authority = f"{authority_host(dev['authority'])}/{unknown}"
    with pytest.raises(ValueError) as excinfo:
        msal.ConfidentialClientApplication(
            cc["client_id"], client_credential=cc["client_secret"],
            authority=authority, instance_discovery=False,
        )
    # MSAL re-raises a generic ValueError; the one it caught carries the discovery response body.
    messages, exc = [], excinfo.value
    while exc is not None:
        messages.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    assert any("90002" in m for m in messages), f"MSAL errors should carry AADSTS90002: {messages}"


def test_unknown_tenant_raw(dev, cc, scope):
    unknown = str(uuid.uuid4())
    host = authority_host(dev["authority"])

    disc = requests.get(f"{host}/{unknown}/v2.0/.well-known/openid-configuration", timeout=10)
    assert disc.status_code == 400, f"discovery for unknown tenant -> {disc.status_code}: {disc.text[:500]}"
    disc_body = disc.json()
    assert 90002 in (disc_body.get("error_codes") or []), f"discovery error body lacks 90002: {disc_body}"

    resp = requests.post(f"{host}/{unknown}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": cc["client_id"],
        "client_secret": cc["client_secret"], "scope": scope,
    }, timeout=10)
    assert resp.status_code == 400, f"token for unknown tenant -> {resp.status_code}: {resp.text[:500]}"
    _assert_entra_error(resp.json(), "invalid_request", 90002, "unknown tenant")


def test_unknown_tenant_discovery_error_name(dev):
    """Entra's discovery names this error invalid_tenant (its token endpoint says invalid_request);
    az CLI and others surface that body as is."""
    unknown = str(uuid.uuid4())
    url = f"{authority_host(dev['authority'])}/{unknown}/v2.0/.well-known/openid-configuration"
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 400, f"{url} -> {resp.status_code}: {resp.text[:300]}"
    _assert_entra_error(resp.json(), "invalid_tenant", 90002, "discovery for an unknown tenant")
