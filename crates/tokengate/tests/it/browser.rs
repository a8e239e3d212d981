//! A small browser for the issuer's pages: keeps cookies, never follows redirects (each 303 is
//! checked), reads hidden form fields, submits forms as a person would.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::header::{HeaderMap, COOKIE, LOCATION, ORIGIN, SET_COOKIE};

pub struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> String {
        self.headers.get(LOCATION).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }

    /// The value of `<input type="hidden" name="{name}" value="...">`.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start =
            self.body.find(&marker).unwrap_or_else(|| panic!("no field {name} in page:\n{}", self.body)) + marker.len();
        let end = start + self.body[start..].find('"').unwrap();
        html_unescape(&self.body[start..end])
    }

    pub fn action(&self) -> String {
        let start = self.body.find("action=\"").unwrap_or_else(|| panic!("no form in page:\n{}", self.body)) + 8;
        let end = start + self.body[start..].find('"').unwrap();
        html_unescape(&self.body[start..end])
    }

    /// The headers SECURITY.md asks of every page.
    pub fn assert_protected(&self) {
        assert_eq!(self.headers["x-frame-options"], "DENY", "clickjacking");
        let csp = self.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(self.headers["cache-control"].to_str().unwrap().contains("no-store"));
    }
}

/// Decodes the entities askama writes (`&#38;`, `&#x2f;`, `&quot;`, ...).
fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(';').unwrap();
        let entity = &tail[1..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") || e.starts_with("#X") => {
                char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap()).unwrap()
            }
            e => char::from_u32(e[1..].parse().unwrap()).unwrap(),
        };
        out.push(c);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

impl Browser {
    pub fn new(ca_pem: &[u8]) -> Browser {
        Browser::from_source(ca_pem, None)
    }

    /// A browser whose connections come from `source` (another loopback address, e.g. 127.0.0.2:
    /// the issuer sees another peer, as it would another computer).
    pub fn from_source(ca_pem: &[u8], source: Option<std::net::IpAddr>) -> Browser {
        let http = reqwest::Client::builder()
            .local_address(source)
            .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
            .tls_built_in_root_certs(false)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Browser { http, cookies: HashMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn remember(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, v) = pair.split_once('=').unwrap();
            if text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), v.to_owned());
            }
        }
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.contains_key(name)
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.get(name).cloned()
    }

    /// Plants a cookie (a copy taken from another browser).
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_owned(), value.to_owned());
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let r = self.http.get(url).header(COOKIE, self.cookie_header()).send().await.unwrap();
        self.page(r).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)], origin: Option<&str>) -> Page {
        let mut req = self.http.post(url).header(COOKIE, self.cookie_header()).form(form);
        if let Some(o) = origin {
            req = req.header(ORIGIN, o);
        }
        let r = req.send().await.unwrap();
        self.page(r).await
    }

    pub async fn post_raw(&mut self, url: &str, content_type: &str, body: Vec<u8>) -> Page {
        let r = self
            .http
            .post(url)
            .header(COOKIE, self.cookie_header())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        self.page(r).await
    }

    async fn page(&mut self, r: reqwest::Response) -> Page {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        self.remember(&headers);
        Page { status, headers, body: r.text().await.unwrap() }
    }

    /// Submits the sign-in form on `page` and follows the 303 to the next page.
    pub async fn sign_in(&mut self, page: &Page, username: &str, password: &str) -> Page {
        let (continuation, csrf) = (page.hidden("continuation"), page.hidden("csrf"));
        let posted = self
            .post(
                &page.action(),
                &[("continuation", &continuation), ("csrf", &csrf), ("username", username), ("password", password)],
                None,
            )
            .await;
        if posted.status != 303 {
            return posted;
        }
        self.get(&posted.location()).await
    }

    /// Answers the consent page on `page`; returns the 303 (or the page shown).
    pub async fn consent(&mut self, page: &Page, decision: &str) -> Page {
        let (continuation, csrf) = (page.hidden("continuation"), page.hidden("csrf"));
        let posted = self
            .post(&page.action(), &[("continuation", &continuation), ("csrf", &csrf), ("decision", decision)], None)
            .await;
        if posted.status == 303 && posted.location().contains("/flow/resume") {
            return self.get(&posted.location()).await;
        }
        posted
    }
}

/// Query (or fragment) parameters of a redirect URL, decoded.
pub fn redirect_params(url: &str) -> HashMap<String, String> {
    let query = url.split_once(['?', '#']).map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}
