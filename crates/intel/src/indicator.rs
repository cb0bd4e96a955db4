//! The indicator model and the normalisation every importer and every lookup
//! shares: a value is only ever compared in its normalised form.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an indicator's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndicatorKind {
    /// One IPv4 address.
    Ipv4,
    /// One IPv6 address (IPv4-mapped addresses are folded to [`IndicatorKind::Ipv4`]).
    Ipv6,
    /// An IPv4 or IPv6 network, `addr/len`, host bits cleared.
    Cidr,
    /// A domain name; its subdomains match too.
    Domain,
    /// A URL, compared exactly after normalisation.
    Url,
    /// MD5 file hash.
    Md5,
    /// SHA-1 file hash.
    Sha1,
    /// SHA-256 file hash.
    Sha256,
    /// SM3 file hash (GB/T 32905).
    Sm3,
}

impl IndicatorKind {
    /// Parses a type name as feeds write it (`ip`, `ipv4`, `ip-dst`, `domain`, `sha256`, …).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "ipv4" | "ipv4-addr" => Self::Ipv4,
            "ipv6" | "ipv6-addr" => Self::Ipv6,
            // "ip" is resolved by the value's family in `Indicator::new`.
            "ip" | "ip-src" | "ip-dst" | "ip-addr" => Self::Ipv4,
            "cidr" | "net" | "network" | "subnet" => Self::Cidr,
            "domain" | "hostname" | "domain-name" | "fqdn" => Self::Domain,
            "url" | "uri" => Self::Url,
            "md5" => Self::Md5,
            "sha1" | "sha-1" => Self::Sha1,
            "sha256" | "sha-256" => Self::Sha256,
            "sm3" => Self::Sm3,
            _ => return None,
        })
    }

    /// Guesses the kind of an untyped value: IP, CIDR, URL, hash (by length), else domain.
    pub fn infer(value: &str) -> Option<Self> {
        let v = value.trim();
        if v.contains("://") {
            return Some(Self::Url);
        }
        if v.contains('/') {
            return Some(Self::Cidr);
        }
        if let Ok(ip) = v.parse::<IpAddr>() {
            return Some(match fold_ip(ip) {
                IpAddr::V4(_) => Self::Ipv4,
                IpAddr::V6(_) => Self::Ipv6,
            });
        }
        if v.bytes().all(|b| b.is_ascii_hexdigit()) {
            match v.len() {
                32 => return Some(Self::Md5),
                40 => return Some(Self::Sha1),
                64 => return Some(Self::Sha256),
                _ => {}
            }
        }
        normalise_domain(v).ok().map(|_| Self::Domain)
    }

    /// The byte length of a hash kind, `None` for the others.
    pub fn hash_len(self) -> Option<usize> {
        match self {
            Self::Md5 => Some(16),
            Self::Sha1 => Some(20),
            Self::Sha256 | Self::Sm3 => Some(32),
            _ => None,
        }
    }

    /// The lower-case name used in serialisation and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
            Self::Cidr => "cidr",
            Self::Domain => "domain",
            Self::Url => "url",
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sm3 => "sm3",
        }
    }
}

impl fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One piece of threat intelligence: a normalised value and what the feed said about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// What `value` is.
    pub kind: IndicatorKind,
    /// The normalised value (see [`Indicator::new`]).
    pub value: String,
    /// The feed it came from. Shared: one import allocates the name once.
    pub source: Arc<str>,
    /// The feed's confidence, 0–100.
    pub confidence: Option<u8>,
    /// Not to be matched before this time.
    pub valid_from: Option<DateTime<Utc>>,
    /// Not to be matched after this time.
    pub valid_until: Option<DateTime<Utc>>,
    /// Labels and tags: `malicious-activity`, threat actor names, MISP tags.
    pub labels: Vec<String>,
    /// Free text (STIX name/description, MISP event info).
    pub description: Option<String>,
    /// The id in the source: STIX id, MISP attribute uuid.
    pub external_id: Option<String>,
}

impl Indicator {
    /// A normalised indicator with no metadata beyond its source. `kind` is a
    /// hint the value may refine: an `Ipv4` value that is IPv6 becomes `Ipv6`,
    /// an IP with a prefix becomes `Cidr`, a `Cidr` of /32 or /128 becomes an IP.
    pub fn new(kind: IndicatorKind, raw: &str, source: Arc<str>) -> Result<Self, String> {
        let (kind, value) = normalise(kind, raw)?;
        Ok(Self {
            kind,
            value,
            source,
            confidence: None,
            valid_from: None,
            valid_until: None,
            labels: Vec::new(),
            description: None,
            external_id: None,
        })
    }

    /// Whether the indicator applies at `now`.
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.valid_from.is_none_or(|f| f <= now) && self.valid_until.is_none_or(|u| u >= now)
    }
}

