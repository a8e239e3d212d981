"""A tiny scripted browser for the issuer's server-rendered pages (sign-in, consent, device code).

It is a `requests.Session` (TLS verified against the dev CA, cookies kept like a browser keeps
them) that never follows redirects by itself, so every 303 is seen, plus a small HTML form parser.
Every HTML page it receives is checked for the anti-framing headers the issuer promises.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import requests

TIMEOUT_S = 10
MAX_STEPS = 12  # redirects + pages in one walk; a loop fails instead of spinning

SIGN_IN = "sign-in"
CONSENT = "consent"


@dataclass
class Form:
    action: str
    method: str
    fields: dict = field(default_factory=dict)  # name -> value of every named <input>
    buttons: list = field(default_factory=list)  # (name, value) of named submit buttons


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.h1 = ""
        self.alerts = []
        self._in = None  # "h1" or "alert" while inside one

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get").lower()))
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "button" and self.forms and a.get("name"):
            self.forms[-1].buttons.append((a["name"], a.get("value", "")))
        elif tag == "h1":
            self._in = "h1"
        elif a.get("role") == "alert":
            self._in = "alert"
            self.alerts.append("")

    def handle_endtag(self, tag):
        if tag in ("h1", "p"):
            self._in = None

    def handle_data(self, data):
        if self._in == "h1":
            self.h1 += data
        elif self._in == "alert":
            self.alerts[-1] += data


@dataclass
class Page:
    url: str
    response: requests.Response
    forms: list
    h1: str
    alerts: list  # error messages shown (role="alert")

    @property
    def status(self):
        return self.response.status_code

    def form(self, action_path: str) -> Form:
        """The one form posting to a URL ending in `action_path`."""
        found = [f for f in self.forms if urlsplit(f.action).path == action_path]
        assert len(found) == 1, (
            f"{self.url}: expected one form posting to {action_path}, "
            f"found actions {[f.action for f in self.forms]} (h1 {self.h1!r})"
        )
        return found[0]

    def kind(self):
        """SIGN_IN, CONSENT or None (any other page: message, error, code entry)."""
        actions = {urlsplit(f.action).path for f in self.forms}
        if "/flow/sign-in" in actions:
            return SIGN_IN
        if "/flow/consent" in actions:
            return CONSENT
        return None


def assert_page_headers(response: requests.Response):
    """What every HTML page of the issuer carries: never framed."""
    where = f"{response.request.method} {response.url} -> {response.status_code}"
    assert response.headers.get("X-Frame-Options", "").upper() == "DENY", (
        f"{where}: X-Frame-Options must be DENY, got {response.headers.get('X-Frame-Options')!r}"
    )
    csp = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, f"{where}: CSP must contain frame-ancestors 'none', got {csp!r}"


@dataclass
class Walk:
    """What a walk through the pages saw and where it ended."""
    seen: list  # kinds of the interactive pages passed (SIGN_IN, CONSENT), in order
    page: Page = None  # the final page, when the walk ended on one
    redirect: str = None  # the Location leaving the issuer (the answer to the client app)
    form_post: Form = None  # or the auto-submitting form carrying it (response_mode=form_post)


class Browser:
    def __init__(self, base_url: str, ca_cert: str):
        self.base = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.verify = ca_cert

    def request(self, method, url, **kwargs) -> requests.Response:
        resp = self.http.request(method, url, allow_redirects=False, timeout=TIMEOUT_S, **kwargs)
        if resp.headers.get("Content-Type", "").startswith("text/html"):
            assert_page_headers(resp)
        return resp

    def page(self, resp: requests.Response) -> Page:
        assert resp.headers.get("Content-Type", "").startswith("text/html"), (
            f"{resp.url} -> {resp.status_code} is not an HTML page: "
            f"{resp.headers.get('Content-Type')!r} {resp.text[:300]!r}"
        )
        parser = _PageParser()
        parser.feed(resp.text)
        return Page(resp.url, resp, parser.forms, parser.h1.strip(), [a.strip() for a in parser.alerts])

    def open(self, url) -> Page:
        return self.page(self.request("GET", url))

    def submit(self, form: Form, button=None, **values) -> requests.Response:
        """Post a form as a browser would: its inputs, overridden by `values`, plus one button."""
        assert form.method == "post", f"form {form.action} has method {form.method}"
        data = dict(form.fields)
        data.update(values)
        if button is not None:
            assert button in form.buttons, f"form {form.action} has no button {button}: {form.buttons}"
            data[button[0]] = button[1]
        return self.request("POST", urljoin(self.base + "/", form.action), data=data)

    def is_issuer(self, url: str) -> bool:
        return url == self.base or url.startswith(self.base + "/")

    def walk(self, resp: requests.Response, username=None, password=None, decision="accept") -> Walk:
        """Follow 303s inside the issuer, sign in and answer consent pages, until the flow leaves
        the issuer (a redirect or a form posting elsewhere: not followed) or shows another page."""
        walk = Walk(seen=[])
        for _ in range(MAX_STEPS):
            if resp.status_code in (301, 302, 303, 307, 308):
                location = urljoin(resp.url, resp.headers["Location"])
                assert resp.status_code == 303, f"{resp.url}: the issuer must answer 303, got {resp.status_code}"
                if not self.is_issuer(location):
                    walk.redirect = location
                    return walk
                resp = self.request("GET", location)
                continue
            page = self.page(resp)
            leaving = [f for f in page.forms if not self.is_issuer(urljoin(page.url, f.action))]
            if leaving:
                assert len(leaving) == 1 and page.status == 200, f"{page.url}: forms {page.forms}"
                walk.page, walk.form_post = page, leaving[0]
                return walk
            kind = page.kind()
            if kind == SIGN_IN and page.status == 200 and not page.alerts:
                assert username is not None, f"unexpected sign-in page at {page.url}"
                walk.seen.append(kind)
                resp = self.submit(page.form("/flow/sign-in"), username=username, password=password)
            elif kind == CONSENT and page.status == 200:
                walk.seen.append(kind)
                resp = self.submit(page.form("/flow/consent"), button=("decision", decision))
            else:
                walk.page = page
                return walk
        raise AssertionError(f"no end after {MAX_STEPS} steps (last {resp.url}); seen {walk.seen}")

    def enter_device_code(self, user_code: str) -> requests.Response:
        """Open /devicelogin and submit the code; returns the answer to that POST."""
        entry = self.open(f"{self.base}/devicelogin")
        assert entry.status == 200, f"GET /devicelogin -> {entry.status}"
        form = entry.form("/devicelogin")
        assert form.action == f"{self.base}/devicelogin", f"device form action {form.action!r}"
        assert form.fields.get("csrf"), f"device form lacks a csrf token: {form.fields}"
        return self.submit(form, user_code=user_code)
