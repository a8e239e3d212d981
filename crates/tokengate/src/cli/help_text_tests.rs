//! Every subcommand and every flag says what it is for (`tokengate ... --help` is the manual).

use clap::CommandFactory;

use super::Cli;

fn missing_help(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
    for arg in command.get_arguments() {
        let builtin = matches!(arg.get_id().as_str(), "help" | "version");
        if !builtin && !arg.is_hide_set() && arg.get_help().is_none() && arg.get_long_help().is_none() {
            missing.push(format!("{path} --{}", arg.get_id()));
        }
    }
    for sub in command.get_subcommands() {
        let sub_path = format!("{path} {}", sub.get_name());
        if sub.get_name() != "help" && sub.get_about().is_none() && sub.get_long_about().is_none() {
            missing.push(sub_path.clone());
        }
        missing_help(sub, &sub_path, missing);
    }
}

#[test]
fn every_subcommand_and_flag_has_help_text() {
    let mut missing = Vec::new();
    missing_help(&Cli::command(), "tokengate", &mut missing);
    assert!(missing.is_empty(), "without help text:\n{}", missing.join("\n"));
}

#[test]
fn the_command_line_definition_is_consistent() {
    Cli::command().debug_assert();
}

/// Key and token ids are base64url: about one in 32 starts with `-`, and it must still be read
/// as the value it is (CI once failed on `keys remove -j2dJ…`).
#[test]
fn ids_that_start_with_a_hyphen_are_values_not_flags() {
    use clap::Parser;
    for args in [
        vec!["tokengate", "keys", "remove", "-j2dJPrhLuPOuVmyePaGJqCVFaM"],
        vec!["tokengate", "revoke", "key", "-j2dJPrhLuPOuVmyePaGJqCVFaM", "--wait"],
        vec!["tokengate", "revoke", "token", "-AbCdEfGhIjKlMnOpQrStUv", "--reason", "leaked"],
        vec!["tokengate", "audit", "query", "--token-id", "-AbCdEfGhIjKlMnOpQrStUv"],
    ] {
        if let Err(e) = Cli::try_parse_from(&args) {
            panic!("{args:?} refused: {e}");
        }
    }
    // A real flag after the id is still a flag, and help still answers.
    let help = Cli::try_parse_from(["tokengate", "keys", "remove", "--help"]).err().map(|e| e.kind());
    assert_eq!(help, Some(clap::error::ErrorKind::DisplayHelp));
}