/// Normalises `raw` as `kind`, returning the (possibly refined) kind and the canonical text.
pub fn normalise(kind: IndicatorKind, raw: &str) -> Result<(IndicatorKind, String), String> {
    let v = raw.trim();
    if v.is_empty() {
        return Err("empty value".into());
    }
    match kind {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 | IndicatorKind::Cidr => {
            if v.contains('/') {
                let (net, len) = parse_cidr(v)?;
                Ok(net_to_indicator(net, len))
            } else if kind == IndicatorKind::Cidr {
                Err(format!("{v:?} is not a network (addr/len)"))
            } else {
                let ip = parse_ip(v).ok_or_else(|| format!("{v:?} is not an IP address"))?;
                Ok(net_to_indicator(ip, full_len(ip)))
            }
        }
        IndicatorKind::Domain => Ok((kind, normalise_domain(v)?.into_owned())),
        IndicatorKind::Url => Ok((kind, normalise_url(v)?)),
        IndicatorKind::Md5 | IndicatorKind::Sha1 | IndicatorKind::Sha256 | IndicatorKind::Sm3 => {
            let want = kind.hash_len().unwrap_or(0) * 2;
            if v.len() != want {
                return Err(format!("{kind} must be {want} hex digits, got {}", v.len()));
            }
            if !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("{kind} {v:?} is not hexadecimal"));
            }
            Ok((kind, v.to_ascii_lowercase()))
        }
    }
}

fn full_len(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// A network as an indicator: full-length prefixes are plain addresses.
fn net_to_indicator(net: IpAddr, len: u8) -> (IndicatorKind, String) {
    match net {
        IpAddr::V4(a) if len == 32 => (IndicatorKind::Ipv4, a.to_string()),
        IpAddr::V6(a) if len == 128 => (IndicatorKind::Ipv6, a.to_string()),
        _ => (IndicatorKind::Cidr, format!("{net}/{len}")),
    }
}

/// Folds IPv4-mapped IPv6 (`::ffff:1.2.3.4`) to IPv4: the same host either way.
pub fn fold_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Parses an address (IPv6 may be bracketed) and folds IPv4-mapped IPv6.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    s.parse::<IpAddr>().ok().map(fold_ip)
}

/// Parses `addr/len` and clears the host bits. An IPv4-mapped IPv6 network
/// (`::ffff:10.0.0.0/104`) becomes the IPv4 network it covers.
pub fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, l) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?} has no prefix length"))?;
    let len: u8 = l
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: bad prefix length"))?;
    let ip: IpAddr = a
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: bad network address"))?;
    match ip {
        IpAddr::V4(v4) if len <= 32 => Ok((IpAddr::V4(Ipv4Addr::from(mask4(v4.into(), len))), len)),
        IpAddr::V6(v6) if len <= 128 => {
            if let (Some(v4), true) = (v6.to_ipv4_mapped(), len >= 96) {
                let l4 = len - 96;
                return Ok((IpAddr::V4(Ipv4Addr::from(mask4(v4.into(), l4))), l4));
            }
            Ok((IpAddr::V6(Ipv6Addr::from(mask6(v6.into(), len))), len))
        }
        _ => Err(format!("{s:?}: prefix length {len} too long")),
    }
}

/// Keeps the top `len` bits of an IPv4 address.
pub(crate) fn mask4(a: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        a & (u32::MAX << (32 - u32::from(len)))
    }
}

/// Keeps the top `len` bits of an IPv6 address.
pub(crate) fn mask6(a: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        a & (u128::MAX << (128 - u32::from(len)))
    }
}

/// Lower-cases a domain and drops one trailing dot. Allowed: ASCII letters,
/// digits, `-` and `_` (seen in real names such as `_dmarc`); labels 1–63
/// bytes, the whole at most 253. Borrowed when already canonical, which is
/// the common case on the matching path.
pub fn normalise_domain(s: &str) -> Result<Cow<'_, str>, String> {
    let t = s.strip_suffix('.').unwrap_or(s);
    if t.is_empty() || t.len() > 253 {
        return Err(format!("{s:?}: domain length out of range"));
    }
    let mut upper = false;
    for label in t.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("{s:?}: empty or over-long label"));
        }
        for b in label.bytes() {
            match b {
                b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {}
                b'A'..=b'Z' => upper = true,
                _ => {
                    return Err(format!(
                        "{s:?}: invalid character {:?} in domain",
                        b as char
                    ))
                }
            }
        }
    }
    if t.parse::<IpAddr>().is_ok() {
        return Err(format!("{s:?} is an IP address, not a domain"));
    }
    Ok(if upper {
        Cow::Owned(t.to_ascii_lowercase())
    } else {
        Cow::Borrowed(t)
    })
}

