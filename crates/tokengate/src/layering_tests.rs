//! The binary's dependency rules, checked on its sources: the gateway (and the authentication
//! module it shares) never imports the issuer, the issuer never imports the gateway — so a
//! gateway-only node needs no issuer code — and no source file grows past 800 lines.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn offenders(folders: &[&str], forbidden: &str) -> Vec<String> {
    folders
        .iter()
        .flat_map(|f| sources(&src().join(f)))
        .filter(|p| std::fs::read_to_string(p).unwrap().contains(forbidden))
        .map(|p| p.display().to_string())
        .collect()
}

#[test]
fn gateway_and_issuer_do_not_import_each_other() {
    assert_eq!(offenders(&["gateway", "authentication"], "crate::issuer"), Vec::<String>::new());
    assert_eq!(offenders(&["issuer", "authentication"], "crate::gateway"), Vec::<String>::new());
}

#[test]
fn no_source_file_is_over_800_lines() {
    let long: Vec<String> = sources(&src())
        .into_iter()
        .filter_map(|p| {
            let lines = std::fs::read_to_string(&p).unwrap().lines().count();
            (lines > 800).then(|| format!("{} ({lines} lines)", p.display()))
        })
        .collect();
    assert_eq!(long, Vec::<String>::new(), "split these by concern");
}
