//! The one normal form of a request path (RFC 3986 §6.2.2) the gateway both routes by and forwards,
//! so no upstream (Java, ASP.NET, IIS, CGI) can resolve a path the route table never saw. What
//! cannot be normalised without guessing the upstream's reading is refused.

/// Why a path was refused; `code()` is the audit reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRefusal {
    /// Not origin-form (`*`, empty, no leading `/`).
    NotOriginForm,
    /// `%` not followed by two hex digits.
    BadPercentEncoding,
    /// `%2F`: one segment or two depends on the upstream.
    EncodedSlash,
    /// `\` or `%5C`: a separator on Windows upstreams.
    Backslash,
    /// NUL and other control characters, raw or encoded.
    ControlCharacter,
    /// Percent-encoded bytes that are not UTF-8, including overlong forms (`%C0%AE`).
    InvalidUtf8,
    /// `%25` followed by two hex digits: a second decoding yields another path.
    DoubleEncoding,
    /// `.` or `..` with path parameters (`..;x`, `.%3B`): Java resolves them, others do not.
    DotSegmentWithParameters,
    /// A segment ending in `.` or a space (`/demo./x`, `/demo%20/x`): Windows and IIS drop them,
    /// so the upstream would see `/demo/x` while the route table saw another path.
    TrailingDotOrSpace,
}

impl PathRefusal {
    pub fn code(self) -> &'static str {
        match self {
            PathRefusal::NotOriginForm => "path_not_origin_form",
            PathRefusal::BadPercentEncoding => "path_bad_percent_encoding",
            PathRefusal::EncodedSlash => "path_encoded_slash",
            PathRefusal::Backslash => "path_backslash",
            PathRefusal::ControlCharacter => "path_control_character",
            PathRefusal::InvalidUtf8 => "path_invalid_utf8",
            PathRefusal::DoubleEncoding => "path_double_encoding",
            PathRefusal::DotSegmentWithParameters => "path_dot_segment_parameters",
            PathRefusal::TrailingDotOrSpace => "path_trailing_dot_or_space",
        }
    }
}

/// A normalised path: `path` is forwarded; `routing` is the same path without `;parameters` in
/// its segments (the path a Java upstream acts on), which routes match against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalisedPath {
    pub path: String,
    pub routing: String,
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Characters kept literally in a segment besides unreserved ones (RFC 3986 `pchar`).
fn is_literal_pchar(b: u8) -> bool {
    matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@')
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

fn push_encoded(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0x0f)]));
}

/// One segment in normal form: unreserved characters decoded, everything else that is not a
/// literal `pchar` percent-encoded with upper-case hex.
fn normalise_segment(raw: &str) -> Result<String, PathRefusal> {
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    // Whether each decoded byte arrived percent-encoded (an encoded `;` is data, not a delimiter).
    let mut was_encoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let (Some(hi), Some(lo)) =
                (bytes.get(i + 1).copied().and_then(hex_value), bytes.get(i + 2).copied().and_then(hex_value))
            else {
                return Err(PathRefusal::BadPercentEncoding);
            };
            decoded.push((hi << 4) | lo);
            was_encoded.push(true);
            i += 3;
        } else {
            decoded.push(b);
            was_encoded.push(false);
            i += 1;
        }
    }
    // The decoded bytes must be UTF-8 (std refuses overlong forms and surrogates).
    if std::str::from_utf8(&decoded).is_err() {
        return Err(PathRefusal::InvalidUtf8);
    }
    let mut out = String::with_capacity(raw.len());
    for (&b, &encoded) in decoded.iter().zip(&was_encoded) {
        match b {
            b'/' => return Err(PathRefusal::EncodedSlash),
            b'\\' => return Err(PathRefusal::Backslash),
            0x00..=0x1f | 0x7f => return Err(PathRefusal::ControlCharacter),
            _ if is_unreserved(b) => out.push(char::from(b)),
            _ if !encoded && is_literal_pchar(b) => out.push(char::from(b)),
            _ => push_encoded(&mut out, b),
        }
    }
    if has_double_encoding(&out) {
        return Err(PathRefusal::DoubleEncoding);
    }
    Ok(out)
}

