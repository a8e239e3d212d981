"""Shared checks for the interop tests: PEM handling and Entra v2 app-only token validation."""

import re
import time
import uuid
from urllib.parse import urlsplit

import jwt

# Entra back-dates iat/nbf by 5 minutes and picks a lifetime of 60-90 minutes.
BACKDATE_S = 300
MIN_LIFETIME_S = 3600 + BACKDATE_S
MAX_LIFETIME_S = 5400 + BACKDATE_S
CLOCK_SLACK_S = 5

_PEM_BLOCK = re.compile(
    r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL
)


def pem_blocks(pem_text: str):
    """[(label, block_text)] in file order."""
    return [(m.group(1), m.group(0)) for m in _PEM_BLOCK.finditer(pem_text)]


def split_key_and_certs(path: str):
    """Return (private key PEM, [certificate PEMs]) from a 'key + cert' PEM file."""
    with open(path, encoding="ascii") as f:
        text = f.read()
    blocks = pem_blocks(text)
    keys = [b for label, b in blocks if label.endswith("PRIVATE KEY")]
    certs = [b for label, b in blocks if label == "CERTIFICATE"]
    assert len(keys) == 1, f"{path}: expected exactly one private key block, got labels {[l for l, _ in blocks]}"
    assert certs, f"{path}: expected at least one CERTIFICATE block, got labels {[l for l, _ in blocks]}"
    return keys[0], certs


def authority_host(authority: str) -> str:
    """azure-identity's `authority` is scheme://host[:port]; it appends the tenant itself."""
    parts = urlsplit(authority)
    return f"{parts.scheme}://{parts.netloc}"


def is_guid(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def verify_app_token(
    token: str,
    *,
    dev: dict,
    discovery: dict,
    jwks: dict,
    jwk_client,
    azpacr: str,
    requested_between=None,
):
    """Verify an app-only (client credentials) v2 access token like an Entra-protected API would.

    `requested_between` = (t0, t1) wall-clock bracket of the token request when the token is known
    to be freshly issued; then iat must be t - 300 s for some t in that bracket.
    Returns the verified claims.
    """
    assert isinstance(token, str) and token.count(".") == 2, f"not a compact JWS: {token[:80]!r}"

    header = jwt.get_unverified_header(token)
    assert header.get("typ") == "JWT", f"header typ must be 'JWT': {header}"
    assert header.get("alg") == "RS256", f"header alg must be 'RS256': {header}"
    kid = header.get("kid")
    assert kid, f"header must carry a kid: {header}"
    jwks_kids = [k.get("kid") for k in jwks["keys"]]
    assert kid in jwks_kids, f"token kid {kid!r} not in JWKS kids {jwks_kids}"

    signing_key = jwk_client.get_signing_key_from_jwt(token)
    client_id = dev["confidential_client"]["client_id"]
    app_id = dev["api"]["app_id"]
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience=app_id,
        issuer=discovery["issuer"],
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"], "verify_signature": True},
    )

    expected_present = ["aud", "iss", "iat", "nbf", "exp", "aio", "azp", "azpacr", "oid", "rh",
                        "roles", "sub", "tid", "uti", "ver"]
    missing = [c for c in expected_present if c not in claims]
    assert not missing, f"claims missing {missing}; got {sorted(claims)}"

    assert claims["aud"] == app_id, f"aud must be the API's client id {app_id!r} (a string), got {claims['aud']!r}"
    assert claims["iss"] == dev["issuer"], f"iss {claims['iss']!r} != dev.json issuer {dev['issuer']!r}"
    assert claims["azp"] == client_id, f"azp {claims['azp']!r} != client id {client_id!r}"
    assert claims["azpacr"] == azpacr, f"azpacr must be {azpacr!r} (string), got {claims['azpacr']!r}"
    assert claims["ver"] == "2.0", f"ver must be '2.0', got {claims['ver']!r}"
    assert claims["tid"] == dev["tenant_id"], f"tid {claims['tid']!r} != tenant_id {dev['tenant_id']!r}"
    assert is_guid(claims["oid"]), f"oid must be a GUID: {claims['oid']!r}"
    assert claims["sub"] == claims["oid"], (
        f"app-only token: sub must equal the service principal oid; sub={claims['sub']!r} oid={claims['oid']!r}"
    )
    for opaque in ("aio", "rh", "uti"):
        assert isinstance(claims[opaque], str) and claims[opaque], f"{opaque} must be a non-empty string: {claims[opaque]!r}"
    assert "scp" not in claims, f"app-only tokens never carry scp, got scp={claims['scp']!r}"
    assert isinstance(claims["roles"], list), f"roles must be a JSON array: {claims['roles']!r}"
    granted = dev["confidential_client"]["granted_app_roles"]
    assert sorted(claims["roles"]) == sorted(granted), (
        f"roles {sorted(claims['roles'])} != granted_app_roles {sorted(granted)}"
    )

    for t in ("iat", "nbf", "exp"):
        assert isinstance(claims[t], int) and not isinstance(claims[t], bool), (
            f"{t} must be an integer NumericDate, got {claims[t]!r}"
        )
    assert claims["iat"] == claims["nbf"], f"iat {claims['iat']} must equal nbf {claims['nbf']}"
    lifetime = claims["exp"] - claims["iat"]
    assert MIN_LIFETIME_S <= lifetime <= MAX_LIFETIME_S, (
        f"exp - iat = {lifetime} s, expected {MIN_LIFETIME_S}..{MAX_LIFETIME_S} "
        "(60-90 min lifetime plus the 300 s back-dating)"
    )
    if requested_between is not None:
        t0, t1 = requested_between
        lo = int(t0) - BACKDATE_S - CLOCK_SLACK_S
        hi = int(t1) - BACKDATE_S + CLOCK_SLACK_S
        assert lo <= claims["iat"] <= hi, (
            f"iat {claims['iat']} should be the issue time minus {BACKDATE_S} s, i.e. within [{lo}, {hi}]"
        )
    return claims


def check_expires_in(expires_in, claims, requested_at: float):
    """MSAL derives its cache expiry from expires_in, so it has to agree with exp."""
    assert isinstance(expires_in, int) and expires_in > 300, (
        f"expires_in must be an int > 300 (MSAL treats < 5 min as expired), got {expires_in!r}"
    )
    drift = abs((requested_at + expires_in) - claims["exp"])
    assert drift <= 60, (
        f"expires_in {expires_in} disagrees with exp {claims['exp']} by {drift:.0f} s (request at {requested_at:.0f})"
    )


def now() -> float:
    return time.time()
