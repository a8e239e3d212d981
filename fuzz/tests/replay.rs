//! Runs both fuzz targets' checks on stable Rust without libFuzzer: a seeded pseudo-random run
//! (`FUZZ_REPLAY_INPUTS` inputs per target, default 20,000; `FUZZ_REPLAY_SEED` to vary), then
//! every file under `corpus/<target>/` and `artifacts/<target>/` if present. Use
//! `cargo test --release` here: debug builds are slow.

use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use tokengate_fuzz::{check_bytes, check_spec, TokenSpec};

/// SplitMix64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn seeded() -> (Rng, u64) {
    let rng = Rng(env_number("FUZZ_REPLAY_SEED", 0x0070_436e_6761_7465));
    (rng, env_number("FUZZ_REPLAY_INPUTS", 20_000))
}

/// Input sizes skewed small, sometimes past the 16 KB limit.
fn length(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0 => rng.below(24_000),
        1..=3 => rng.below(2_048),
        _ => rng.below(256),
    }
}

/// A structurally valid-ish token (from a random spec), then a few byte-level mutations.
fn mutated_token(rng: &mut Rng) -> Vec<u8> {
    let len = length(rng);
    let raw = rng.bytes(len);
    // Genuine signatures are left out: this target has no key to expect them to verify with.
    let mut token = match TokenSpec::arbitrary(&mut Unstructured::new(&raw)) {
        Ok(spec) if !matches!(spec.signature, tokengate_fuzz::SignatureSpec::Sign(_)) => {
            spec.build().token.into_bytes()
        }
        _ => Vec::new(),
    };
    for _ in 0..rng.below(4) {
        let at = rng.below(token.len() + 1);
        match rng.below(5) {
            0 => token.insert(at, b'.'),
            1 => token.insert(at, b'='),
            2 if at < token.len() => token[at] ^= 1 << rng.below(8),
            3 if at < token.len() => {
                token.remove(at);
            }
            _ => token.insert(at, rng.next() as u8),
        }
    }
    token
}

fn replay_dir(dir: &Path, check: impl Fn(&[u8])) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for entry in entries.flatten() {
        if let Ok(data) = std::fs::read(entry.path()) {
            check(&data);
            n += 1;
        }
    }
    n
}

fn replay_saved(target: &str, check: impl Fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = replay_dir(&root.join("corpus").join(target), &check);
    let artifacts = replay_dir(&root.join("artifacts").join(target), &check);
    eprintln!("{target}: replayed {corpus} corpus and {artifacts} artifact files");
}

fn check_structured_bytes(data: &[u8]) {
    if let Ok(spec) = TokenSpec::arbitrary_take_rest(Unstructured::new(data)) {
        let _ = check_spec(&spec);
    }
}

#[test]
fn jws_parse_seeded() {
    let (mut rng, inputs) = seeded();
    for i in 0..inputs {
        let data = if i % 2 == 0 {
            let len = length(&mut rng);
            rng.bytes(len)
        } else {
            mutated_token(&mut rng)
        };
        check_bytes(&data);
    }
    eprintln!("jws_parse: {inputs} seeded inputs");
    replay_saved("jws_parse", check_bytes);
}

#[test]
fn jws_structured_seeded() {
    let (mut rng, inputs) = seeded();
    // How often each answer came up: a run that never reaches `Ok` tests little.
    let mut answers = std::collections::BTreeMap::<String, u64>::new();
    for _ in 0..inputs {
        let len = length(&mut rng);
        let data = rng.bytes(len);
        if let Ok(spec) = TokenSpec::arbitrary_take_rest(Unstructured::new(&data)) {
            let answer = match check_spec(&spec) {
                Ok(_) => "Ok".to_owned(),
                Err(e) => format!("{e:?}").split('(').next().unwrap_or_default().to_owned(),
            };
            *answers.entry(answer).or_default() += 1;
        }
    }
    eprintln!("jws_structured: {inputs} seeded inputs, answers {answers:?}");
    replay_saved("jws_structured", check_structured_bytes);
}

/// Writes valid-looking tokens into `corpus/jws_parse/` as a seed corpus for libFuzzer:
/// `cargo test --release --test replay -- --ignored write_seed_corpus`.
#[test]
#[ignore = "writes files; run on demand before fuzzing jws_parse"]
fn write_seed_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/jws_parse");
    std::fs::create_dir_all(&dir).unwrap();
    let (mut rng, _) = seeded();
    let mut written = 0;
    while written < 500 {
        let len = length(&mut rng);
        let raw = rng.bytes(len);
        if let Ok(spec) = TokenSpec::arbitrary(&mut Unstructured::new(&raw)) {
            let token = spec.build().token;
            std::fs::write(dir.join(format!("seed-{written:04}")), token).unwrap();
            written += 1;
        }
    }
}