/// `%25` followed by two hex digits in the normal form.
fn has_double_encoding(segment: &str) -> bool {
    let b = segment.as_bytes();
    b.windows(5).any(|w| w[..3].eq_ignore_ascii_case(b"%25") && hex_value(w[3]).is_some() && hex_value(w[4]).is_some())
}

/// The segment without its `;parameters` (literal `;` only: `%3B` is data) — also the part an
/// encoded `;` would end on a lenient upstream, for the dot-segment check.
fn without_parameters(segment: &str) -> &str {
    segment.split(';').next().unwrap_or("")
}

fn is_dot(segment: &str) -> bool {
    segment == "." || segment == ".."
}

/// Normalises an origin-form path (no query). See the module docs.
pub fn normalise(raw: &str) -> Result<NormalisedPath, PathRefusal> {
    let Some(rest) = raw.strip_prefix('/') else {
        return Err(PathRefusal::NotOriginForm);
    };
    let mut segments: Vec<String> = Vec::new();
    let mut trailing_slash = false;
    let raw_segments: Vec<&str> = rest.split('/').collect();
    let last = raw_segments.len().saturating_sub(1);
    for (index, raw_segment) in raw_segments.into_iter().enumerate() {
        let is_last = index == last;
        let segment = normalise_segment(raw_segment)?;
        let base = without_parameters(&segment);
        let lenient_base = base.split("%3B").next().unwrap_or("");
        if !is_dot(&segment) && (is_dot(base) || is_dot(lenient_base)) {
            return Err(PathRefusal::DotSegmentWithParameters);
        }
        if !is_dot(base) && (base.ends_with('.') || base.ends_with("%20")) {
            return Err(PathRefusal::TrailingDotOrSpace);
        }
        match segment.as_str() {
            // `//` merges; an empty last segment is the trailing slash.
            "" => trailing_slash = is_last,
            "." => trailing_slash = is_last,
            ".." => {
                segments.pop();
                trailing_slash = is_last;
            }
            _ => {
                segments.push(segment);
                trailing_slash = false;
            }
        }
    }
    let path = join(segments.iter().map(String::as_str), trailing_slash);
    let routing = join(segments.iter().map(|s| without_parameters(s)).filter(|s| !s.is_empty()), trailing_slash);
    Ok(NormalisedPath { path, routing })
}

