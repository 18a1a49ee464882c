//! Validation rules the tenant applies to URL list names, URL list entries and file hashes.

/// Characters a URL list name must not contain (reference §12, real-tenant audit).
pub const RESTRICTED_NAME_CHARS: &str = "<>/!@#$%^&*(){};+=,?.|:'\"";

/// Maximum size of one URL list's content: 8 MiB, counted as the UTF-8 bytes of all entries plus one separator byte
/// each (reference §8 and ce-threat-exchange.md §2.3: CE caps its pushes at 7 MB against this 8 MB tenant limit).
pub const MAX_URL_LIST_BYTES: usize = 8 * 1024 * 1024;

/// Maximum size of a file hash list's `list` string: 8 MiB (reference §3, CE manifest "maximum file size of 8 MB").
pub const MAX_HASH_LIST_BYTES: usize = 8 * 1024 * 1024;

/// Maximum request body the gateway accepts: 16 MiB. CE's plugin measured the DNS-profile gateway limit just below
/// 16 MiB (bodies of 16,776,706 bytes accepted, 16,777,572 rejected); larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Longest entry accepted in a URL list (exact or regex).
pub const MAX_ENTRY_LEN: usize = 2048;

/// Checks a URL list name; returns the error message for an invalid one.
pub fn list_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("name required".to_owned());
    }
    if let Some(c) = name.chars().find(|c| RESTRICTED_NAME_CHARS.contains(*c)) {
        return Err(format!(
            "name must not contain any of {RESTRICTED_NAME_CHARS} (found {c:?})"
        ));
    }
    if name.chars().count() > 255 {
        return Err("name must be at most 255 characters".to_owned());
    }
    Ok(())
}

/// Checks one entry of an `exact` URL list: `[scheme://]host[:port][/path...]`, where host is a DNS name
/// (optionally starting with `*.`) or an IPv4 address. Returns the reason for a rejection.
pub fn exact_entry(entry: &str) -> Result<(), &'static str> {
    if entry.is_empty() {
        return Err("empty value");
    }
    if entry.len() > MAX_ENTRY_LEN {
        return Err("value too long");
    }
    if entry.chars().any(char::is_whitespace) {
        return Err("value contains whitespace");
    }
    if entry.chars().any(|c| {
        c.is_control() || matches!(c, '<' | '>' | '"' | '\\' | '^' | '`' | '{' | '|' | '}')
    }) {
        return Err("value contains invalid characters");
    }
    let rest = match entry.find("://") {
        Some(i) => {
            let scheme = entry[..i].to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return Err("unsupported scheme");
            }
            &entry[i + 3..]
        }
        None => entry,
    };
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host_port.starts_with('[') || host_port.matches(':').count() > 1 {
        return Err("IPv6 addresses are not supported");
    }
    let (host, port) = match host_port.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host_port, None),
    };
    if let Some(port) = port {
        if port.is_empty()
            || port.len() > 5
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u32>().map_or(true, |p| p == 0 || p > 65535)
        {
            return Err("invalid port");
        }
    }
    host_name(host)
}

fn host_name(host: &str) -> Result<(), &'static str> {
    if host.is_empty() {
        return Err("empty host");
    }
    if host.len() > 253 {
        return Err("host name too long");
    }
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        return Err("IPv6 addresses are not supported");
    }
    let all_numeric = host
        .split('.')
        .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()));
    if all_numeric {
        return host
            .parse::<std::net::Ipv4Addr>()
            .map(|_| ())
            .map_err(|_| "invalid IPv4 address");
    }
    let host = host.strip_prefix("*.").unwrap_or(host);
    let host = host.strip_suffix('.').unwrap_or(host);
    for label in host.split('.') {
        if label.is_empty() {
            return Err("empty label in host");
        }
        if label.len() > 63 {
            return Err("host label too long");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("invalid character in host");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("host label starts or ends with a hyphen");
        }
    }
    Ok(())
}

/// Checks one entry of a `regex` URL list: a non-empty pattern that compiles.
pub fn regex_entry(entry: &str) -> Result<(), &'static str> {
    if entry.trim().is_empty() {
        return Err("empty value");
    }
    if entry.len() > MAX_ENTRY_LEN {
        return Err("value too long");
    }
    match regex::RegexBuilder::new(entry).size_limit(1 << 20).build() {
        Ok(_) => Ok(()),
        Err(_) => Err("invalid regular expression"),
    }
}

/// Whether `hash` is an MD5 (32) or SHA-256 (64) hex digest.
pub fn file_hash(hash: &str) -> bool {
    (hash.len() == 32 || hash.len() == 64) && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Size of a URL list's content as counted against [`MAX_URL_LIST_BYTES`].
pub fn url_list_size(urls: &[String]) -> usize {
    urls.iter().map(|u| u.len() + 1).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_entries() {
        for ok in [
            "bad.example.com",
            "*.example.com",
            "http://x.example.org/path?q=1",
            "https://a-b.example.io:8443/x",
            "1.2.3.4",
            "example.com.",
            "under_score.example.com",
        ] {
            assert_eq!(exact_entry(ok), Ok(()), "{ok}");
        }
        for (bad, reason) in [
            ("", "empty value"),
            ("bad host.com", "value contains whitespace"),
            ("a..b.com", "empty label in host"),
            ("bad!.com", "invalid character in host"),
            ("-a.com", "host label starts or ends with a hyphen"),
            ("2001:db8::1", "IPv6 addresses are not supported"),
            ("http://[2001:db8::1]/", "IPv6 addresses are not supported"),
            ("ftp://x.com", "unsupported scheme"),
            ("999.1.1.1", "invalid IPv4 address"),
            ("x.com:99999", "invalid port"),
        ] {
            assert_eq!(exact_entry(bad), Err(reason), "{bad}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        assert_eq!(exact_entry(&long_label), Err("host label too long"));
    }

    #[test]
    fn regex_and_names_and_hashes() {
        assert_eq!(regex_entry(r".*\.evil\.com"), Ok(()));
        assert_eq!(regex_entry("(unclosed"), Err("invalid regular expression"));
        assert!(list_name("ce-iocs_1").is_ok());
        assert!(list_name("with space").is_ok());
        assert!(list_name("a.b").is_err());
        assert_eq!(list_name(""), Err("name required".into()));
        assert!(file_hash(&"a".repeat(32)) && file_hash(&"F".repeat(64)));
        assert!(!file_hash(&"g".repeat(32)) && !file_hash("abc"));
    }
}
