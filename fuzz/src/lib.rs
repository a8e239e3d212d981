//! What must hold for any input to `tokengate_core::jws`, shared by the fuzz targets
//! (`fuzz_targets/`) and the stable replay test (`tests/replay.rs`). A panic here is a finding:
//! either the parser panicked or it gave an answer its contract forbids.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::mem::discriminant;
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RsaEncoding, RsaKeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use tokengate_core::jws::{parse_compact, CompactJws, JwsAlgorithm, JwsError, MAX_JWS_LEN};

/// The algorithms the targets pass as accepted (what the token endpoint accepts).
const ACCEPTED: [JwsAlgorithm; 2] = [JwsAlgorithm::Rs256, JwsAlgorithm::Ps256];

struct TestKey {
    pair: RsaKeyPair,
    /// PKCS#1 `RSAPublicKey` DER, the form `verify_rsa` takes.
    public_der: Vec<u8>,
}

/// One RSA-2048 key per process: generated once, so runs do not depend on a checked-in key.
fn test_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        let public_der = pair.public_key().as_ref().to_vec();
        TestKey { pair, public_der }
    })
}

fn sign(alg: JwsAlgorithm, signing_input: &[u8]) -> Vec<u8> {
    let key = test_key();
    let padding: &'static dyn RsaEncoding = match alg {
        JwsAlgorithm::Ps256 => &RSA_PSS_SHA256,
        _ => &RSA_PKCS1_SHA256,
    };
    let mut signature = vec![0u8; key.pair.public_modulus_len()];
    key.pair.sign(padding, &SystemRandom::new(), signing_input, &mut signature).expect("RSA signing");
    signature
}

/// Header and claims of an accepted token.
pub type Members = (BTreeMap<String, Value>, BTreeMap<String, Value>);

/// Target 1: arbitrary bytes, read as lossy UTF-8 (what a server does with a header value) and,
/// when they are not valid UTF-8, also their longest valid prefix as a raw `&str`.
pub fn check_bytes(data: &[u8]) {
    let lossy = String::from_utf8_lossy(data);
    let _ = check_token(&lossy, MAX_JWS_LEN, None);
    if let Err(e) = std::str::from_utf8(data) {
        if let Ok(prefix) = std::str::from_utf8(&data[..e.valid_up_to()]) {
            let _ = check_token(prefix, MAX_JWS_LEN, None);
        }
    }
}

