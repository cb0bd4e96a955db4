//! The asset ledger's model (clause I.1): attributes in four groups, lifecycle, valuation per
//! GB/T 20984-2022 and protection priority. Plain data and pure rules; no I/O.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use utoipa::ToSchema;

/// Asset kinds the console offers; any other `[a-z0-9_-]` name is a user-defined kind.
pub const KNOWN_KINDS: [&str; 11] = [
    "host",
    "vm",
    "container",
    "network_device",
    "security_device",
    "database",
    "middleware",
    "application",
    "domain",
    "public_ip",
    "cloud_service",
];

/// Where an asset is in its life (I.1.a, I.1.e).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// Known, not yet being set up.
    Planned,
    /// Being set up and brought under management.
    Onboarding,
    /// In use.
    InService,
    /// In use, under an approved change.
    Changing,
    /// Handed to another owner or organisation; the record stays.
    Transferred,
    /// Taken out of use.
    Decommissioned,
    /// Destroyed or disposed of; the record stays.
    Disposed,
}

impl Lifecycle {
    /// Every state, in lifecycle order.
    pub const ALL: [Lifecycle; 7] = [
        Lifecycle::Planned,
        Lifecycle::Onboarding,
        Lifecycle::InService,
        Lifecycle::Changing,
        Lifecycle::Transferred,
        Lifecycle::Decommissioned,
        Lifecycle::Disposed,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Planned => "planned",
            Lifecycle::Onboarding => "onboarding",
            Lifecycle::InService => "in_service",
            Lifecycle::Changing => "changing",
            Lifecycle::Transferred => "transferred",
            Lifecycle::Decommissioned => "decommissioned",
            Lifecycle::Disposed => "disposed",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Lifecycle> {
        Lifecycle::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The states reachable from this one.
    pub fn next_states(self) -> &'static [Lifecycle] {
        use Lifecycle::*;
        match self {
            Planned => &[Onboarding, Disposed],
            Onboarding => &[InService, Planned, Decommissioned],
            InService => &[Changing, Transferred, Decommissioned],
            Changing => &[InService, Decommissioned],
            Transferred => &[Onboarding, Disposed],
            Decommissioned => &[Onboarding, Transferred, Disposed],
            Disposed => &[],
        }
    }

    /// True for states in which the asset is in use and must be under management.
    pub fn in_use(self) -> bool {
        matches!(self, Lifecycle::InService | Lifecycle::Changing)
    }
}

/// Data sensitivity (the specification's high / medium / low).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// 高
    High,
    /// 中
    Medium,
    /// 低
    Low,
}

/// Whether a port is reachable from the internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// Reachable from the internet.
    Internet,
    /// Reachable only inside the organisation's networks.
    Internal,
}

/// An open port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Port {
    /// 1–65535.
    pub port: u16,
    /// `tcp` or `udp`.
    #[serde(default = "tcp")]
    pub protocol: String,
    /// Service name, e.g. `https`, `mysql`.
    #[serde(default)]
    pub service: Option<String>,
    /// Internet-facing or internal.
    #[serde(default = "internal")]
    pub exposure: Exposure,
}

fn tcp() -> String {
    "tcp".into()
}
fn internal() -> Exposure {
    Exposure::Internal
}

/// A security control that protects the asset (I.1.c), and when it was last verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// Kind, e.g. `waf`, `ids`, `host_agent`, `backup`, `firewall`, `encryption`.
    pub kind: String,
    /// Product or description.
    #[serde(default)]
    pub name: Option<String>,
    /// Date of the last check that it works (`YYYY-MM-DD`).
    #[serde(default)]
    pub verified_on: Option<String>,
}

/// A party in the asset's supply chain (I.1.a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplyChainEntry {
    /// `vendor`, `supplier`, `maintainer`, `integrator` or another role.
    pub role: String,
    /// Organisation.
    pub name: String,
    /// Contact person or channel.
    #[serde(default)]
    pub contact: Option<String>,
}

/// A TLS certificate seen on the asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsCertificate {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Expiry (`YYYY-MM-DD`).
    pub not_after: String,
}

/// Fingerprint attributes (I.1.b).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fingerprint {
    /// Service banners.
    #[serde(default)]
    pub banners: Vec<String>,
    /// TLS certificate.
    #[serde(default)]
    pub tls: Option<TlsCertificate>,
    /// Product and version as CPE 2.3 names.
    #[serde(default)]
    pub cpe: Vec<String>,
    /// File or image hashes (`sha256:…`, `sm3:…`).
    #[serde(default)]
    pub hashes: Vec<String>,
}

