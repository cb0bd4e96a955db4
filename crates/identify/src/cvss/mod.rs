//! CVSS vectors scored by our own calculators (I.3.b): v3.0 and v3.1 ([`v3`]) and v4.0
//! ([`v4`]). Scanners hand us vectors with scores of their own; we score the vector ourselves so
//! that every finding's score follows one set of rules, and so that temporal and environmental
//! metrics the operator adds are reflected.
//!
//! A vector is `CVSS:<version>/<metric>:<value>/…`. Parsing is strict about what the
//! specifications forbid — an unknown metric or value, a metric given twice, a base metric
//! missing — because a silently mis-read vector would give a wrong score that looks right.
//! Metrics may come in any order (v3.x allows it; for v4.0 we accept it too, since scanners
//! reorder, and [`std::fmt::Display`] writes the specification's order). A value of `X` (not
//! defined) is the same as leaving the metric out.

pub mod v3;
pub mod v4;
mod v4_table;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use yunshou_model::finding::Severity;

pub use v3::Cvss3;
pub use v4::Cvss4;

/// Why a vector was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    /// Nothing to parse.
    #[error("empty CVSS vector")]
    Empty,
    /// The vector does not start with `CVSS:<version>/`.
    #[error("not a CVSS vector: `{0}` is not a `CVSS:3.0`, `CVSS:3.1` or `CVSS:4.0` prefix")]
    Prefix(String),
    /// A version this calculator does not score (v2 vectors have no prefix and are not scored).
    #[error("unsupported CVSS version `{0}` (3.0, 3.1 and 4.0 are scored)")]
    UnsupportedVersion(String),
    /// A part that is not `NAME:VALUE`.
    #[error("malformed metric `{0}`: expected NAME:VALUE between slashes")]
    Malformed(String),
    /// A metric the version does not define.
    #[error("unknown metric `{metric}` for CVSS {version}")]
    UnknownMetric {
        /// The metric name as given.
        metric: String,
        /// The vector's version.
        version: String,
    },
    /// A value the metric does not allow.
    #[error("metric {metric}: `{value}` is not one of {allowed}")]
    UnknownValue {
        /// The metric.
        metric: String,
        /// The value as given.
        value: String,
        /// The allowed values, comma-separated.
        allowed: String,
    },
    /// The same metric twice: the specifications forbid it, and which one counts is a guess.
    #[error("metric {0} is given more than once")]
    Duplicate(String),
    /// Base metrics are mandatory.
    #[error("mandatory base metric(s) missing: {0}")]
    MissingBase(String),
}

/// A metric value that has a one-letter (or one-word) code in vector strings.
pub trait MetricValue: Copy + Sized {
    /// Every code, in the specification's order.
    const CODES: &'static [&'static str];
    /// The code in vector strings (`N`, `H`, …).
    fn code(self) -> &'static str;
    /// The value for a code.
    fn from_code(code: &str) -> Option<Self>;
}

/// Declares an enum of metric values with their codes.
macro_rules! metric_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $crate::cvss::MetricValue for $name {
            const CODES: &'static [&'static str] = &[$($code),+];
            fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }
    };
}
pub(crate) use metric_enum;

metric_enum! {
    /// Attack Vector (AV, MAV): how remote the attacker can be.
    AttackVector {
        /// Network.
        Network = "N",
        /// Adjacent network.
        Adjacent = "A",
        /// Local.
        Local = "L",
        /// Physical.
        Physical = "P",
    }
}

metric_enum! {
    /// Attack Complexity (AC, MAC): conditions beyond the attacker's control.
    AttackComplexity {
        /// Low.
        Low = "L",
        /// High.
        High = "H",
    }
}

metric_enum! {
    /// Privileges Required (PR, MPR).
    PrivilegesRequired {
        /// None.
        None = "N",
        /// Low.
        Low = "L",
        /// High.
        High = "H",
    }
}

metric_enum! {
    /// Impact on confidentiality, integrity or availability (v3 C/I/A, v4 VC/VI/VA/SC/SI/SA
    /// and their modified forms).
    Impact {
        /// High.
        High = "H",
        /// Low.
        Low = "L",
        /// None.
        None = "N",
    }
}

metric_enum! {
    /// Security requirement (CR, IR, AR): how much the deployment cares about C, I or A.
    Requirement {
        /// High.
        High = "H",
        /// Medium.
        Medium = "M",
        /// Low.
        Low = "L",
    }
}

/// One metric a version defines: its name, allowed values and whether it is a mandatory base
/// metric. Optional metrics also accept `X` (not defined).
pub(crate) struct MetricDef {
    pub key: &'static str,
    pub values: &'static [&'static str],
    pub base: bool,
}

