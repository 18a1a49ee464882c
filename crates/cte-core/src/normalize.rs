//! Canonical normalisation of IoC values at ingest, so two spellings of one IoC become one row.
//!
//! CE itself only checks hashes by regex, IPs with Python's `ipaddress`, and `len(value) > 3` for
//! url, domain, hostname and fqdn; it stores the value as given. We do better: every accepted value
//! is rewritten into one canonical spelling, and every refused value gets a reason fit for a user.
//! [`normalize_value`] is idempotent: normalising its output again gives the same string.
//!
//! Leading and trailing white space is trimmed for every kind; white space or control characters
//! *inside* a value are refused.
//!
//! # Hashes (`md5`, `sha256`)
//!
//! Exactly 32 (md5) or 64 (sha256) hexadecimal digits, written in lower case. No `0x` prefix, no
//! separators. A value of the other hash's length is refused with a hint.
//!
//! # `ipv4`
//!
//! A dotted quad of four decimal octets (`192.0.2.1`). Octets with leading zeros (`010.0.0.1`) are
//! **refused** as ambiguous (`inet_aton` reads them as octal, other parsers as decimal), and so are
//! the short forms `127.1`, hexadecimal octets, ports and CIDR ranges. Since every accepted spelling
//! is already the canonical one, the value is kept as given.
//!
//! # `ipv6`
//!
//! The RFC 5952 canonical text form: lower-case hex, leading zeros in groups dropped, the longest
//! run of zero groups (leftmost on a tie, at least two groups) written `::`
//! (`2001:DB8:0:0:0:0:0:1` → `2001:db8::1`). IPv4-mapped addresses stay IPv6 and are written
//! `::ffff:192.0.2.1`. One pair of enclosing brackets is accepted and dropped (`[::1]` → `::1`),
//! since that is how addresses get copied out of URLs; a port after the brackets is refused. Zone
//! ids (`fe80::1%eth0`) are refused: they only mean something on one machine. CIDR ranges are
//! refused. An IPv4 address given as ipv6 is refused with a hint to use ipv4.
//!
//! # `hostname`, `domain`, `fqdn`
//!
//! One canonical form for all three: the lower-case ASCII (A-label) form of the name, as produced
//! by UTS 46 non-transitional processing (the `idna` crate, as browsers do): `Bücher.DE` →
//! `xn--bcher-kva.de`, `faß.de` → `xn--fa-hia.de`, `bücher。de` (ideographic full stop) →
//! `xn--bcher-kva.de`. Given `xn--` labels are checked to be valid punycode. One trailing dot (the
//! DNS root) is dropped, so a "fully qualified" `example.com.` is stored as `example.com`.
//!
//! Syntax is checked strictly, as RFC 952/1123 host names (LDH): each label 1 to 63 characters of
//! letters, digits and hyphens, not starting or ending with a hyphen, the whole name at most 253
//! characters. Hyphens in the third and fourth position are allowed (`r3---sn-abc.googlevideo.com`
//! is a real host). Decisions:
//!
//! * **Underscores are refused.** Some real DNS names have them (`_dmarc.example.com`, some
//!   dynamic-DNS hosts), but they are not host names, URL lists are for hosts, and the tenant
//!   rejects hosts it does not like (CE then tags the IoC `Invalid host`). Refusing at ingest,
//!   with a reason, is better than a silent failure at share time.
//! * `domain` and `fqdn` need at least two labels (`example.com`); a bare `com` is refused, since
//!   as a block-list entry it would cover a whole top-level domain. `hostname` may be a single
//!   label (`localhost`, `intranet-srv`). The public-suffix list is not consulted, so `co.uk` is
//!   accepted as a domain.
//! * A name whose last label is a number (all digits, or `0x` and hex digits) is refused: URL
//!   parsers read such a name as an IPv4 address (WHATWG "ends in a number"). A valid IPv4 or
//!   IPv6 address given as a host name is refused with a hint to use type ipv4 or ipv6.
//! * `*.` wildcards are refused here; they are only accepted in url values.
//!
//! # `url`
//!
//! The forms a Netskope URL list takes: `[scheme://][*.]host[:port][/path][?query]`.
//!
//! * **Scheme**: `http://` or `https://` in any case, written in lower case, or none. Any other
//!   scheme, a scheme-relative `//host`, or `http:host` without `//` is refused. **A URL with a
//!   scheme and the same URL without it are different IoCs** (`http://x.com` ≠ `x.com`): nothing
//!   we have read says a Netskope URL list treats them alike, and `https://x.com` certainly does
//!   not mean the same as `http://x.com`, so the scheme is kept as given (lower-cased).
//! * **User info** (`user:pass@`) is refused: URL lists do not take it, and it is a classic way to
//!   disguise the real host.
//! * **Host**: normalised exactly as a `hostname` (lower case, A-labels, one trailing dot dropped,
//!   LDH labels, not ending in a number), or an IPv4 dotted quad, or an IPv6 address in brackets
//!   written `[rfc5952-form]`. An unbracketed IPv6 address is refused. Without a scheme the host
//!   needs at least two labels (or must be an IP address), because a bare word (`none`, `N/A`) in
//!   a feed is junk far more often than a host; with a scheme a single label is accepted
//!   (`http://intranet/`).
//! * **Wildcard**: a leading `*.` label is kept (`*.Example.com/x` → `*.example.com/x`); what
//!   follows must be a host name of at least two labels. A `*` anywhere else in the host, or a
//!   wildcard on an IP address, is refused.
//! * **Port**: decimal 1..=65535, written without leading zeros; `:80` after `http://` and `:443`
//!   after `https://` are dropped; without a scheme a port is kept (we cannot know its default).
//!   An empty port (`x.com:`) is dropped.
//! * **Path and query** are kept case-sensitive, with only the RFC 3986 §6.2.2 equivalences
//!   applied: hex digits of percent-escapes upper-cased (`%3c` → `%3C`), escapes of unreserved
//!   characters decoded (`%7E` → `~`), non-ASCII characters and `"` `<` `>` `` ` `` `{` `}`
//!   percent-encoded as UTF-8, and a `%` that does not start an escape written `%25`. Dot
//!   segments (`/a/../b`) and trailing slashes are kept as given. An empty query (`?`) is dropped.
//! * **Root path**: an empty path and `/` are the same: written as nothing when no query follows
//!   (`http://example.com/` → `http://example.com`) and as `/` before a query
//!   (`example.com?q=1` → `example.com/?q=1`).
//! * The **fragment** (`#...`) is dropped: it never reaches a proxy.
//! * Values longer than [`MAX_URL_LEN`] bytes, before or after normalisation, are refused.
//!
//! So `HTTP://WWW.Dubya.com/`, `http://www.dubya.com` and `http://www.dubya.com.:80/#top` are
//! one IoC, `http://www.dubya.com`; while `www.dubya.com` (CE's example url IoC) and
//! `WWW.dubya.com./` are another, `www.dubya.com`.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use crate::indicator::IndicatorKind;