/// Parses `token` and runs what callers run next (`algorithm`, `numeric_date`, `str`,
/// `verify_rsa`), asserting the parser's contract. `signed_with`: the token's signature was made
/// with the test key for that algorithm, so it must verify if the token parses.
pub fn check_token(token: &str, max_len: usize, signed_with: Option<JwsAlgorithm>) -> Result<Members, JwsError> {
    let jws = match parse_compact(token, max_len) {
        Ok(jws) => jws,
        Err(e) => {
            assert_eq!(
                token.len() > max_len,
                e == JwsError::TooLarge,
                "TooLarge must mean exactly 'longer than max_len' ({} > {max_len}): {e:?}",
                token.len()
            );
            return Err(e);
        }
    };
    assert!(token.len() <= max_len, "accepted a token over the limit");
    let segments: Vec<&str> = token.split('.').collect();
    assert_eq!(segments.len(), 3, "accepted a token with {} segments", segments.len());
    for segment in &segments {
        assert!(!segment.is_empty() && segment.bytes().all(is_base64url), "accepted segment {segment:?}");
    }
    assert_eq!(
        jws.signing_input,
        &token[..segments[0].len() + 1 + segments[1].len()],
        "signing input is not the first two segments"
    );
    assert_eq!(URL_SAFE_NO_PAD.encode(&jws.signature), segments[2], "signature decoding is not canonical");
    // The members are serde_json's own reading of the decoded segments (which keeps the last of
    // duplicate names: equal only because the parser rejected duplicates).
    for (segment, object) in [(segments[0], &jws.header), (segments[1], &jws.claims)] {
        let bytes = URL_SAFE_NO_PAD.decode(segment).expect("an accepted segment decodes");
        let reference: Map<String, Value> =
            serde_json::from_slice(&bytes).expect("an accepted segment is a JSON object");
        assert_eq!(reference.into_iter().collect::<BTreeMap<_, _>>(), object.0);
    }
    assert!(jws.header.get("crit").is_none(), "accepted a crit header");
    check_accessors(&jws);
    check_signatures(&jws, signed_with);
    Ok((jws.header.0, jws.claims.0))
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn check_accessors(jws: &CompactJws<'_>) {
    let alg_name = match jws.header.get("alg") {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    match jws.algorithm(&ACCEPTED) {
        Ok(alg) => {
            assert!(ACCEPTED.contains(&alg));
            assert_eq!(alg_name.and_then(JwsAlgorithm::parse), Some(alg));
        }
        Err(e) => {
            assert!(matches!(e, JwsError::Algorithm(_)), "{e:?}");
            assert!(!matches!(alg_name, Some("RS256" | "PS256")), "accepted alg {alg_name:?} refused");
        }
    }

    for name in ["exp", "nbf", "iat"] {
        let value = jws.claims.get(name);
        match (jws.claims.numeric_date(name), value) {
            (Ok(None), None) => {}
            (Ok(Some(secs)), Some(Value::Number(n))) => match n.as_i64() {
                Some(i) => {
                    assert_eq!(i, secs);
                    assert!(i.unsigned_abs() < 1_000_000_000_000_000, "accepted integer {n} past the bound");
                }
                None => {
                    let f = n.as_f64().expect("a JSON number is an f64");
                    assert!(f.is_finite() && f > -1e15 && f < 1e15, "accepted {n}");
                    assert_eq!(secs, f.trunc() as i64);
                }
            },
            (Err(_), Some(Value::Number(n))) => {
                if let Some(i) = n.as_i64() {
                    assert!(i.unsigned_abs() >= 1_000_000_000_000_000, "refused integer {n}");
                    continue;
                }
                let f = n.as_f64().unwrap_or(f64::NAN);
                assert!(!(f.is_finite() && f > -1e15 && f < 1e15), "refused {n}");
            }
            (Err(_), Some(_)) => {}
            (got, value) => panic!("numeric_date({name}) = {got:?} for {value:?}"),
        }
    }

    let iss = jws.claims.get("iss");
    match (jws.claims.str("iss"), iss) {
        (Ok(None), None) | (Err(_), Some(_)) => {
            assert!(!matches!(iss, Some(Value::String(_))), "refused a string iss");
        }
        (Ok(Some(s)), Some(Value::String(v))) => assert_eq!(s, v),
        (got, value) => panic!("str(iss) = {got:?} for {value:?}"),
    }
}

fn check_signatures(jws: &CompactJws<'_>, signed_with: Option<JwsAlgorithm>) {
    let key = &test_key().public_der;
    for alg in ACCEPTED {
        let verified = jws.verify_rsa(alg, key);
        if signed_with == Some(alg) {
            assert_eq!(verified, Ok(()), "a genuine {alg:?} signature did not verify");
        } else {
            assert_eq!(verified, Err(JwsError::Signature), "{alg:?} verified a signature not made with the key for it");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Target 2: structured tokens.

/// A token built from JSON-ish parts. `check_spec` predicts the parser's answer from the
/// structure wherever it can and asserts it; where it cannot (literal segments, truncated
/// encodings, raw bytes inside JSON) only the contract checks of `check_token` apply.
#[derive(Arbitrary, Debug)]
pub struct TokenSpec {
    pub header: SegmentSpec,
    pub payload: SegmentSpec,
    pub signature: SignatureSpec,
    /// Appended after the signature, each after a `.` (so more than three segments).
    pub extra_segments: Rare<Vec<String>>,
    /// `max_len`; `MAX_JWS_LEN` when absent.
    pub small_limit: Rare<u16>,
}

/// `Some` for about one input in eight (and never once the input is exhausted): damage that,
/// if common, would hide every later check behind an early error.
#[derive(Debug)]
pub struct Rare<T>(pub Option<T>);

impl<'a, T: Arbitrary<'a>> Arbitrary<'a> for Rare<T> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Rare(if u8::arbitrary(u)? >= 224 { Some(T::arbitrary(u)?) } else { None }))
    }
}

#[derive(Arbitrary, Debug)]
pub struct SegmentSpec {
    pub body: Body,
    /// Replaces the body when present.
    pub other: Rare<Other>,
    /// Canonical base64url when absent.
    pub encoding: Rare<Encoding>,
}

#[derive(Arbitrary, Debug)]
pub enum Body {
    /// A JSON object whose members are listed in order: repeated names stay repeated.
    Object(Children<Member>),
    Value(Json),
}

#[derive(Arbitrary, Debug)]
pub enum Other {
    /// Any bytes, e.g. invalid UTF-8, encoded.
    Bytes(Vec<u8>),
    /// The segment text itself, not encoded (may hold `.`, `=`, anything).
    Literal(String),
}

#[derive(Arbitrary, Debug)]
pub enum SignatureSpec {
    Bytes(Vec<u8>, Rare<Encoding>),
    /// A genuine signature over the signing input with the test key (an RSA private operation:
    /// the slow path, so not the variant an exhausted input defaults to).
    Sign(SignWith),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum SignWith {
    Rs256,
    Ps256,
}

#[derive(Arbitrary, Debug)]
pub struct Member {
    pub name: Str,
    pub value: Json,
}

#[derive(Arbitrary, Debug)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    /// Written with `{:?}`: NaN and inf come out as invalid JSON, on purpose.
    Float(f64),
    Number(NumberText),
    Str(Str),
    Alg(AlgName),
    Array(Children<Json>),
    Object(Children<Member>),
    Deep(Deep),
    /// Raw bytes in value position.
    Garbage(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
pub enum NumberText {
    /// `-?M(.F)?eX`, e.g. 1e999 (out of f64 range), 1e-999.
    Scientific {
        negative: bool,
        mantissa: u64,
        fraction: Option<u32>,
        exponent: i16,
    },
    /// `count` nines: integers past i64/u64 and f64 precision.
    Nines {
        negative: bool,
        count: u16,
    },
    NegativeZero,
    /// Not JSON: `01`, `1.`, `+1`, `.5`, `1e`, `-`.
    Malformed(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum AlgName {
    Rs256,
    Ps256,
    Es256,
    Hs256,
    None,
    LowerRs256,
}

#[derive(Arbitrary, Debug)]
pub struct Str {
    pub text: StrText,
    /// Plainly escaped (serde_json's way) when absent.
    pub style: Rare<Escape>,
}

#[derive(Arbitrary, Debug)]
pub enum StrText {
    Known(KnownName),
    Any(String),
}

/// Claim and header names that matter, so that duplicates are likely.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum KnownName {
    Alg,
    Crit,
    Exp,
    Nbf,
    Iat,
    Iss,
    Kid,
    Empty,
    NonAscii,
    Astral,
}

#[derive(Arbitrary, Debug)]
pub enum Escape {
    /// Every UTF-16 unit as a `\u` escape with four hex digits: the same string, spelled differently.
    Unicode,
    /// Followed by a lone surrogate escape.
    LoneSurrogate(u16),
    /// Followed by unescaped raw bytes (invalid UTF-8, quotes, control characters).
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
pub struct Deep {
    pub depth: u16,
    pub shape: DeepShape,
    pub closed: bool,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum DeepShape {
    Arrays,
    Objects,
    Mixed,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Encoding {
    Padded {
        two: bool,
    },
    StandardAlphabet,
    Space(u16),
    /// Sets an unused low bit in the last character (non-canonical encoding).
    TrailingBits,
    /// Drops the last 1–4 characters.
    Truncate(u8),
}

/// A `Vec` whose generation stops nesting at a fixed depth, so that building and dropping a
/// spec never recurses deeply (deep nesting is `Deep`, written iteratively).
#[derive(Debug)]
pub struct Children<T>(pub Vec<T>);

thread_local! {
    static NESTING: Cell<u32> = const { Cell::new(0) };
}

impl<'a, T: Arbitrary<'a>> Arbitrary<'a> for Children<T> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let depth = NESTING.with(|n| n.replace(n.get() + 1));
        let items = if depth >= 24 { Ok(Vec::new()) } else { u.arbitrary::<Vec<T>>() };
        NESTING.with(|n| n.set(depth));
        items.map(Children)
    }
}

impl KnownName {
    fn as_str(self) -> &'static str {
        match self {
            KnownName::Alg => "alg",
            KnownName::Crit => "crit",
            KnownName::Exp => "exp",
            KnownName::Nbf => "nbf",
            KnownName::Iat => "iat",
            KnownName::Iss => "iss",
            KnownName::Kid => "kid",
            KnownName::Empty => "",
            KnownName::NonAscii => "é",
            KnownName::Astral => "\u{1F600}",
        }
    }
}

impl AlgName {
    fn as_str(self) -> &'static str {
        match self {
            AlgName::Rs256 => "RS256",
            AlgName::Ps256 => "PS256",
            AlgName::Es256 => "ES256",
            AlgName::Hs256 => "HS256",
            AlgName::None => "none",
            AlgName::LowerRs256 => "rs256",
        }
    }
}

impl Str {
    fn text(&self) -> &str {
        match &self.text {
            StrText::Known(k) => k.as_str(),
            StrText::Any(s) => s,
        }
    }

    /// Writes the string; returns the decoded text when the output is exactly one JSON string
    /// with that value.
    fn write(&self, out: &mut Vec<u8>) -> Option<String> {
        let text = self.text();
        match &self.style.0 {
            None => {
                out.extend(serde_json::to_string(text).expect("a string serialises").bytes());
                return Some(text.to_owned());
            }
            Some(Escape::Unicode) => {
                out.push(b'"');
                for unit in text.encode_utf16() {
                    out.extend(format!("\\u{unit:04x}").bytes());
                }
                out.push(b'"');
                return Some(text.to_owned());
            }
            Some(Escape::LoneSurrogate(unit)) => {
                let body = serde_json::to_string(text).expect("a string serialises");
                out.extend(body[..body.len() - 1].bytes());
                out.extend(format!("\\u{:04x}\"", 0xd800 | (unit & 0x7ff)).bytes());
            }
            Some(Escape::Raw(raw)) => {
                let body = serde_json::to_string(text).expect("a string serialises");
                out.extend(body[..body.len() - 1].bytes());
                out.extend(raw);
                out.push(b'"');
            }
        }
        None
    }
}

impl NumberText {
    fn write(&self, out: &mut Vec<u8>) {
        let text = match self {
            NumberText::Scientific { negative, mantissa, fraction, exponent } => {
                let sign = if *negative { "-" } else { "" };
                let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
                format!("{sign}{mantissa}{fraction}e{exponent}")
            }
            NumberText::Nines { negative, count } => {
                let sign = if *negative { "-" } else { "" };
                format!("{sign}{}", "9".repeat(usize::from(count % 2000) + 1))
            }
            NumberText::NegativeZero => "-0".to_owned(),
            NumberText::Malformed(which) => {
                ["01", "1.", "+1", ".5", "1e", "-", "0x10", "1_000"][usize::from(which % 8)].to_owned()
            }
        };
        out.extend(text.bytes());
    }
}

impl Deep {
    fn write(&self, out: &mut Vec<u8>) {
        let depth = usize::from(self.depth % 20_000);
        let (open, close): (&[u8], &[u8]) = match self.shape {
            DeepShape::Arrays => (b"[", b"]"),
            DeepShape::Objects => (b"{\"a\":", b"}"),
            DeepShape::Mixed => (b"[{\"a\":", b"}]"),
        };
        for _ in 0..depth {
            out.extend(open);
        }
        out.extend(b"0");
        if self.closed {
            for _ in 0..depth {
                out.extend(close);
            }
        }
    }
}

impl Json {
    /// Writes the value; returns whether the output is exactly this value's structure (no raw
    /// bytes or lone surrogates that could change it).
    fn write(&self, out: &mut Vec<u8>) -> bool {
        match self {
            Json::Null => out.extend(b"null"),
            Json::Bool(b) => out.extend(if *b { &b"true"[..] } else { b"false" }),
            Json::Int(i) => out.extend(i.to_string().bytes()),
            Json::UInt(u) => out.extend(u.to_string().bytes()),
            Json::Float(f) => out.extend(format!("{f:?}").bytes()),
            Json::Number(n) => n.write(out),
            Json::Str(s) => return s.write(out).is_some(),
            Json::Alg(a) => out.extend(format!("\"{}\"", a.as_str()).bytes()),
            Json::Array(items) => {
                out.push(b'[');
                let mut exact = true;
                for (i, item) in items.0.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    exact &= item.write(out);
                }
                out.push(b']');
                return exact;
            }
            Json::Object(members) => return write_object(&members.0, out).is_some(),
            Json::Deep(deep) => deep.write(out),
            Json::Garbage(bytes) => {
                out.extend(bytes);
                return false;
            }
        }
        true
    }

    /// Top-level member names as written, when known exactly.
    fn write_top(&self, out: &mut Vec<u8>) -> Option<Vec<String>> {
        match self {
            Json::Object(members) => write_object(&members.0, out),
            Json::Deep(Deep { shape: DeepShape::Objects, depth, .. }) if depth % 20_000 > 0 => {
                self.write(out);
                Some(vec!["a".to_owned()])
            }
            other => other.write(out).then(Vec::new),
        }
    }
}

/// Writes `{"name":value,...}`; returns the member names when the output is exactly that.
fn write_object(members: &[Member], out: &mut Vec<u8>) -> Option<Vec<String>> {
    out.push(b'{');
    let mut names = Some(Vec::with_capacity(members.len()));
    for (i, member) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let name = member.name.write(out);
        out.push(b':');
        let exact = member.value.write(out);
        names = match (names, name) {
            (Some(mut names), Some(name)) if exact => {
                names.push(name);
                Some(names)
            }
            _ => None,
        };
    }
    out.push(b'}');
    names
}

impl Encoding {
    /// Encodes `bytes` (canonically for `None`); `Some(true)` = canonical (decodes to `bytes`),
    /// `Some(false)` = strict decoding must fail, `None` = either.
    fn encode(this: Option<Self>, bytes: &[u8]) -> (String, Option<bool>) {
        let canonical = URL_SAFE_NO_PAD.encode(bytes);
        let Some(encoding) = this else {
            return (canonical, Some(true));
        };
        match encoding {
            Encoding::Padded { two } => {
                let padding = if two { "==" } else { "=" };
                (canonical + padding, Some(false))
            }
            Encoding::StandardAlphabet => {
                let standard = canonical.replace('-', "+").replace('_', "/");
                let changed = standard != canonical;
                (standard, Some(!changed))
            }
            Encoding::Space(at) => {
                let mut text = canonical;
                text.insert(usize::from(at) % (text.len() + 1), ' ');
                (text, Some(false))
            }
            Encoding::TrailingBits => {
                if canonical.len() % 4 < 2 {
                    return (canonical, Some(true));
                }
                // The last character carries 4 (len % 4 == 2) or 2 (== 3) unused zero bits.
                const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                let mut text = canonical.into_bytes();
                let last = text.len() - 1;
                let value = ALPHABET.iter().position(|c| *c == text[last]).expect("base64url character");
                text[last] = ALPHABET[value | 1];
                (String::from_utf8(text).expect("ASCII"), Some(false))
            }
            Encoding::Truncate(n) => {
                let keep = canonical.len().saturating_sub(usize::from(n % 4) + 1);
                (canonical[..keep].to_owned(), None)
            }
        }
    }
}

/// One segment as written, and what the parser must make of it.
struct Segment {
    text: String,
    /// See `Encoding::encode`; `None` for literals.
    base64_ok: Option<bool>,
    /// The JSON bytes and their exact top-level names, when known.
    json: Option<(Vec<u8>, Option<Vec<String>>)>,
}

impl SegmentSpec {
    fn build(&self) -> Segment {
        let (bytes, names) = match (&self.other.0, &self.body) {
            (None, Body::Object(members)) => {
                let mut out = Vec::new();
                let names = write_object(&members.0, &mut out);
                (out, names)
            }
            (None, Body::Value(json)) => {
                let mut out = Vec::new();
                let names = json.write_top(&mut out);
                (out, names)
            }
            (Some(Other::Bytes(bytes)), _) => (bytes.clone(), None),
            (Some(Other::Literal(text)), _) => return Segment { text: text.clone(), base64_ok: None, json: None },
        };
        let (text, base64_ok) = Encoding::encode(self.encoding.0, &bytes);
        Segment { text, base64_ok, json: Some((bytes, names)) }
    }
}

/// What the parser must answer for a spec.
#[derive(Debug)]
enum Expect {
    Unknown,
    Error(JwsError),
    Accept(Value, Value),
}

/// What a JSON segment must parse to: `Some(Ok(object))`, `Some(Err(()))` (a JSON error), or
/// `None` when it cannot be told from the structure.
fn expect_object(json: &Option<(Vec<u8>, Option<Vec<String>>)>) -> Option<Result<Value, ()>> {
    let (bytes, names) = json.as_ref()?;
    match serde_json::from_slice::<Value>(bytes) {
        Err(_) => Some(Err(())),
        Ok(value) if !value.is_object() => Some(Err(())),
        // Duplicates inside nested objects are refused too, but the spec only tracks top-level
        // names: with nested objects the answer cannot be told from the structure.
        Ok(value) if value.as_object().is_some_and(|m| m.values().any(contains_object)) => None,
        Ok(value) => {
            let names = names.as_ref()?;
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            if sorted.len() == names.len() {
                Some(Ok(value))
            } else {
                Some(Err(()))
            }
        }
    }
}

fn contains_object(v: &Value) -> bool {
    match v {
        Value::Object(_) => true,
        Value::Array(items) => items.iter().any(contains_object),
        _ => false,
    }
}

/// A token built from a spec, with what the parser must answer.
pub struct Built {
    pub token: String,
    pub limit: usize,
    /// The signature is genuine, made with the test key for this algorithm.
    pub signed_with: Option<JwsAlgorithm>,
    expect: Expect,
}

impl TokenSpec {
    pub fn build(&self) -> Built {
        let header = self.header.build();
        let payload = self.payload.build();
        let mut token = format!("{}.{}", header.text, payload.text);
        let (signature, signed_with) = match &self.signature {
            SignatureSpec::Bytes(bytes, encoding) => {
                let (text, base64_ok) = Encoding::encode(encoding.0, bytes);
                (Segment { text, base64_ok, json: None }, None)
            }
            SignatureSpec::Sign(with) => {
                let alg = match with {
                    SignWith::Rs256 => JwsAlgorithm::Rs256,
                    SignWith::Ps256 => JwsAlgorithm::Ps256,
                };
                let text = URL_SAFE_NO_PAD.encode(sign(alg, token.as_bytes()));
                (Segment { text, base64_ok: Some(true), json: None }, Some(alg))
            }
        };
        token.push('.');
        token.push_str(&signature.text);
        for extra in self.extra_segments.0.iter().flatten() {
            token.push('.');
            token.push_str(extra);
        }
        let limit = self.small_limit.0.map_or(MAX_JWS_LEN, usize::from);
        let expect = predict(&token, limit, [&header, &payload, &signature]);
        Built { token, limit, signed_with, expect }
    }
}

/// Target 2: builds the token a spec describes, checks the contract, and checks the answer
/// against the one the structure predicts. Returns the parser's answer (for statistics).
pub fn check_spec(spec: &TokenSpec) -> Result<Members, JwsError> {
    let Built { token, limit, signed_with, expect } = spec.build();
    let got = check_token(&token, limit, signed_with);
    match (&expect, &got) {
        (Expect::Unknown, _) => {}
        (Expect::Error(want), Err(got)) if discriminant(want) == discriminant(got) => {}
        (Expect::Accept(header, claims), Ok((h, c))) => {
            assert_eq!(header, &Value::Object(h.clone().into_iter().collect()));
            assert_eq!(claims, &Value::Object(c.clone().into_iter().collect()));
        }
        _ => panic!("expected {expect:?}, parser answered {got:?} for {token:?}"),
    }
    got
}

/// The answer RFC 7515 compact serialisation plus the module's rules give, in the parser's
/// documented order: size, segment count, base64url, JSON (header first), `crit`.
fn predict(token: &str, limit: usize, segments: [&Segment; 3]) -> Expect {
    if token.len() > limit {
        return Expect::Error(JwsError::TooLarge);
    }
    if token.split('.').count() != 3 {
        return Expect::Error(JwsError::Segments);
    }
    if segments.iter().any(|s| s.text.is_empty()) {
        return Expect::Error(JwsError::Segments);
    }
    let base64: Vec<Option<bool>> = segments.iter().map(|s| s.base64_ok).collect();
    if base64.contains(&Some(false)) {
        return Expect::Error(JwsError::Base64);
    }
    if base64.contains(&None) {
        return Expect::Unknown;
    }
    let header = match expect_object(&segments[0].json) {
        None => return Expect::Unknown,
        Some(Err(())) => return Expect::Error(JwsError::Json(String::new())),
        Some(Ok(header)) => header,
    };
    let claims = match expect_object(&segments[1].json) {
        None => return Expect::Unknown,
        Some(Err(())) => return Expect::Error(JwsError::Json(String::new())),
        Some(Ok(claims)) => claims,
    };
    if header.get("crit").is_some() {
        return Expect::Error(JwsError::Crit);
    }
    Expect::Accept(header, claims)
}
