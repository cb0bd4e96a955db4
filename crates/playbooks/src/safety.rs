//! Checks on every value that ends up in a remote command or a request target. They run
//! when a playbook is parsed (for literal values) and again when a step is rendered (for
//! values that came from an alert or incident), so untrusted text never reaches a shell.

use std::net::IpAddr;

/// An address or network accepted for blocking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IpTarget {
    /// Canonical text (`10.0.0.1`, `2001:db8::/32`).
    pub text: String,
    /// True for IPv6.
    pub v6: bool,
}

/// An IPv4/IPv6 address or CIDR network; anything else is refused.
pub(crate) fn ip_target(s: &str) -> Result<IpTarget, String> {
    let refuse = || format!("`{s}` is not an IPv4/IPv6 address or CIDR network");
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| refuse())?;
    let max = if ip.is_ipv6() { 128 } else { 32 };
    let text = match prefix {
        None => ip.to_string(),
        Some(p) => {
            // Digits only: `u8::from_str` would accept a leading `+`.
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(refuse());
            }
            let n: u8 = p.parse().map_err(|_| refuse())?;
            if n > max {
                return Err(refuse());
            }
            format!("{ip}/{n}")
        }
    };
    Ok(IpTarget {
        text,
        v6: ip.is_ipv6(),
    })
}

/// nftables table/set and iptables chain names: `[A-Za-z0-9_-]{1,32}`.
pub(crate) fn object_name(s: &str) -> Result<(), String> {
    let ok = (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(())
        .ok_or_else(|| format!("`{s}` is not a name of 1–32 letters, digits, `_` or `-`"))
}

/// nftables address families that can hold an address set.
pub(crate) fn nft_family(s: &str) -> Result<(), String> {
    matches!(s, "ip" | "ip6" | "inet" | "bridge" | "netdev")
        .then_some(())
        .ok_or_else(|| format!("`{s}` is not an nftables family (ip, ip6, inet, bridge, netdev)"))
}

/// nftables element timeout: digits and one unit, `30s`, `10m`, `1h`, `7d`.
pub(crate) fn nft_timeout(s: &str) -> Result<(), String> {
    let ok = s.len() >= 2
        && s.len() <= 8
        && s[..s.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && matches!(s.as_bytes()[s.len() - 1], b's' | b'm' | b'h' | b'd');
    ok.then_some(())
        .ok_or_else(|| format!("`{s}` is not a timeout like 30m, 1h or 7d"))
}

/// An ssh destination: an IP address or a DNS name; never something ssh reads as an option.
pub(crate) fn ssh_host(s: &str) -> Result<(), String> {
    if s.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let ok = !s.is_empty()
        && s.len() <= 253
        && !s.starts_with(['-', '.'])
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    ok.then_some(())
        .ok_or_else(|| format!("`{s}` is not a host name or address"))
}

/// A POSIX-style user name.
pub(crate) fn ssh_user(s: &str) -> Result<(), String> {
    let ok = (1..=32).contains(&s.len())
        && (s.as_bytes()[0].is_ascii_alphabetic() || s.as_bytes()[0] == b'_')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    ok.then_some(())
        .ok_or_else(|| format!("`{s}` is not a user name"))
}

/// An absolute file path without whitespace or control characters (ssh splits `-o` values
/// on whitespace).
pub(crate) fn abs_path(s: &str) -> Result<(), String> {
    let ok = s.starts_with('/') && !s.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(())
        .ok_or_else(|| format!("`{s}` is not an absolute path without spaces"))
}

/// The scheme must be written literally as http:// or https:// so no substituted value can
/// change where a request goes to a `file:` or other scheme.
pub(crate) fn url_scheme(raw: &str) -> Result<(), String> {
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://"))
        .then_some(())
        .ok_or_else(|| format!("`{raw}` does not start with http:// or https://"))
}

/// An account name: printable, no whitespace, at most 256 characters.
pub(crate) fn account(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.chars().count() <= 256
        && !s.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(())
        .ok_or_else(|| format!("`{s}` is not an account name"))
}

/// Header names whose values are shown redacted even when written literally.
pub(crate) fn sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "authorization",
        "cookie",
        "token",
        "secret",
        "key",
        "password",
    ]
    .iter()
    .any(|w| n.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips() {
        assert_eq!(ip_target("10.0.0.1").unwrap().text, "10.0.0.1");
        assert_eq!(ip_target("10.0.0.0/8").unwrap().text, "10.0.0.0/8");
        assert!(ip_target("2001:db8::1").unwrap().v6);
        assert!(ip_target("2001:db8::/129").is_err());
        assert!(ip_target("1.2.3.4; rm -rf /").is_err());
        assert!(ip_target("1.2.3.4/+8").is_err());
        assert!(ip_target("-oProxyCommand=x").is_err());
        assert!(ip_target("").is_err());
    }

    #[test]
    fn names_and_hosts() {
        assert!(object_name("yunshou_block-4").is_ok());
        assert!(object_name("a b").is_err());
        assert!(object_name(&"x".repeat(33)).is_err());
        assert!(ssh_host("fw-1.example.gov.cn").is_ok());
        assert!(ssh_host("-oProxyCommand=sh").is_err());
        assert!(ssh_user("root").is_ok());
        assert!(ssh_user("-l").is_err());
        assert!(nft_timeout("1h").is_ok());
        assert!(nft_timeout("h").is_err());
        assert!(url_scheme("HTTPS://x").is_ok());
        assert!(url_scheme("file:///etc/passwd").is_err());
    }
}