fn join<'a>(segments: impl Iterator<Item = &'a str>, trailing_slash: bool) -> String {
    let mut path = String::from("/");
    let mut any = false;
    for segment in segments {
        if any {
            path.push('/');
        }
        path.push_str(segment);
        any = true;
    }
    if any && trailing_slash {
        path.push('/');
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(p: &str) -> (String, String) {
        let n = normalise(p).unwrap_or_else(|e| panic!("{p}: {e:?}"));
        (n.path, n.routing)
    }

    fn path(p: &str) -> String {
        ok(p).0
    }

    fn refused(p: &str) -> PathRefusal {
        match normalise(p) {
            Err(e) => e,
            Ok(n) => panic!("{p} normalised to {n:?}"),
        }
    }

    #[test]
    fn plain_paths_are_unchanged() {
        for p in ["/", "/a", "/a/b/", "/a/.well-known/x", "/a/..b", "/a/b.c", "/x;v=1/y", "/a:b@c!$&'()*+,="] {
            assert_eq!(path(p), p);
        }
    }

    #[test]
    fn unreserved_characters_are_decoded_and_hex_is_upper_cased() {
        assert_eq!(path("/%64%65%6D%6f/%7e%2D%5f"), "/demo/~-_");
        assert_eq!(path("/a%3bb/%c3%a9"), "/a%3Bb/%C3%A9");
        assert_eq!(path("/a%20b"), "/a%20b");
        assert_eq!(path("/é"), "/%C3%A9", "raw non-ASCII is encoded");
        assert_eq!(path("/a%25b"), "/a%25b", "a literal percent followed by non-hex stays");
    }

    #[test]
    fn dot_segments_are_resolved_and_slashes_merged() {
        assert_eq!(path("/public/../demo/x"), "/demo/x");
        assert_eq!(path("/public/%2e%2e/demo/x"), "/demo/x");
        assert_eq!(path("/public/%2E./demo/x"), "/demo/x");
        assert_eq!(path("/a/./b/."), "/a/b/");
        assert_eq!(path("/a/b/.."), "/a/");
        assert_eq!(path("/../../a"), "/a", "never above the root");
        assert_eq!(path("//demo//x"), "/demo/x");
        assert_eq!(path("/a//"), "/a/");
        assert_eq!(path("/.."), "/");
        assert_eq!(path("//"), "/");
    }

    #[test]
    fn parameters_are_kept_in_the_forwarded_path_and_dropped_for_routing() {
        assert_eq!(ok("/demo;x/secret"), ("/demo;x/secret".into(), "/demo/secret".into()));
        assert_eq!(ok("/;x/demo/"), ("/;x/demo/".into(), "/demo/".into()));
        assert_eq!(ok("/a/b;jsessionid=1"), ("/a/b;jsessionid=1".into(), "/a/b".into()));
    }

    #[test]
    fn unsafe_paths_are_refused() {
        use PathRefusal::*;
        let cases = [
            ("/public/..;/demo/x", DotSegmentWithParameters),
            ("/public/%2e%2e;/demo/x", DotSegmentWithParameters),
            ("/public/..;jsessionid=1/demo", DotSegmentWithParameters),
            ("/public/.;x/demo", DotSegmentWithParameters),
            ("/public/..%3b/demo", DotSegmentWithParameters),
            ("/public/%252e%252e/demo", DoubleEncoding),
            ("/public/%25%32%65", DoubleEncoding),
            ("/public/%2541", DoubleEncoding),
            ("/public/%00/x", ControlCharacter),
            ("/public/a%0d%0aX: y", ControlCharacter),
            ("/public/\u{7f}", ControlCharacter),
            ("/public/%c0%ae%c0%ae/demo", InvalidUtf8),
            ("/public/%e0%80%ae", InvalidUtf8),
            ("/public/%ff", InvalidUtf8),
            ("/public/%2f../demo", EncodedSlash),
            ("/public%2F..%2Fdemo", EncodedSlash),
            ("/public/..\\demo", Backslash),
            ("/public/..%5cdemo", Backslash),
            ("/public/%", BadPercentEncoding),
            ("/public/%g1", BadPercentEncoding),
            ("/demo./x", TrailingDotOrSpace),
            ("/demo.../x", TrailingDotOrSpace),
            ("/demo%20/x", TrailingDotOrSpace),
            ("/demo%2e/x", TrailingDotOrSpace),
            ("/demo.;x/y", TrailingDotOrSpace),
            ("*", NotOriginForm),
            ("", NotOriginForm),
        ];
        for (p, why) in cases {
            assert_eq!(refused(p), why, "{p}");
        }
    }

    fn path_strategy() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("/".to_owned()),
            Just(".".to_owned()),
            Just("..".to_owned()),
            Just(";".to_owned()),
            Just("%2e".to_owned()),
            Just("%2E".to_owned()),
            Just("%25".to_owned()),
            Just("%3b".to_owned()),
            Just("%41".to_owned()),
            Just("%c3%a9".to_owned()),
            Just("%c0%ae".to_owned()),
            Just("%2f".to_owned()),
            Just("%00".to_owned()),
            Just("%".to_owned()),
            "[a-zA-Z0-9~_=:@-]{1,3}",
            "[0-9a-fA-F]{1,2}",
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|v| format!("/{}", v.concat()))
    }

    proptest! {
        #[test]
        fn normalisation_is_idempotent_and_leaves_nothing_to_resolve(raw in path_strategy()) {
            if let Ok(n) = normalise(&raw) {
                let again = normalise(&n.path);
                prop_assert_eq!(again.as_ref().map(|a| &a.path), Ok(&n.path), "{}", raw);
                prop_assert_eq!(again.as_ref().map(|a| &a.routing), Ok(&n.routing), "{}", raw);
                for out in [&n.path, &n.routing] {
                    prop_assert!(out.starts_with('/'));
                    prop_assert!(!out.contains("//"), "{} → {}", raw, out);
                    for seg in out.split('/') {
                        let base = seg.split(';').next().unwrap_or("");
                        prop_assert!(!is_dot(base), "{} → {}", raw, out);
                        prop_assert!(!base.ends_with('.'), "{} → {}", raw, out);
                    }
                    prop_assert!(!out.to_ascii_lowercase().contains("%2f"));
                    prop_assert!(!out.contains("%00"));
                    prop_assert!(!has_double_encoding(out));
                }
            }
        }
    }
}