#[cfg(test)]
mod tests;

/// Longest url value accepted, in bytes, both as given (after trimming) and once normalised.
pub const MAX_URL_LEN: usize = 2048;

/// Longest host name accepted, in bytes of its ASCII form without the trailing dot (RFC 1035).
pub const MAX_HOST_LEN: usize = 253;

/// Longest label of a host name, in bytes of its ASCII form (RFC 1035).
pub const MAX_LABEL_LEN: usize = 63;

/// Longest host name input looked at before IDNA processing; bounds the work on hostile input
/// (UTS 46 maps some characters to nothing, so a long input can still give a short name).
const MAX_HOST_INPUT_LEN: usize = 1024;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidValue {
    /// What is wrong, in words fit for a user.
    pub reason: String,
}

impl InvalidValue {
    fn new(reason: impl Into<String>) -> InvalidValue {
        InvalidValue {
            reason: reason.into(),
        }
    }
}

/// Returns the canonical spelling of `raw` as an IoC of `kind`, or why it is not one.
///
/// The canonical forms are described in the [module documentation](self).
pub fn normalize_value(kind: IndicatorKind, raw: &str) -> Result<String, InvalidValue> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(InvalidValue::new("value is empty"));
    }
    match kind {
        IndicatorKind::Md5 => hex_digest(v, 32, "an md5"),
        IndicatorKind::Sha256 => hex_digest(v, 64, "a sha256"),
        IndicatorKind::Ipv4 => ipv4(v),
        IndicatorKind::Ipv6 => ipv6(v),
        IndicatorKind::Domain | IndicatorKind::Fqdn => host_value(v, 2, kind),
        IndicatorKind::Hostname => host_value(v, 1, kind),
        IndicatorKind::Url => url(v),
    }
}