/// The metrics of a parsed vector, `X` values left out; names and values are the definitions'
/// static strings, so the result does not borrow the input.
pub(crate) struct Metrics(Vec<(&'static str, &'static str)>);

impl Metrics {
    /// The value of a metric, typed.
    pub fn get<T: MetricValue>(&self, key: &str) -> Option<T> {
        self.raw(key).and_then(T::from_code)
    }

    /// The value of a metric as its code.
    pub fn raw(&self, key: &str) -> Option<&'static str> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// Splits `CVSS:<version>/<rest>` into the version and the rest.
pub(crate) fn split_prefix(vector: &str) -> Result<(&str, &str), CvssError> {
    let vector = vector.trim();
    if vector.is_empty() {
        return Err(CvssError::Empty);
    }
    let (prefix, rest) = vector.split_once('/').unwrap_or((vector, ""));
    let version = prefix
        .strip_prefix("CVSS:")
        .ok_or_else(|| CvssError::Prefix(prefix.to_string()))?;
    Ok((version, rest))
}

/// Parses the metrics after the prefix against a version's definitions.
pub(crate) fn parse_metrics(
    version: &str,
    body: &str,
    defs: &[MetricDef],
) -> Result<Metrics, CvssError> {
    let mut seen: Vec<&'static str> = Vec::new();
    let mut out = Vec::new();
    // An empty body still reports the missing base metrics below.
    if !body.is_empty() {
        for part in body.split('/') {
            let (key, value) = part
                .split_once(':')
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .ok_or_else(|| CvssError::Malformed(part.to_string()))?;
            let def =
                defs.iter()
                    .find(|d| d.key == key)
                    .ok_or_else(|| CvssError::UnknownMetric {
                        metric: key.to_string(),
                        version: version.to_string(),
                    })?;
            if seen.contains(&def.key) {
                return Err(CvssError::Duplicate(def.key.to_string()));
            }
            seen.push(def.key);
            if !def.base && value == "X" {
                continue;
            }
            let value = def.values.iter().find(|v| **v == value).ok_or_else(|| {
                let mut allowed = def.values.join(", ");
                if !def.base {
                    allowed.push_str(", X");
                }
                CvssError::UnknownValue {
                    metric: def.key.to_string(),
                    value: value.to_string(),
                    allowed,
                }
            })?;
            out.push((def.key, *value));
        }
    }
    let missing: Vec<&str> = defs
        .iter()
        .filter(|d| d.base && !seen.contains(&d.key))
        .map(|d| d.key)
        .collect();
    if !missing.is_empty() {
        return Err(CvssError::MissingBase(missing.join(", ")));
    }
    Ok(Metrics(out))
}

/// Writes `/KEY:code` for a present metric.
pub(crate) fn write_metric<T: MetricValue>(
    f: &mut fmt::Formatter<'_>,
    key: &str,
    value: Option<T>,
) -> fmt::Result {
    match value {
        Some(v) => write!(f, "/{key}:{}", v.code()),
        None => Ok(()),
    }
}

/// A scored CVSS vector of either supported generation.
#[derive(Debug, Clone, PartialEq)]
pub enum Cvss {
    /// CVSS v3.0 or v3.1.
    V3(Cvss3),
    /// CVSS v4.0.
    V4(Cvss4),
}

impl Cvss {
    /// Parses a vector, choosing the calculator by its `CVSS:<version>/` prefix.
    pub fn parse(vector: &str) -> Result<Cvss, CvssError> {
        let (version, _) = split_prefix(vector)?;
        match version {
            "3.0" | "3.1" => Cvss3::parse(vector).map(Cvss::V3),
            "4.0" => Cvss4::parse(vector).map(Cvss::V4),
            other => Err(CvssError::UnsupportedVersion(other.to_string())),
        }
    }

    /// The most specific score the vector supports: v3 environmental, else temporal, else
    /// base; v4's single score (CVSS-B, -BT, -BE or -BTE).
    pub fn score(&self) -> f64 {
        match self {
            Cvss::V3(c) => c.score(),
            Cvss::V4(c) => c.score(),
        }
    }

    /// The qualitative rating of [`Cvss::score`].
    pub fn severity(&self) -> Severity {
        Severity::from_cvss(self.score())
    }

    /// `3.0`, `3.1` or `4.0`.
    pub fn version(&self) -> &'static str {
        match self {
            Cvss::V3(c) => c.version(),
            Cvss::V4(_) => "4.0",
        }
    }
}

impl FromStr for Cvss {
    type Err = CvssError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cvss::parse(s)
    }
}

impl fmt::Display for Cvss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cvss::V3(c) => c.fmt(f),
            Cvss::V4(c) => c.fmt(f),
        }
    }
}
