//! Browser-facing plumbing shared by every listener that serves HTML: `__Host-` cookies, CSRF
//! (double-submit token and `Origin` check) and page responses with their security headers.
//! Knows nothing of OAuth, sign-in or any one listener's pages: those live with their listener.

pub mod cookies;
pub mod csrf;
pub mod html_response;