// ---------------------------------------------------------------------------------------------
// Hashes

fn hex_digest(v: &str, len: usize, name: &str) -> Result<String, InvalidValue> {
    if let Some(c) = v.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(InvalidValue::new(format!(
            "not {name} hash: {c:?} is not a hexadecimal digit"
        )));
    }
    if v.len() != len {
        let hint = match v.len() {
            32 => " (that is the length of an md5 hash)",
            40 => " (that is the length of a sha1 hash, which is not supported)",
            64 => " (that is the length of a sha256 hash)",
            _ => "",
        };
        return Err(InvalidValue::new(format!(
            "not {name} hash: expected {len} hexadecimal characters, got {}{hint}",
            v.len()
        )));
    }
    if v.bytes().any(|b| b.is_ascii_uppercase()) {
        Ok(v.to_ascii_lowercase())
    } else {
        Ok(v.to_owned())
    }
}

// ---------------------------------------------------------------------------------------------
// IP addresses

fn ipv4(v: &str) -> Result<String, InvalidValue> {
    if let Ok(ip) = v.parse::<Ipv4Addr>() {
        // Rust's parser takes only the four-decimal-octets form without leading zeros, which is
        // exactly the canonical form: no need to format it again.
        debug_assert_eq!(ip.to_string(), v);
        return Ok(v.to_owned());
    }
    Err(InvalidValue::new(format!(
        "not an IPv4 address: {}",
        ipv4_problem(v)
    )))
}

/// Explains why `v` is not a dotted quad.
fn ipv4_problem(v: &str) -> String {
    if v.contains('/') {
        return "network ranges (CIDR) are not accepted, give a single address".into();
    }
    if v.contains(':') {
        let inner = strip_brackets(v).unwrap_or(v);
        if inner.parse::<Ipv6Addr>().is_ok() {
            return "this is an IPv6 address, use type ipv6".into();
        }
        return "':' is not allowed (ports are not part of an address)".into();
    }
    let octets: Vec<&str> = v.split('.').collect();
    for o in &octets {
        if o.is_empty() {
            return "empty octet".into();
        }
        if !o.bytes().all(|b| b.is_ascii_digit()) {
            return format!("octet {o:?} is not a decimal number");
        }
        if o.len() > 1 && o.starts_with('0') {
            return format!(
                "octet {o:?} has a leading zero, which is ambiguous (octal or decimal)"
            );
        }
        if o.len() > 3 || o.parse::<u16>().map_or(true, |n| n > 255) {
            return format!("octet {o:?} is greater than 255");
        }
    }
    "expected four dot-separated decimal octets, e.g. 192.0.2.1".into()
}

fn ipv6(v: &str) -> Result<String, InvalidValue> {
    let inner = if v.starts_with('[') {
        strip_brackets(v).ok_or_else(|| {
            InvalidValue::new(
                "not an IPv6 address: only one pair of enclosing brackets is accepted, \
                 with nothing after ']' (no port)",
            )
        })?
    } else {
        v
    };
    match inner.parse::<Ipv6Addr>() {
        Ok(ip) => Ok(ip.to_string()),
        Err(_) => Err(InvalidValue::new(format!(
            "not an IPv6 address: {}",
            ipv6_problem(inner)
        ))),
    }
}

/// `[x]` → `x`.
fn strip_brackets(v: &str) -> Option<&str> {
    v.strip_prefix('[')?.strip_suffix(']')
}

/// Explains why `inner` (brackets removed) is not an IPv6 address.
fn ipv6_problem(inner: &str) -> String {
    if inner.contains('%') {
        "zone ids ('%eth0') are not accepted, they only mean something on one machine".into()
    } else if inner.contains('/') {
        "network ranges (CIDR) are not accepted, give a single address".into()
    } else if inner.parse::<Ipv4Addr>().is_ok() {
        "this is an IPv4 address, use type ipv4".into()
    } else {
        "expected eight ':'-separated groups of up to four hex digits, or a '::' form".into()
    }
}

// ---------------------------------------------------------------------------------------------
// Host names

/// A URL host or a host name, normalised.
enum Host<'a> {
    /// An ASCII, lower-case, LDH name without trailing dot.
    Name(Cow<'a, str>),
    /// A dotted quad (with at most one trailing dot) where a name was expected.
    V4(Ipv4Addr),
}

