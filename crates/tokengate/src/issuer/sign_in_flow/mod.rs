//! The browser side of delegated sign-in: `/authorize`, the sign-in form, the consent form, and
//! the answer to the client (query, fragment or form_post). Each POST is CSRF-checked and answers
//! with a 303 to `GET /flow/resume`, which re-decides from the (signed) request and the session —
//! so a reload never re-submits a password and every step re-checks what it relies on. Every
//! refusal is a `PageError` (`issuer::page_error`), the one place it becomes a response.

mod authorize_endpoint;
mod consent_form;
mod continuation;
mod flow_forms;
mod logout_endpoint;
mod next_step;
mod response_delivery;
mod sign_in_form;

#[cfg(test)]
mod authorize_bad_input_tests;

pub use authorize_endpoint::authorize;
pub use consent_form::consent;
pub use continuation::{resume_url, Continuation};
pub use flow_forms::page_post;
pub use logout_endpoint::logout;
pub use next_step::resume;
pub use response_delivery::redirect_error;
pub use sign_in_form::sign_in;