/// Canonical URL text: scheme and host lower-cased, default port and fragment
/// dropped, path normalised (`url` crate, WHATWG rules). A value without a
/// scheme is read as `http://` — feeds often list `evil.example/path`.
pub fn normalise_url(s: &str) -> Result<String, String> {
    parse_url(s).map(|u| u.to_string())
}

/// Parses a URL as [`normalise_url`] does; the host must be present.
pub(crate) fn parse_url(s: &str) -> Result<url::Url, String> {
    let s = s.trim();
    let owned;
    let text = if s.contains("://") {
        s
    } else {
        owned = format!("http://{s}");
        &owned
    };
    let mut u = url::Url::parse(text).map_err(|e| format!("{s:?}: bad URL: {e}"))?;
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("{s:?}: URL has no host"));
    }
    u.set_fragment(None);
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(kind: IndicatorKind, v: &str) -> (IndicatorKind, String) {
        normalise(kind, v).unwrap()
    }

    #[test]
    fn ips_fold_and_refine() {
        use IndicatorKind::*;
        assert_eq!(n(Ipv6, "::ffff:192.0.2.7"), (Ipv4, "192.0.2.7".into()));
        assert_eq!(n(Ipv4, "2001:DB8::1"), (Ipv6, "2001:db8::1".into()));
        assert_eq!(n(Ipv4, " 192.0.2.1 "), (Ipv4, "192.0.2.1".into()));
        assert!(normalise(Ipv4, "192.0.2.256").is_err());
        assert!(normalise(Ipv4, "").is_err());
    }

    #[test]
    fn cidr_clears_host_bits_and_full_length_is_an_address() {
        use IndicatorKind::*;
        assert_eq!(n(Cidr, "10.1.2.3/8"), (Cidr, "10.0.0.0/8".into()));
        assert_eq!(n(Ipv4, "192.0.2.9/32"), (Ipv4, "192.0.2.9".into()));
        assert_eq!(n(Cidr, "2001:db8::1/128"), (Ipv6, "2001:db8::1".into()));
        assert_eq!(
            n(Cidr, "2001:db8:ffff::1/32"),
            (Cidr, "2001:db8::/32".into())
        );
        assert_eq!(n(Cidr, "::ffff:10.9.0.0/104"), (Cidr, "10.0.0.0/8".into()));
        assert_eq!(n(Cidr, "0.0.0.0/0"), (Cidr, "0.0.0.0/0".into()));
        assert!(normalise(Cidr, "10.0.0.0/33").is_err());
        assert!(normalise(Cidr, "10.0.0.0").is_err());
    }

    #[test]
    fn domains() {
        use IndicatorKind::*;
        assert_eq!(n(Domain, "Evil.Example."), (Domain, "evil.example".into()));
        assert_eq!(
            n(Domain, "_dmarc.x-y.example"),
            (Domain, "_dmarc.x-y.example".into())
        );
        for bad in [
            "evil..example",
            "ev il.example",
            "*.evil.example",
            "é.example",
            "1.2.3.4",
            ".",
        ] {
            assert!(normalise(Domain, bad).is_err(), "{bad}");
        }
        assert!(matches!(
            normalise_domain("a.example").unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn urls() {
        use IndicatorKind::*;
        assert_eq!(
            n(Url, "HTTP://Evil.Example:80/Path?q=1#frag").1,
            "http://evil.example/Path?q=1"
        );
        assert_eq!(
            n(Url, "https://evil.example:443").1,
            "https://evil.example/"
        );
        assert_eq!(
            n(Url, "https://evil.example:8443/").1,
            "https://evil.example:8443/"
        );
        assert_eq!(n(Url, "evil.example/x").1, "http://evil.example/x");
        assert!(normalise(Url, "http://").is_err());
    }

    #[test]
    fn hashes() {
        use IndicatorKind::*;
        let up = "D41D8CD98F00B204E9800998ECF8427E";
        assert_eq!(n(Md5, up).1, up.to_ascii_lowercase());
        assert!(normalise(Md5, &up[..31]).is_err());
        assert!(normalise(Sha1, up).is_err());
        assert!(normalise(Sha256, &"g".repeat(64)).is_err());
        assert_eq!(IndicatorKind::infer(&"a".repeat(64)), Some(Sha256));
    }

    #[test]
    fn inference() {
        use IndicatorKind::*;
        assert_eq!(IndicatorKind::infer("10.0.0.0/8"), Some(Cidr));
        assert_eq!(IndicatorKind::infer("::ffff:1.2.3.4"), Some(Ipv4));
        assert_eq!(IndicatorKind::infer("https://x.example/"), Some(Url));
        assert_eq!(IndicatorKind::infer("x.example"), Some(Domain));
        assert_eq!(IndicatorKind::infer("not a value"), None);
    }
}