fn host_value(v: &str, min_labels: usize, kind: IndicatorKind) -> Result<String, InvalidValue> {
    if v.contains(':') && strip_brackets(v).unwrap_or(v).parse::<Ipv6Addr>().is_ok() {
        return Err(InvalidValue::new(format!(
            "not a valid {kind}: this is an IPv6 address, use type ipv6"
        )));
    }
    match parse_host(v, HostCtx::Value) {
        Ok(Host::V4(_)) => Err(InvalidValue::new(format!(
            "not a valid {kind}: this is an IPv4 address, use type ipv4"
        ))),
        Ok(Host::Name(name)) => {
            if label_count(&name) < min_labels {
                return Err(InvalidValue::new(format!(
                    "not a valid {kind}: a single label is not a {kind}, \
                     expected at least two labels such as example.com"
                )));
            }
            Ok(name.into_owned())
        }
        Err(e) => Err(InvalidValue::new(format!("not a valid {kind}: {e}"))),
    }
}

/// Where a host name comes from, for the wording of reasons.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HostCtx {
    /// A hostname/domain/fqdn value.
    Value,
    /// The host of a url value.
    Url,
}

fn label_count(name: &str) -> usize {
    name.bytes().filter(|&b| b == b'.').count() + 1
}

/// Normalises a host name: one trailing dot dropped, lower case, A-labels, LDH syntax checked.
fn parse_host(s: &str, ctx: HostCtx) -> Result<Host<'_>, String> {
    if s.len() > MAX_HOST_INPUT_LEN {
        return Err(format!("longer than {MAX_HOST_LEN} characters"));
    }
    check_host_chars(s, ctx)?;
    let name: Cow<'_, str> = if s.is_ascii() {
        let s = s.strip_suffix('.').unwrap_or(s);
        if let Ok(ip) = s.parse::<Ipv4Addr>() {
            return Ok(Host::V4(ip));
        }
        if has_punycode_label(s) {
            // Given A-labels must decode to a valid name; UTS 46 checks that (and lower-cases).
            to_ascii(s)?
        } else if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        // The trailing dot may be a non-ASCII full stop that UTS 46 maps to '.', so it is
        // dropped after the mapping.
        let mut out = to_ascii(s)?.into_owned();
        if out.ends_with('.') {
            out.pop();
        }
        if let Ok(ip) = out.parse::<Ipv4Addr>() {
            return Ok(Host::V4(ip));
        }
        Cow::Owned(out)
    };
    check_labels(&name)?;
    Ok(Host::Name(name))
}

/// UTS 46 ToASCII, STD3 rules (LDH only), no length check (done by [`check_labels`]).
fn to_ascii(s: &str) -> Result<Cow<'_, str>, String> {
    Uts46::new()
        .to_ascii(
            s.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Allow,
            DnsLength::Ignore,
        )
        .map_err(|_| {
            "not a valid internationalised domain name (UTS 46 processing failed: a disallowed \
             character, or an invalid 'xn--' label)"
                .to_string()
        })
}

fn has_punycode_label(s: &str) -> bool {
    s.split('.')
        .any(|l| l.len() >= 4 && l.as_bytes()[..4].eq_ignore_ascii_case(b"xn--"))
}

/// Refuses the ASCII characters that have no place in a host name, with a precise reason;
/// non-ASCII characters other than white space and controls are left to UTS 46.
fn check_host_chars(s: &str, ctx: HostCtx) -> Result<(), String> {
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
            continue;
        }
        let problem = match c {
            c if c.is_whitespace() || c.is_control() => {
                format!("contains white space or a control character ({c:?})")
            }
            c if !c.is_ascii() => continue,
            '_' => "'_' is not allowed in host names (letters, digits and hyphens only)".into(),
            '*' => match ctx {
                HostCtx::Value => "wildcards ('*.') are only accepted in url values".into(),
                HostCtx::Url => "'*' is only allowed as a leading '*.' label".into(),
            },
            '%' => "percent-escapes are not allowed in host names".into(),
            '/' | ':' | '?' | '#' | '@' | '[' | ']' if ctx == HostCtx::Value => format!(
                "'{c}' is not allowed in a host name \
                 (use type url for values with a scheme, port or path)"
            ),
            c => format!("'{c}' is not allowed in host names"),
        };
        return Err(problem);
    }
    Ok(())
}

