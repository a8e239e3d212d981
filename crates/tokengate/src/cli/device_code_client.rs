//! The device code flow from the device's side (RFC 8628, as Entra runs it): ask for a code, tell
//! the person where to enter it (stderr, so stdout stays the token), then poll at the interval
//! the authority set, 5 s slower after each `slow_down`, until a token, a refusal, or
//! `expires_in` runs out.

use std::time::{Duration, Instant};

use super::authority_client::{AuthorityClient, AuthorityError, ClientAuth, TokenAnswer};
use super::CliError;

/// What to do after one poll's refusal.
#[derive(Debug, PartialEq, Eq)]
pub enum PollStep {
    /// Poll again after this many seconds.
    Wait(i64),
    /// The flow ended without a token.
    Stop,
}

/// RFC 8628 §3.5: `authorization_pending` waits the interval, `slow_down` adds 5 s to it for
/// good; anything else (`authorization_declined`, `expired_token`, `bad_verification_code`...) ends.
pub fn after_refusal(error: &str, interval: &mut i64) -> PollStep {
    match error {
        "authorization_pending" => PollStep::Wait(*interval),
        "slow_down" => {
            *interval += 5;
            PollStep::Wait(*interval)
        }
        _ => PollStep::Stop,
    }
}

/// Runs the flow to its end: the token, or why there is none.
pub async fn sign_in(
    authority: &AuthorityClient,
    client_id: &str,
    auth: &ClientAuth,
    scope: &str,
) -> Result<TokenAnswer, CliError> {
    let started = Instant::now();
    let code = authority.start_device_code(client_id, scope).await.map_err(|e| e.into_cli(&authority.authority))?;
    match code.message.as_deref().filter(|m| !m.trim().is_empty()) {
        Some(message) => eprintln!("{}", message.trim()),
        None => eprintln!("To sign in, open {} and enter the code {}.", code.verification_uri, code.user_code),
    }
    let deadline = started + Duration::from_secs(u64::try_from(code.expires_in.max(1)).unwrap_or(900));
    let mut interval = code.interval.clamp(1, 60);
    loop {
        let wake = Instant::now() + Duration::from_secs(u64::try_from(interval).unwrap_or(5));
        if wake >= deadline {
            return Err(expired(authority));
        }
        tokio::time::sleep_until(wake.into()).await;
        let now = crate::state::now();
        match authority.poll_device_code(client_id, auth, &code.device_code, now).await {
            Ok(token) => return Ok(token),
            Err(AuthorityError::Refused { error, line }) => {
                if after_refusal(&error, &mut interval) == PollStep::Stop {
                    return Err(AuthorityError::Refused { error, line }.into_cli(&authority.authority));
                }
            }
            Err(other) => return Err(other.into_cli(&authority.authority)),
        }
    }
}

fn expired(authority: &AuthorityClient) -> CliError {
    CliError::TokenRefused {
        authority: authority.authority.clone(),
        detail: "the device code expired before anyone signed in with it: run the command again".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_waits_the_interval_and_slow_down_adds_five_seconds_for_good() {
        let mut interval = 5;
        assert_eq!(after_refusal("authorization_pending", &mut interval), PollStep::Wait(5));
        assert_eq!(after_refusal("slow_down", &mut interval), PollStep::Wait(10));
        assert_eq!(after_refusal("authorization_pending", &mut interval), PollStep::Wait(10));
        assert_eq!(after_refusal("slow_down", &mut interval), PollStep::Wait(15));
    }

    #[test]
    fn declined_expired_and_unknown_errors_end_the_flow() {
        for error in ["authorization_declined", "expired_token", "bad_verification_code", "invalid_grant"] {
            let mut interval = 5;
            assert_eq!(after_refusal(error, &mut interval), PollStep::Stop, "{error}");
            assert_eq!(interval, 5);
        }
    }
}
