//! mimalloc settings that it reads only from the environment, once, when the process starts: so
//! the process starts itself again (same pid, `exec`) with them added, unless they are there.
//! Measured with `bench/gateway_memory.sh` (BENCHMARKS.md, memory), at the same request rate:
//!
//! - `MIMALLOC_ALLOW_THP=0`: no transparent huge pages. mimalloc's arenas are huge-page aligned, so
//!   with THP every touched 2 MiB of heap was resident whole (idle 56 → 49 MB, 100k cached tokens
//!   under load 148 → 119 MB).
//! - `MIMALLOC_PURGE_DELAY=100` (ms): freed memory goes back to the OS 100 ms after it was freed,
//!   not 1 s. mimalloc purges only when a later free comes by, and start-up's work (the argon2
//!   hashes of the seeded users' passwords, 19 MiB each) ends within the second: that memory
//!   stayed resident for good, idle and under load (idle 46 → 31–33 MB; 100k cached tokens under
//!   load 121 → 108–110 MB). No delay at all (0) measured the same memory; 100 ms keeps a page
//!   freed and taken again within a burst from being decommitted and faulted in each time. The
//!   gateway's request rates with either, and with the defaults, were within the machine's noise.
//!
//! A value set by the operator is kept. When `exec` fails (no `/proc`), the process carries on
//! with mimalloc's defaults; only its memory is larger.

/// What this module adds to the environment, where it is not set.
const SETTINGS: [(&str, &str); 2] = [("MIMALLOC_ALLOW_THP", "0"), ("MIMALLOC_PURGE_DELAY", "100")];

/// Call first in `main`: returns at once when the settings are in place (or cannot be), else
/// never (the process image is replaced).
pub fn apply() {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;

        let missing: Vec<_> = SETTINGS.iter().filter(|(name, _)| std::env::var_os(name).is_none()).collect();
        if missing.is_empty() {
            return;
        }
        let mut args = std::env::args_os();
        let mut again = std::process::Command::new("/proc/self/exe");
        if let Some(argv0) = args.next() {
            again.arg0(argv0);
        }
        again.args(args);
        for (name, value) in missing {
            again.env(name, value);
        }
        // Returns only if the exec failed: carry on as we are.
        let _failed = again.exec();
    }
}