/// Checks an ASCII lower-case name without trailing dot against the LDH rules.
fn check_labels(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("no host name".into());
    }
    if name.len() > MAX_HOST_LEN {
        return Err(format!("longer than {MAX_HOST_LEN} characters"));
    }
    let mut last = "";
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label (a leading dot, or two dots in a row)".into());
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(format!(
                "label {label:?} is longer than {MAX_LABEL_LEN} characters"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with a hyphen"));
        }
        if let Some(b) = label
            .bytes()
            .find(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-'))
        {
            // Unreachable after check_host_chars and STD3 processing; kept as a safety net.
            return Err(format!("'{}' is not allowed in host names", b as char));
        }
        last = label;
    }
    let b = last.as_bytes();
    let numeric = b.iter().all(u8::is_ascii_digit)
        || (b.len() >= 2
            && b[0] == b'0'
            && b[1] == b'x'
            && b[2..].iter().all(u8::is_ascii_hexdigit));
    if numeric {
        return Err(
            "ends in a number, so it reads as an IPv4 address, but it is not a valid dotted quad \
             (leading zeros and short or hex forms are not accepted)"
                .into(),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// URLs

fn url(v: &str) -> Result<String, InvalidValue> {
    url_inner(v).map_err(|e| InvalidValue::new(format!("not a valid url: {e}")))
}

fn url_inner(v: &str) -> Result<String, String> {
    if v.len() > MAX_URL_LEN {
        return Err(format!("longer than {MAX_URL_LEN} characters"));
    }
    if let Some(c) = v.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "contains white space or a control character ({c:?})"
        ));
    }
    let (scheme, rest) = split_scheme(v)?;
    let rest = rest.find('#').map_or(rest, |i| &rest[..i]);
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    if authority.contains('@') {
        return Err("user names and passwords ('user:pass@') are not accepted".into());
    }

    let mut out = String::with_capacity(v.len() + 8);
    if let Some(s) = scheme {
        out.push_str(s);
        out.push_str("://");
    }

    // Host and port.
    let port = if let Some(after_bracket) = authority.strip_prefix('[') {
        let close = after_bracket
            .find(']')
            .ok_or("'[' without ']' around an IPv6 host")?;
        let inner = &after_bracket[..close];
        let ip = inner.parse::<Ipv6Addr>().map_err(|_| {
            if inner.parse::<Ipv4Addr>().is_ok() {
                "an IPv4 host is written without brackets".to_string()
            } else {
                format!("bad IPv6 host: {}", ipv6_problem(inner))
            }
        })?;
        out.push('[');
        push_display(&mut out, ip);
        out.push(']');
        match &after_bracket[close + 1..] {
            "" => None,
            p => match p.strip_prefix(':') {
                Some(p) => parse_port(p)?,
                None => return Err("unexpected characters after ']'".into()),
            },
        }
    } else {
        let (host, port) = match authority.find(':') {
            Some(i) if authority[i + 1..].contains(':') => {
                return Err(
                    "an IPv6 host must be written in brackets, e.g. http://[2001:db8::1]/".into(),
                )
            }
            Some(i) => (&authority[..i], parse_port(&authority[i + 1..])?),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err("no host".into());
        }
        let (wildcard, name) = match host.strip_prefix("*.") {
            Some(name) => (true, name),
            None => (false, host),
        };
        match parse_host(name, HostCtx::Url).map_err(|e| format!("bad host: {e}"))? {
            Host::V4(ip) => {
                if wildcard {
                    return Err("a '*.' wildcard cannot be used with an IP address".into());
                }
                push_display(&mut out, ip);
            }
            Host::Name(name) => {
                if wildcard && label_count(&name) < 2 {
                    return Err(
                        "a '*.' wildcard must cover at least two labels, e.g. *.example.com".into(),
                    );
                }
                if scheme.is_none() && label_count(&name) < 2 {
                    return Err(format!(
                        "{name:?} is a single word, not a host; a url without scheme needs a \
                         host with at least two labels (or write http://{name}/)"
                    ));
                }
                if wildcard {
                    out.push_str("*.");
                }
                out.push_str(&name);
            }
        }
        port
    };
    let default_port = match scheme {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    };
    if let Some(p) = port.filter(|&p| Some(p) != default_port) {
        out.push(':');
        push_display(&mut out, p);
    }

    // Path and query.
    let (path, query) = match tail.find('?') {
        Some(i) => (&tail[..i], &tail[i + 1..]),
        None => (tail, ""),
    };
    if path.is_empty() || path == "/" {
        if !query.is_empty() {
            out.push('/');
        }
    } else {
        push_encoded(&mut out, path);
    }
    if !query.is_empty() {
        out.push('?');
        push_encoded(&mut out, query);
    }

    if out.len() > MAX_URL_LEN {
        return Err(format!(
            "longer than {MAX_URL_LEN} characters once normalised"
        ));
    }
    Ok(out)
}

