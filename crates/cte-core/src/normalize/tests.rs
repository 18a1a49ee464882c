//! Table-driven tests of IoC value normalisation: accepted inputs and their canonical forms,
//! rejected inputs and their reasons, spellings that must meet, values that must stay apart,
//! idempotence, limits, and hostile inputs.

use super::*;
use IndicatorKind::{Domain, Fqdn, Hostname, Ipv4, Ipv6, Md5, Sha256, Url};

const MD5_LOWER: &str = "d41d8cd98f00b204e9800998ecf8427e";
const MD5_UPPER: &str = "D41D8CD98F00B204E9800998ECF8427E";
const SHA256_LOWER: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SHA256_UPPER: &str = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";

/// Input → canonical output.
const ACCEPTED: &[(IndicatorKind, &str, &str)] = &[
    // Hashes: lower case, trimmed.
    (Md5, MD5_UPPER, MD5_LOWER),
    (Md5, MD5_LOWER, MD5_LOWER),
    (Md5, "  d41d8cd98f00b204e9800998ecf8427e\n", MD5_LOWER),
    (Sha256, SHA256_UPPER, SHA256_LOWER),
    (Sha256, SHA256_LOWER, SHA256_LOWER),
    // IPv4: dotted quads only.
    (Ipv4, "192.0.2.1", "192.0.2.1"),
    (Ipv4, " 10.0.0.1\t", "10.0.0.1"),
    (Ipv4, "0.0.0.0", "0.0.0.0"),
    (Ipv4, "255.255.255.255", "255.255.255.255"),
    // IPv6: RFC 5952.
    (Ipv6, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
    (
        Ipv6,
        "2001:0db8:0000:0000:0000:ff00:0042:8329",
        "2001:db8::ff00:42:8329",
    ),
    (Ipv6, "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
    (Ipv6, "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
    (Ipv6, "0:0:0:0:0:0:0:0", "::"),
    (Ipv6, "[::1]", "::1"),
    (Ipv6, "fe80::1", "fe80::1"),
    // IPv4-mapped stays IPv6, written with a dotted quad.
    (Ipv6, "::ffff:192.0.2.1", "::ffff:192.0.2.1"),
    (Ipv6, "::FFFF:C000:0201", "::ffff:192.0.2.1"),
    // Domains.
    (Domain, "Example.COM", "example.com"),
    (Domain, "example.com.", "example.com"),
    (Domain, "co.uk", "co.uk"),
    (Domain, "a.b-c.d1", "a.b-c.d1"),
    (Domain, "123.example.com", "123.example.com"),
    (Domain, "1.2.3.4.example", "1.2.3.4.example"),
    (
        Domain,
        "r3---sn-abc.googlevideo.com",
        "r3---sn-abc.googlevideo.com",
    ),
    // IDNs: UTS 46 non-transitional, A-labels.
    (Domain, "Bücher.DE", "xn--bcher-kva.de"),
    (Domain, "bücher。de", "xn--bcher-kva.de"),
    (Domain, "XN--BCHER-KVA.de", "xn--bcher-kva.de"),
    (Domain, "faß.de", "xn--fa-hia.de"),
    (Domain, "ДОМЕН.РФ", "xn--d1acufc.xn--p1ai"),
    (Domain, "xn--d1acufc.xn--p1ai", "xn--d1acufc.xn--p1ai"),
    (Domain, "日本語.jp", "xn--wgv71a119e.jp"),
    (Domain, "ｅｘａｍｐｌｅ．ｃｏｍ", "example.com"),
    // Host names may be single labels.
    (Hostname, "localhost", "localhost"),
    (Hostname, "INTRANET-srv", "intranet-srv"),
    (Hostname, "localhost.", "localhost"),
    (Hostname, "mail.Example.com", "mail.example.com"),
    (Fqdn, "WWW.Example.com.", "www.example.com"),
    // URLs: CE's seed example and its spellings.
    (Url, "www.dubya.com", "www.dubya.com"),
    (Url, "www.dubya.com.", "www.dubya.com"),
    (Url, "HTTP://WWW.Dubya.com/", "http://www.dubya.com"),
    (Url, "http://www.dubya.com.:80/#top", "http://www.dubya.com"),
    // Scheme lower-cased, default port dropped, path and query case kept, fragment dropped.
    (
        Url,
        "https://Example.com:443/Path/To?Q=AbC#Frag",
        "https://example.com/Path/To?Q=AbC",
    ),
    (Url, "http://example.com:8080/", "http://example.com:8080"),
    (Url, "https://example.com:80/", "https://example.com:80"),
    (Url, "http://example.com:443", "http://example.com:443"),
    // No scheme: a port is kept, whatever it is.
    (Url, "example.com:80/x", "example.com:80/x"),
    (Url, "example.com:0080", "example.com:80"),
    (Url, "example.com:", "example.com"),
    // Wildcards.
    (Url, "*.Example.com/path", "*.example.com/path"),
    (Url, "http://*.example.com", "http://*.example.com"),
    (Url, "*.bücher.de", "*.xn--bcher-kva.de"),
    // IP hosts.
    (Url, "192.0.2.1/admin", "192.0.2.1/admin"),
    (Url, "http://192.0.2.1:80/", "http://192.0.2.1"),
    (
        Url,
        "http://[2001:DB8::1]:8443/x",
        "http://[2001:db8::1]:8443/x",
    ),
    (Url, "https://[::1]:443/", "https://[::1]"),
    (Url, "[::ffff:c000:201]/x", "[::ffff:192.0.2.1]/x"),
    (Url, "http://１.２.３.４/", "http://1.2.3.4"),
    // Single-label hosts need a scheme.
    (Url, "http://intranet/x", "http://intranet/x"),
    // Paths and queries: RFC 3986 equivalences only.
    (Url, "http://bücher.de/ü", "http://xn--bcher-kva.de/%C3%BC"),
    (Url, "example.com/a%2fb%7e%41", "example.com/a%2Fb~A"),
    (Url, "example.com/100%", "example.com/100%25"),
    (Url, "example.com/%zz", "example.com/%25zz"),
    (Url, "example.com/<script>", "example.com/%3Cscript%3E"),
    (Url, "example.com/a/", "example.com/a/"),
    (Url, "example.com//", "example.com//"),
    (Url, "example.com/a/../b/./c", "example.com/a/../b/./c"),
    (Url, "example.com/A?B=C&d=%2f", "example.com/A?B=C&d=%2F"),
    (
        Url,
        "example.com/a?b=http://c.d/e",
        "example.com/a?b=http://c.d/e",
    ),
    (Url, "example.com/@user", "example.com/@user"),
    (Url, "example.com?q=1", "example.com/?q=1"),
    (Url, "example.com/?q=1", "example.com/?q=1"),
    (Url, "example.com/?", "example.com"),
    (Url, "example.com/a?", "example.com/a"),
    (Url, "example.com#x", "example.com"),
];

/// Input → a fragment of the reason.
const REJECTED: &[(IndicatorKind, &str, &str)] = &[
    (Md5, "", "empty"),
    (Md5, "   ", "empty"),
    (Md5, "xyz", "'x' is not a hexadecimal digit"),
    (
        Md5,
        "d41d8cd98f00b204e9800998ecf8427",
        "expected 32 hexadecimal characters, got 31",
    ),
    (Md5, SHA256_LOWER, "length of a sha256"),
    (Md5, "0xd41d8cd98f00b204e9800998ecf8427e", "'x'"),
    (Md5, "d41d8cd9 8f00b204e9800998ecf8427e", "' '"),
    (Sha256, MD5_LOWER, "length of an md5"),
    (Sha256, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1"),
    (
        Sha256,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
        "'g'",
    ),
    (Ipv4, "010.0.0.1", "leading zero"),
    (Ipv4, "1.2.3", "expected four"),
    (Ipv4, "1.2.3.4.5", "expected four"),
    (Ipv4, "256.1.1.1", "greater than 255"),
    (Ipv4, "1.2.3.99999", "greater than 255"),
    (Ipv4, "10.0.0.0/8", "CIDR"),
    (Ipv4, "1.2.3.4:80", "ports"),
    (Ipv4, "::1", "use type ipv6"),
    (Ipv4, "1.2.3.4.", "empty octet"),
    (Ipv4, "0x7f.0.0.1", "not a decimal number"),
    (Ipv4, "example.com", "not a decimal number"),
    (Ipv6, "fe80::1%eth0", "zone ids"),
    (Ipv6, "[fe80::1%eth0]", "zone ids"),
    (Ipv6, "2001:db8::/32", "CIDR"),
    (Ipv6, "192.0.2.1", "use type ipv4"),
    (Ipv6, "[::1]:443", "no port"),
    (Ipv6, "[[::1]]", "expected eight"),
    (Ipv6, "2001:db8::g", "expected eight"),
    (Ipv6, "1:2:3:4:5:6:7:8:9", "expected eight"),
    (Ipv6, ":::", "expected eight"),
    (Domain, "com", "single label"),
    (Domain, "example..com", "empty label"),
    (Domain, ".example.com", "empty label"),
    (Domain, "example.com..", "empty label"),
    (Domain, "-example.com", "hyphen"),
    (Domain, "example-.com", "hyphen"),
    (Domain, "foo_bar.example.com", "'_' is not allowed"),
    (Domain, "*.example.com", "only accepted in url values"),
    (Domain, "http://example.com", "use type url"),
    (Domain, "example.com/path", "use type url"),
    (Domain, "example.com:8080", "use type url"),
    (Domain, "user@example.com", "use type url"),
    (Domain, "192.0.2.1", "use type ipv4"),
    (Domain, "192.0.2.1.", "use type ipv4"),
    (Domain, "::1", "use type ipv6"),
    (Domain, "[2001:db8::1]", "use type ipv6"),
    (Domain, "010.0.0.1", "ends in a number"),
    (Domain, "example.0x1f", "ends in a number"),
    (Domain, "example.123", "ends in a number"),
    (Domain, "exa mple.com", "white space"),
    (Domain, "exa\u{3000}mple.com", "white space"),
    (Domain, "ex%41mple.com", "percent"),
    (Domain, "xn--zz.com", "UTS 46"),
    (Domain, "xn--.com", "UTS 46"),
    (Domain, "bü_cher.de", "'_' is not allowed"),
    (Domain, "bücher..de", "empty label"),
    (Hostname, "123", "ends in a number"),
    (Hostname, "local_host", "'_' is not allowed"),
    (Hostname, "-", "hyphen"),
    (Hostname, ".", "no host name"),
    (Hostname, "1.2.3.4", "use type ipv4"),
    (Hostname, "１.２.３.４", "use type ipv4"),
    (Fqdn, "localhost", "single label"),
    (Fqdn, "localhost.", "single label"),
    (Url, "ftp://example.com", "scheme 'ftp' is not accepted"),
    (
        Url,
        "javascript:alert(1)",
        "scheme 'javascript' is not accepted",
    ),
    (
        Url,
        "mailto:a@example.com",
        "scheme 'mailto' is not accepted",
    ),
    (Url, "http:example.com", "expected 'http://'"),
    (Url, "HTTPS:/example.com", "expected 'https://'"),
    (Url, "//example.com", "scheme-relative"),
    (Url, "http://", "no host"),
    (Url, "http:///path", "no host"),
    (Url, "/path", "no host"),
    (Url, "?q=1", "no host"),
    (
        Url,
        "http://user:pass@example.com/",
        "user names and passwords",
    ),
    (Url, "user@example.com", "user names and passwords"),
    (Url, "example.com/a b", "white space"),
    (Url, "example.com/a\u{0}b", "control character"),
    (Url, "example.com/\u{7f}", "control character"),
    (Url, "example.com/a\u{a0}b", "white space"),
    (Url, "http://exa_mple.com", "'_' is not allowed"),
    (Url, "http://exa\\mple.com", "'\\' is not allowed"),
    (Url, "http://-bad.com", "hyphen"),
    (Url, "http://bad..com", "empty label"),
    (Url, "http://010.0.0.1/", "ends in a number"),
    (Url, "http://2001:db8::1/", "must be written in brackets"),
    (Url, "2001:db8::1", "must be written in brackets"),
    (Url, "http://[::1", "without ']'"),
    (Url, "http://[fe80::1%25eth0]/", "zone ids"),
    (Url, "http://[192.0.2.1]/", "written without brackets"),
    (Url, "http://[::1]x/", "after ']'"),
    (Url, "*.com", "at least two labels"),
    (Url, "*", "'*' is only allowed as a leading '*.' label"),
    (Url, "*.", "no host name"),
    (Url, "*.192.0.2.1", "IP address"),
    (
        Url,
        "a.*.example.com",
        "'*' is only allowed as a leading '*.' label",
    ),
    (
        Url,
        "*example.com",
        "'*' is only allowed as a leading '*.' label",
    ),
    (
        Url,
        "*.*.example.com",
        "'*' is only allowed as a leading '*.' label",
    ),
    (Url, "http://example.com:99999", "greater than 65535"),
    (Url, "example.com:abc", "not a decimal number"),
    (Url, "example.com:0", "port 0"),
    (Url, "example.com:-1", "not a decimal number"),
    (Url, "none", "single word"),
    (Url, "N/A", "single word"),
    (Url, "localhost:8080", "single word"),
    (Url, "http://ex%41mple.com/", "percent"),
];

/// Spellings that must normalise to one string.
const EQUIVALENT: &[(IndicatorKind, &[&str])] = &[
    (
        Md5,
        &[MD5_UPPER, MD5_LOWER, " d41d8cd98f00b204e9800998ECF8427E "],
    ),
    (Sha256, &[SHA256_UPPER, SHA256_LOWER]),
    (Ipv4, &["192.0.2.1", " 192.0.2.1 "]),
    (
        Ipv6,
        &[
            "2001:db8::1",
            "[2001:DB8::1]",
            "2001:0db8:0000:0000:0000:0000:0000:0001",
            "2001:db8:0::0:1",
        ],
    ),
    (
        Ipv6,
        &[
            "::ffff:192.0.2.1",
            "::FFFF:C000:201",
            "0:0:0:0:0:ffff:c000:0201",
        ],
    ),
    (
        Domain,
        &[
            "bücher.de",
            "Bücher.DE.",
            "xn--bcher-kva.de",
            "XN--BCHER-KVA.DE",
            "bücher。de",
            " bücher.de ",
            "BÜCHER.de",
        ],
    ),
    (
        Domain,
        &["example.com", "EXAMPLE.com.", "ｅｘａｍｐｌｅ．ｃｏｍ"],
    ),
    (Hostname, &["localhost", "LOCALHOST.", "LocalHost"]),
    (
        Fqdn,
        &["www.example.com.", "WWW.EXAMPLE.COM", "www.example.com"],
    ),
    (
        Url,
        &[
            "HTTP://WWW.Dubya.com/",
            "http://www.dubya.com",
            "http://www.dubya.com.:80/#top",
            "http://WWW.DUBYA.COM:0080",
            "  http://www.dubya.com/?  ",
        ],
    ),
    (
        Url,
        &[
            "www.dubya.com",
            "WWW.Dubya.Com.",
            "www.dubya.com/",
            "www.dubya.com#x",
        ],
    ),
    (
        Url,
        &[
            "https://xn--bcher-kva.de/%7Ea",
            "HTTPS://Bücher.de:443/~a",
            "https://bücher.de./%7ea",
        ],
    ),
    (
        Url,
        &["example.com/ü", "example.com/%c3%bc", "example.com/%C3%BC"],
    ),
    (
        Url,
        &["http://[2001:db8::1]/", "http://[2001:DB8:0:0:0:0:0:1]:80"],
    ),
    (
        Url,
        &["example.com?q=1", "example.com/?q=1", "example.com/?q=1#f"],
    ),
    (Url, &["*.example.com", "*.EXAMPLE.com.", "*.example.com/"]),
];

/// Pairs that must stay different IoCs (decisions worth pinning down).
const DISTINCT: &[(IndicatorKind, &str, &str)] = &[
    // The scheme is part of the IoC: a URL list is not known to treat these alike.
    (Url, "http://x.com", "x.com"),
    (Url, "http://x.com", "https://x.com"),
    // Paths are case-sensitive, and a trailing slash on a non-root path matters.
    (Url, "x.com/Path", "x.com/path"),
    (Url, "x.com/a", "x.com/a/"),
    // An encoded '/' is not a path separator.
    (Url, "x.com/a%2Fb", "x.com/a/b"),
    // Without a scheme no port is a default port.
    (Url, "x.com:80", "x.com"),
    // A wildcard covers other hosts than its base.
    (Url, "*.x.com", "x.com"),
    // Non-transitional IDNA: ß is not ss.
    (Domain, "faß.de", "fass.de"),
];

fn norm(kind: IndicatorKind, raw: &str) -> Result<String, InvalidValue> {
    normalize_value(kind, raw)
}

#[test]
fn accepted_inputs_give_their_canonical_form() {
    let mut failures = Vec::new();
    for &(kind, input, want) in ACCEPTED {
        match norm(kind, input) {
            Ok(got) if got == want => {}
            other => failures.push(format!("{kind} {input:?}: want {want:?}, got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rejected_inputs_give_a_reason() {
    let mut failures = Vec::new();
    for &(kind, input, fragment) in REJECTED {
        match norm(kind, input) {
            Err(e) if e.reason.contains(fragment) => {}
            other => failures.push(format!(
                "{kind} {input:?}: want an error with {fragment:?}, got {other:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn reasons_name_the_kind() {
    for &(kind, input, _) in REJECTED {
        let reason = norm(kind, input).unwrap_err().reason;
        let names_kind = reason.contains(kind.as_str())
            || reason.contains(&kind.as_str().to_uppercase().replace("IPV", "IPv"))
            || reason == "value is empty";
        assert!(names_kind, "{kind} {input:?}: {reason:?}");
    }
}

#[test]
fn equivalent_spellings_meet() {
    let mut failures = Vec::new();
    for &(kind, group) in EQUIVALENT {
        let first = norm(kind, group[0]);
        assert!(first.is_ok(), "{kind} {:?}: {first:?}", group[0]);
        for input in &group[1..] {
            let got = norm(kind, input);
            if got != first {
                failures.push(format!(
                    "{kind} {input:?} gives {got:?}, but {:?} gives {first:?}",
                    group[0]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn distinct_iocs_stay_apart() {
    for &(kind, a, b) in DISTINCT {
        let (na, nb) = (norm(kind, a).unwrap(), norm(kind, b).unwrap());
        assert_ne!(na, nb, "{kind} {a:?} and {b:?} must stay different IoCs");
    }
}

/// Every accepted sample, from all the tables.
fn accepted_samples() -> Vec<(IndicatorKind, &'static str)> {
    let mut all: Vec<_> = ACCEPTED.iter().map(|&(k, i, _)| (k, i)).collect();
    for &(kind, group) in EQUIVALENT {
        all.extend(group.iter().map(|&i| (kind, i)));
    }
    for &(kind, a, b) in DISTINCT {
        all.extend([(kind, a), (kind, b)]);
    }
    all
}

#[test]
fn normalisation_is_idempotent() {
    for (kind, input) in accepted_samples() {
        let once = norm(kind, input).unwrap_or_else(|e| panic!("{kind} {input:?}: {e}"));
        let twice = norm(kind, &once);
        assert_eq!(twice.as_ref(), Ok(&once), "{kind} {input:?} → {once:?}");
    }
}

#[test]
fn ipv4_output_is_what_the_parser_formats() {
    for &(kind, input, _) in ACCEPTED.iter().filter(|s| s.0 == Ipv4) {
        let out = norm(kind, input).unwrap();
        assert_eq!(out.parse::<Ipv4Addr>().unwrap().to_string(), out);
    }
}

#[test]
fn host_limits() {
    let label63 = "a".repeat(63);
    let ok = format!("{label63}.com");
    assert_eq!(norm(Domain, &ok).unwrap(), ok);
    let long_label = format!("{}.com", "a".repeat(64));
    assert!(norm(Domain, &long_label)
        .unwrap_err()
        .reason
        .contains("longer than 63"));

    let name253 = format!("{label63}.{label63}.{label63}.{}", "d".repeat(61));
    assert_eq!(name253.len(), 253);
    assert_eq!(norm(Fqdn, &name253).unwrap(), name253);
    assert_eq!(norm(Fqdn, &format!("{name253}.")).unwrap(), name253);
    let name254 = format!("{name253}d");
    assert!(norm(Fqdn, &name254)
        .unwrap_err()
        .reason
        .contains("longer than 253"));
    // The limit applies to the A-label form, not to the characters typed.
    let idn = format!("{}.de", "ü".repeat(60));
    assert!(norm(Domain, &idn)
        .unwrap_err()
        .reason
        .contains("longer than 63"));
}

#[test]
fn url_limits() {
    let head = "example.com/";
    let ok = format!("{head}{}", "a".repeat(MAX_URL_LEN - head.len()));
    assert_eq!(norm(Url, &ok).unwrap(), ok);
    let long = format!("{ok}a");
    assert!(norm(Url, &long)
        .unwrap_err()
        .reason
        .contains("longer than 2048"));
    // Percent-encoding can push a value over the limit.
    let grows = format!("{head}{}", "ü".repeat(1000));
    assert!(norm(Url, &grows)
        .unwrap_err()
        .reason
        .contains("once normalised"));
}

#[test]
fn extended_information() {
    assert_eq!(validate_extended_information("  ").unwrap(), "");
    assert_eq!(
        validate_extended_information(" HTTP://123.com/x ").unwrap(),
        "HTTP://123.com/x"
    );
    assert_eq!(
        validate_extended_information("https://example.com").unwrap(),
        "https://example.com"
    );
    assert!(validate_extended_information("ftp://example.com")
        .unwrap_err()
        .reason
        .contains("http or https"));
    assert!(validate_extended_information("https:///x")
        .unwrap_err()
        .reason
        .contains("no host"));
}

/// Hostile inputs, for every kind: no panic, and anything accepted is a fixed point.
#[test]
fn never_panics_on_nasty_inputs() {
    let mut nasty: Vec<String> = [
        "",
        " ",
        ".",
        "..",
        "...",
        "*",
        "*.",
        "*.*",
        "[",
        "]",
        "[]",
        "[::1]]",
        "%",
        "%%",
        "%zz",
        "%00",
        "\0",
        "a\0b",
        ":",
        "::",
        ":::",
        "@",
        "#",
        "?",
        "/",
        "//",
        "http:",
        "http://",
        "https://[",
        "http://[]",
        "http://[::1]:",
        "http://x.com:/",
        "http://a.com/%",
        "http://a.com/%4",
        "example.com/%00",
        "xn--",
        "xn--.com",
        "xn--a.com",
        "xn--ls8h.la",
        "-",
        "a..",
        "x.com:65536",
        "x.com:",
        "\u{FEFF}",
        "\u{200B}example.com",
        "\u{202E}moc.elpmaxe",
        "💩.la",
        "ｅｘａｍｐｌｅ．ｃｏｍ",
        "１.２.３.４",
        "ex\u{0301}ample.com",
        "\u{10FFFF}",
        "\u{FFFD}",
        "0x",
        "0x.0x",
        "1.2.3.4.",
        "[1.2.3.4]",
        "::ffff:1.2.3.4",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    nasty.extend([
        "a".repeat(10_000),
        "é".repeat(3000),
        ".".repeat(5000),
        "\u{AD}".repeat(2000) + "a.com",
        format!("http://{}.com/", "a".repeat(3000)),
        format!("http://x.com/{}", "%".repeat(3000)),
        format!("{}.com", "ü.".repeat(400)),
        "[".repeat(1000),
        "*.".repeat(1000),
        "%".repeat(1000),
    ]);
    for kind in IndicatorKind::ALL {
        for input in &nasty {
            if let Ok(out) = norm(kind, input) {
                assert_eq!(
                    norm(kind, &out).as_ref(),
                    Ok(&out),
                    "{kind} {input:?} → {out:?} is not a fixed point"
                );
            }
        }
    }
}