/// Everything an operator sets on an asset. Computed values (value, priority) are not here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetFields {
    // Basic attributes.
    /// Name.
    pub name: String,
    /// Kind: one of [`KNOWN_KINDS`] or a user-defined `[a-z0-9_-]` name.
    pub kind: String,
    /// IPv4 / IPv6 addresses.
    #[serde(default)]
    pub ips: Vec<String>,
    /// Domain names.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Open ports.
    #[serde(default)]
    pub ports: Vec<Port>,
    /// Operating system.
    #[serde(default)]
    pub os: Option<String>,
    /// Middleware (e.g. `nginx 1.24`, `Tomcat 9`).
    #[serde(default)]
    pub middleware: Vec<String>,
    /// Applications.
    #[serde(default)]
    pub applications: Vec<String>,
    /// Technical stack (e.g. `Java`, `Spring Boot`, `Vue`).
    #[serde(default)]
    pub tech_stack: Vec<String>,
    /// Network zone (e.g. 互联网区, 政务外网区, 核心数据区).
    #[serde(default)]
    pub zone: Option<String>,
    /// Region or data centre.
    #[serde(default)]
    pub data_center: Option<String>,
    /// Cloud account or tenant at the cloud provider.
    #[serde(default)]
    pub cloud_account: Option<String>,
    // Security attributes.
    /// Confidentiality 1–5 (unset until the asset is valued).
    #[serde(default)]
    pub confidentiality: Option<u8>,
    /// Integrity 1–5.
    #[serde(default)]
    pub integrity: Option<u8>,
    /// Availability 1–5.
    #[serde(default)]
    pub availability: Option<u8>,
    /// Data sensitivity.
    #[serde(default)]
    pub sensitivity: Option<Sensitivity>,
    /// Controls that protect it.
    #[serde(default)]
    pub controls: Vec<Control>,
    // Management attributes.
    /// Accountable owner (a person).
    #[serde(default)]
    pub owner: Option<String>,
    /// Department.
    #[serde(default)]
    pub department: Option<String>,
    /// Business system it supports.
    #[serde(default)]
    pub business_system: Option<String>,
    /// Business type (user-defined list).
    #[serde(default)]
    pub business_type: Option<String>,
    /// Importance of the business it supports, 1–5.
    #[serde(default)]
    pub business_importance: Option<u8>,
    /// Supply chain.
    #[serde(default)]
    pub supply_chain: Vec<SupplyChainEntry>,
    // Fingerprint attributes.
    /// Fingerprint.
    #[serde(default)]
    pub fingerprint: Fingerprint,
}

/// A stored asset: the fields plus what the ledger computes and tracks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Asset {
    /// Identifier.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Lifecycle state.
    pub lifecycle: Lifecycle,
    /// The operator's fields.
    #[serde(flatten)]
    pub fields: AssetFields,
    /// Asset value 1–5 (see [`asset_value`]); `None` until confidentiality, integrity and
    /// availability are all rated.
    pub value: Option<u8>,
    /// True when any port is internet-facing or the kind is `public_ip` / `domain`.
    pub internet_facing: bool,
    /// Protection priority (see [`priority`]).
    pub priority: Priority,
    /// Note recorded at transfer or disposal.
    pub risk_note: Option<String>,
    /// Revision, +1 per change (for optimistic concurrency).
    pub revision: i64,
    /// Created, RFC 3339.
    pub created_at: String,
    /// Last changed, RFC 3339.
    pub updated_at: String,
}

/// The value computed from confidentiality, integrity and availability (GB/T 20984, the
/// annex's weighted-exponent method): `round(log2((2^C + 2^I + 2^A) / 3))`, 1–5. A high
/// rating dominates, as the standard intends: (5, 1, 1) gives 4, not the mean 2.3.
pub fn cia_value(c: u8, i: u8, a: u8) -> u8 {
    let sum = (1u32 << c) + (1u32 << i) + (1u32 << a);
    let v = (sum as f64 / 3.0).log2().round();
    v.clamp(1.0, 5.0) as u8
}

/// The asset's value: its CIA value, raised to the importance of the business it supports
/// (GB/T 20984-2022 values system assets by the business they carry).
pub fn asset_value(c: u8, i: u8, a: u8, business_importance: Option<u8>) -> u8 {
    cia_value(c, i, a).max(business_importance.unwrap_or(1))
}

