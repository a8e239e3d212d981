#!/usr/bin/env python3
"""Fetch N refresh tokens from `tokengate dev` for the refresh-grant benchmark.

Usage: get_refresh_tokens.py DEV_JSON N OUT_FILE

One scripted browser (requests.Session, TLS verified against dev.json's ca_cert, redirects never
followed automatically) runs the authorization-code flow with PKCE for dev.json's public client:

  GET {authority}/oauth2/v2.0/authorize?...&code_challenge=...  -> sign-in page (first time only)
  POST /flow/sign-in (username, password from dev.json)          -> consent page (first time only)
  POST /flow/consent decision=accept                             -> 303 http://localhost?code=...
  POST {authority}/oauth2/v2.0/token grant_type=authorization_code + code_verifier -> refresh_token

After the first sign-in the browser's session cookie (SSO) and the recorded consent make every
further authorize answer the 303 with a code at once, so N tokens take N round trips of two
requests. Each token is a separate sign-in family (a separate authorization code), so the families
are independent under rotation. One token per line is written to OUT_FILE (mode 0600).
"""

import base64
import hashlib
import os
import secrets
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

TIMEOUT_S = 10
MAX_STEPS = 10


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []  # (action, {name: value}, [(button name, value)])

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.forms.append((a.get("action", ""), {}, []))
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1][1][a["name"]] = a.get("value", "")
        elif tag == "button" and self.forms and a.get("name"):
            self.forms[-1][2].append((a["name"], a.get("value", "")))


def forms_of(resp):
    p = _Forms()
    p.feed(resp.text)
    return p.forms


def die(msg):
    print(f"get_refresh_tokens.py: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 4:
        die("usage: get_refresh_tokens.py DEV_JSON N OUT_FILE")
    import json

    with open(sys.argv[1]) as f:
        dev = json.load(f)
    n = int(sys.argv[2])
    out = sys.argv[3]
    authority = dev["authority"].rstrip("/")
    base = "{0.scheme}://{0.netloc}".format(urlsplit(authority))
    client_id = dev["public_client"]["client_id"]
    redirect_uri = dev["public_client"]["redirect_uri"]
    scope = f"{dev['api']['app_id_uri']}/Demo.Read openid profile offline_access"
    user = dev["user"]

    s = requests.Session()
    ca = dev["ca_cert"]

    def req(method, url, **kw):
        # verify= per request: a session's verify is overridden by $REQUESTS_CA_BUNDLE if set.
        return s.request(method, url, allow_redirects=False, timeout=TIMEOUT_S, verify=ca, **kw)

    tokens = []
    signed_in = consented = 0
    for i in range(n):
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        resp = req(
            "GET",
            f"{authority}/oauth2/v2.0/authorize",
            params={
                "client_id": client_id,
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "scope": scope,
                "state": secrets.token_urlsafe(8),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        code = None
        for _ in range(MAX_STEPS):
            if resp.status_code in (302, 303):
                loc = urljoin(resp.url, resp.headers["Location"])
                if loc.startswith(redirect_uri):
                    q = parse_qs(urlsplit(loc).query)
                    if "code" not in q:
                        die(f"token {i}: redirect without a code: {loc[:300]}")
                    code = q["code"][0]
                    break
                resp = req("GET", loc)
                continue
            if resp.status_code != 200:
                die(f"token {i}: {resp.request.method} {resp.url} -> {resp.status_code}: {resp.text[:300]}")
            forms = {urlsplit(urljoin(base + "/", a)).path: (a, f, b) for a, f, b in forms_of(resp)}
            if "/flow/sign-in" in forms:
                action, fields, _ = forms["/flow/sign-in"]
                data = dict(fields, username=user["username"], password=user["password"])
                signed_in += 1
            elif "/flow/consent" in forms:
                action, fields, buttons = forms["/flow/consent"]
                data = dict(fields, decision="accept")
                consented += 1
            else:
                die(f"token {i}: unexpected page at {resp.url}: {resp.text[:400]}")
            if signed_in > 2 or consented > 2:
                die("the sign-in or consent page keeps coming back (no SSO session?)")
            resp = req("POST", urljoin(base + "/", action), data=data)
        if code is None:
            die(f"token {i}: no authorization code after {MAX_STEPS} steps")
        tok = req(
            "POST",
            f"{authority}/oauth2/v2.0/token",
            data={
                "grant_type": "authorization_code",
                "client_id": client_id,
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "scope": scope,
            },
        )
        body = tok.json() if tok.headers.get("Content-Type", "").startswith("application/json") else {}
        if tok.status_code != 200 or not body.get("refresh_token"):
            die(f"token {i}: token endpoint -> {tok.status_code}: {tok.text[:300]}")
        tokens.append(body["refresh_token"])

    if len(set(tokens)) != n:
        die("refresh tokens are not distinct")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(tokens) + "\n")
    print(f"get_refresh_tokens.py: {n} refresh tokens (sign-in pages: {signed_in}, consent pages: {consented})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