/// Splits off an `http://` or `https://` scheme (returned lower-case), refusing other schemes.
fn split_scheme(v: &str) -> Result<(Option<&'static str>, &str), String> {
    if v.starts_with("//") {
        return Err("a scheme-relative '//host' is not accepted; \
                    write http://, https:// or no scheme"
            .into());
    }
    let Some(i) = v.find([':', '/', '?', '#']) else {
        return Ok((None, v));
    };
    if v.as_bytes()[i] != b':' {
        return Ok((None, v));
    }
    let (candidate, after) = (&v[..i], &v[i + 1..]);
    let known = if candidate.eq_ignore_ascii_case("http") {
        Some("http")
    } else if candidate.eq_ignore_ascii_case("https") {
        Some("https")
    } else {
        None
    };
    let scheme_syntax = candidate
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && candidate
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    match (known, after.strip_prefix("//")) {
        (Some(s), Some(rest)) => Ok((Some(s), rest)),
        (Some(s), None) => Err(format!("expected '{s}://'")),
        (None, Some(_)) if scheme_syntax => Err(format!(
            "scheme '{candidate}' is not accepted, only http and https"
        )),
        (None, Some(_)) => Err("malformed scheme".into()),
        // `mailto:x`, `javascript:x`: a word without dot followed by something that is no port.
        (None, None)
            if scheme_syntax
                && !candidate.contains('.')
                && after.bytes().next().is_some_and(|b| !b.is_ascii_digit()) =>
        {
            Err(format!(
                "scheme '{candidate}' is not accepted, only http and https"
            ))
        }
        // `host:port`.
        (None, None) => Ok((None, v)),
    }
}

/// Parses a decimal port; empty means none (as browsers read `host:`).
fn parse_port(p: &str) -> Result<Option<u16>, String> {
    if p.is_empty() {
        return Ok(None);
    }
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port {p:?} is not a decimal number"));
    }
    let digits = p.trim_start_matches('0');
    if digits.is_empty() {
        return Err("port 0 is not a usable port".into());
    }
    match digits.parse::<u16>() {
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(format!("port {p} is greater than 65535")),
    }
}

fn push_display(out: &mut String, x: impl std::fmt::Display) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(out, "{x}");
}

/// Appends a path or query with the RFC 3986 §6.2.2 equivalences applied (see the module doc).
fn push_encoded(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&x| hex_val(x)),
                b.get(i + 2).and_then(|&x| hex_val(x)),
            ) {
                let byte = (h << 4) | l;
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                    out.push(byte as char);
                } else {
                    out.push('%');
                    out.push(HEX[h as usize] as char);
                    out.push(HEX[l as usize] as char);
                }
                i += 3;
            } else {
                out.push_str("%25");
                i += 1;
            }
            continue;
        }
        if c >= 0x80 || matches!(c, b'"' | b'<' | b'>' | b'`' | b'{' | b'}') {
            out.push('%');
            out.push(HEX[(c >> 4) as usize] as char);
            out.push(HEX[(c & 0xf) as usize] as char);
        } else {
            out.push(c as char);
        }
        i += 1;
    }
}

fn hex_val(x: u8) -> Option<u8> {
    (x as char).to_digit(16).map(|d| d as u8)
}

// ---------------------------------------------------------------------------------------------
// extendedInformation

/// Checks CE's rule for `extendedInformation`: empty, or an http/https URL with a host.
///
/// The value is returned trimmed but otherwise as given: it is a link for people, not an IoC.
pub fn validate_extended_information(raw: &str) -> Result<String, InvalidValue> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    let lower = v.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
        .ok_or_else(|| InvalidValue::new("extendedInformation must be an http or https URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Err(InvalidValue::new("extendedInformation URL has no host"));
    }
    Ok(v.to_string())
}