/// Protection priority (I.1.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Priority {
    /// `value × importance × exposure`, where exposure is 2 for internet-facing assets and 1
    /// otherwise: 1–50.
    pub score: u8,
    /// P1 (score ≥ 30), P2 (≥ 15), P3 (≥ 6), P4.
    pub level: u8,
}

/// Computes the protection priority from asset value, business importance and exposure.
pub fn priority(value: u8, business_importance: Option<u8>, internet_facing: bool) -> Priority {
    let score = value * business_importance.unwrap_or(1) * if internet_facing { 2 } else { 1 };
    let level = match score {
        30.. => 1,
        15..=29 => 2,
        6..=14 => 3,
        _ => 4,
    };
    Priority { score, level }
}

/// Why asset input was refused; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The field.
    pub field: String,
    /// Why.
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The key an IP address is stored and range-searched by: 32 hex digits of its IPv6 form
/// (IPv4 as `::ffff:a.b.c.d`), so a CIDR block is a text range in every SQL engine.
pub fn ip_key(ip: IpAddr) -> String {
    let v6 = match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    format!("{:032x}", u128::from(v6))
}

/// The `[low, high]` key range of an address or CIDR block (`10.0.0.0/8`, `2001:db8::/32`).
pub fn cidr_range(text: &str) -> Result<(String, String), FieldError> {
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (text, None),
    };
    let ip: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| err("ip", format!("`{text}` is not an IP address or CIDR block")))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits: u32 = match bits {
        Some(b) => b
            .parse()
            .ok()
            .filter(|b| *b <= max)
            .ok_or_else(|| err("ip", format!("`{text}`: prefix must be 0–{max}")))?,
        None => max,
    };
    let offset = if ip.is_ipv4() { 96 } else { 0 };
    let key = u128::from_str_radix(&ip_key(ip), 16).expect("32 hex digits");
    let host_bits = 128 - offset - bits;
    let mask = if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    let low = key & !mask;
    let high = key | mask;
    Ok((format!("{low:032x}"), format!("{high:032x}")))
}

