//! Asking before a destructive change: on a terminal the question is asked (default no); without
//! one (scripts, CI) the command refuses unless its `--yes` was given, so nothing is deleted by a
//! pipe that happened to carry a `y`.

use std::io::{IsTerminal, Write};

use super::CliError;

/// Whether to go ahead: `yes` given, or the person at the terminal said so. `flag_use` says what
/// `--yes` would do, for the refusal without a terminal.
pub fn confirm(question: &str, yes: bool, flag_use: &str) -> Result<bool, CliError> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Argument(format!("{question} — no terminal to ask on: pass --yes to {flag_use}")));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).map_err(|e| CliError::Argument(e.to_string()))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