fn check_text(field: &str, v: &str, max: usize) -> Result<(), FieldError> {
    if v.trim().is_empty() {
        return Err(err(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(err(field, format!("at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(err(field, "control characters are not allowed"));
    }
    Ok(())
}

fn check_rating(field: &str, v: Option<u8>) -> Result<(), FieldError> {
    if v.is_none_or(|v| (1..=5).contains(&v)) {
        Ok(())
    } else {
        Err(err(field, "must be 1–5"))
    }
}

fn check_date(field: &str, v: &str) -> Result<(), FieldError> {
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(|_| ())
        .map_err(|_| err(field, format!("`{v}` is not a date YYYY-MM-DD")))
}

/// A domain name: labels of letters, digits and hyphens (or xn-- punycode), optional `*.`.
fn check_domain(field: &str, d: &str) -> Result<(), FieldError> {
    let name = d.strip_prefix("*.").unwrap_or(d);
    let ok = name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(err(field, format!("`{d}` is not a domain name")))
    }
}

impl AssetFields {
    /// Checks every field and normalises what has one right form (trimmed text, lower-case
    /// domains, canonical IP text). Returns the first problem, naming the field.
    pub fn validate(&mut self) -> Result<(), FieldError> {
        self.name = self.name.trim().to_string();
        check_text("name", &self.name, 200)?;
        self.kind = self.kind.trim().to_string();
        let kind_ok = (1..=40).contains(&self.kind.len())
            && self
                .kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !kind_ok {
            return Err(err(
                "kind",
                "must be 1–40 of a-z, 0-9, '_', '-' (e.g. host, database, or your own kind)",
            ));
        }
        for (i, ip) in self.ips.iter_mut().enumerate() {
            let parsed: IpAddr = ip
                .trim()
                .parse()
                .map_err(|_| err(format!("ips[{i}]"), format!("`{ip}` is not an IP address")))?;
            *ip = parsed.to_string();
        }
        self.ips.dedup();
        for (i, d) in self.domains.iter_mut().enumerate() {
            *d = d.trim().trim_end_matches('.').to_ascii_lowercase();
            check_domain(&format!("domains[{i}]"), d)?;
        }
        for (i, p) in self.ports.iter_mut().enumerate() {
            if p.port == 0 {
                return Err(err(format!("ports[{i}].port"), "must be 1–65535"));
            }
            p.protocol = p.protocol.trim().to_ascii_lowercase();
            if p.protocol != "tcp" && p.protocol != "udp" {
                return Err(err(format!("ports[{i}].protocol"), "must be tcp or udp"));
            }
            if let Some(s) = &p.service {
                check_text(&format!("ports[{i}].service"), s, 60)?;
            }
        }
        for (field, list) in [
            ("middleware", &self.middleware),
            ("applications", &self.applications),
            ("tech_stack", &self.tech_stack),
        ] {
            for (i, v) in list.iter().enumerate() {
                check_text(&format!("{field}[{i}]"), v, 100)?;
            }
        }
        for (field, v) in [
            ("os", &self.os),
            ("zone", &self.zone),
            ("data_center", &self.data_center),
            ("cloud_account", &self.cloud_account),
            ("owner", &self.owner),
            ("department", &self.department),
            ("business_system", &self.business_system),
            ("business_type", &self.business_type),
        ] {
            if let Some(v) = v {
                check_text(field, v, 200)?;
            }
        }
        check_rating("confidentiality", self.confidentiality)?;
        check_rating("integrity", self.integrity)?;
        check_rating("availability", self.availability)?;
        check_rating("business_importance", self.business_importance)?;
        for (i, c) in self.controls.iter().enumerate() {
            check_text(&format!("controls[{i}].kind"), &c.kind, 40)?;
            if let Some(d) = &c.verified_on {
                check_date(&format!("controls[{i}].verified_on"), d)?;
            }
        }
        for (i, s) in self.supply_chain.iter().enumerate() {
            check_text(&format!("supply_chain[{i}].role"), &s.role, 40)?;
            check_text(&format!("supply_chain[{i}].name"), &s.name, 200)?;
        }
        if let Some(tls) = &self.fingerprint.tls {
            check_date("fingerprint.tls.not_after", &tls.not_after)?;
        }
        for (i, c) in self.fingerprint.cpe.iter().enumerate() {
            if !c.starts_with("cpe:2.3:") && !c.starts_with("cpe:/") {
                return Err(err(
                    format!("fingerprint.cpe[{i}]"),
                    "must be a CPE name (cpe:2.3:… or cpe:/…)",
                ));
            }
        }
        Ok(())
    }

    /// True when any port faces the internet, or the asset is itself a public address or domain.
    pub fn internet_facing(&self) -> bool {
        self.ports.iter().any(|p| p.exposure == Exposure::Internet)
            || matches!(self.kind.as_str(), "public_ip" | "domain")
    }

    /// The asset's value (see [`asset_value`]), once all three ratings are set.
    pub fn value(&self) -> Option<u8> {
        match (self.confidentiality, self.integrity, self.availability) {
            (Some(c), Some(i), Some(a)) => Some(asset_value(c, i, a, self.business_importance)),
            _ => None,
        }
    }

    /// The asset's protection priority (see [`priority`]); an asset not yet valued counts
    /// as value 1 until it is.
    pub fn priority(&self) -> Priority {
        priority(
            self.value().unwrap_or(1),
            self.business_importance,
            self.internet_facing(),
        )
    }

    /// Why the asset may not be in use yet: it must be brought under management first, with
    /// an accountable owner and a valuation (I.1.b).
    pub fn missing_for_service(&self) -> Option<FieldError> {
        if self.owner.is_none() {
            Some(err(
                "owner",
                "an asset needs an accountable owner before it goes into service",
            ))
        } else if self.value().is_none() {
            Some(err("confidentiality", "an asset needs confidentiality, integrity and availability ratings before it goes into service"))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cia_value_follows_the_weighted_exponent_formula() {
        assert_eq!(cia_value(1, 1, 1), 1);
        assert_eq!(cia_value(5, 5, 5), 5);
        assert_eq!(cia_value(3, 3, 3), 3);
        // (32 + 2 + 2) / 3 = 12 → log2 12 = 3.58 → 4: one high rating dominates.
        assert_eq!(cia_value(5, 1, 1), 4);
        // (8 + 16 + 4) / 3 = 9.33 → 3.22 → 3.
        assert_eq!(cia_value(3, 4, 2), 3);
        // (16 + 16 + 2) / 3 = 11.3 → 3.5 → 4 (round half away from zero).
        assert_eq!(cia_value(4, 4, 1), 4);
    }

    #[test]
    fn business_importance_raises_value_and_priority() {
        assert_eq!(asset_value(2, 2, 2, Some(5)), 5);
        assert_eq!(asset_value(5, 5, 5, Some(1)), 5);
        assert_eq!(
            priority(5, Some(5), true),
            Priority {
                score: 50,
                level: 1
            }
        );
        assert_eq!(
            priority(5, Some(3), false),
            Priority {
                score: 15,
                level: 2
            }
        );
        assert_eq!(priority(3, Some(2), false), Priority { score: 6, level: 3 });
        assert_eq!(priority(1, None, true), Priority { score: 2, level: 4 });
    }

    #[test]
    fn lifecycle_transitions() {
        assert!(Lifecycle::Planned
            .next_states()
            .contains(&Lifecycle::Onboarding));
        assert!(!Lifecycle::Planned
            .next_states()
            .contains(&Lifecycle::InService));
        assert!(Lifecycle::Disposed.next_states().is_empty());
        for l in Lifecycle::ALL {
            assert_eq!(Lifecycle::parse(l.as_str()), Some(l));
        }
    }

    #[test]
    fn cidr_ranges() {
        let (lo, hi) = cidr_range("10.0.0.0/8").unwrap();
        let key = |s: &str| ip_key(s.parse().unwrap());
        assert!(lo <= key("10.0.0.0") && key("10.255.255.255") <= hi);
        assert!(key("11.0.0.0") > hi && key("9.255.255.255") < lo);
        let (lo, hi) = cidr_range("192.168.1.7").unwrap();
        assert_eq!(lo, hi);
        let (lo, hi) = cidr_range("2001:db8::/32").unwrap();
        assert!(lo <= key("2001:db8:ffff::1") && key("2001:db8:ffff::1") <= hi);
        assert!(key("2001:db9::") > hi);
        assert!(
            key("::ffff:10.0.0.1") >= cidr_range("10.0.0.0/8").unwrap().0,
            "IPv4-mapped forms are one key"
        );
        let (lo, hi) = cidr_range("0.0.0.0/0").unwrap();
        assert!(lo <= key("255.255.255.255") && key("255.255.255.255") <= hi && key("::1") < lo);
        assert!(cidr_range("10.0.0.0/33").is_err());
        assert!(cidr_range("not-an-ip").is_err());
        assert_eq!(
            cidr_range("::/0").unwrap(),
            ("0".repeat(32), "f".repeat(32))
        );
    }

    fn fields() -> AssetFields {
        AssetFields {
            name: "政务服务网门户 web-01".into(),
            kind: "host".into(),
            confidentiality: Some(3),
            integrity: Some(4),
            availability: Some(4),
            ..Default::default()
        }
    }

    #[test]
    fn validation_names_the_field_and_normalises() {
        let mut f = fields();
        f.ips = vec![" 10.1.2.3 ".into(), "2001:DB8::1".into()];
        f.domains = vec!["WWW.Example.GOV.cn.".into()];
        f.validate().unwrap();
        assert_eq!(f.ips, vec!["10.1.2.3", "2001:db8::1"]);
        assert_eq!(f.domains, vec!["www.example.gov.cn"]);
        type Breaker = Box<dyn Fn(&mut AssetFields)>;
        let cases: Vec<(Breaker, &str)> = vec![
            (Box::new(|f| f.name = " ".into()), "name"),
            (Box::new(|f| f.kind = "Bad Kind".into()), "kind"),
            (Box::new(|f| f.ips = vec!["10.1.2.300".into()]), "ips[0]"),
            (
                Box::new(|f| f.domains = vec!["exa mple.com".into()]),
                "domains[0]",
            ),
            (
                Box::new(|f| {
                    f.ports = vec![Port {
                        port: 0,
                        protocol: "tcp".into(),
                        service: None,
                        exposure: Exposure::Internal,
                    }]
                }),
                "ports[0].port",
            ),
            (
                Box::new(|f| {
                    f.ports = vec![Port {
                        port: 53,
                        protocol: "icmp".into(),
                        service: None,
                        exposure: Exposure::Internal,
                    }]
                }),
                "ports[0].protocol",
            ),
            (Box::new(|f| f.confidentiality = Some(6)), "confidentiality"),
            (
                Box::new(|f| f.business_importance = Some(0)),
                "business_importance",
            ),
            (
                Box::new(|f| {
                    f.controls = vec![Control {
                        kind: "waf".into(),
                        name: None,
                        verified_on: Some("2026-13-01".into()),
                    }]
                }),
                "controls[0].verified_on",
            ),
            (
                Box::new(|f| f.fingerprint.cpe = vec!["nginx 1.24".into()]),
                "fingerprint.cpe[0]",
            ),
        ];
        for (break_it, field) in cases {
            let mut f = fields();
            break_it(&mut f);
            assert_eq!(f.validate().unwrap_err().field, field);
        }
    }
}
