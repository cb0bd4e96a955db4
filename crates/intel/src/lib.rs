//! Threat intelligence for yunshou (spec clause MO.1.b): import indicator
//! feeds, hold them compactly, and match events against them.
//!
//! * **Import** — [`import`] reads STIX 2.1 bundles, MISP event JSON, MISP
//!   attribute CSV and plain CSV ([`detect_format`] tells them apart). A file
//!   that cannot be read as a whole is an [`ImportError`] and nothing is
//!   taken; every bad entry inside a readable file is listed in
//!   [`ImportReport::rejected`] with its line or object id.
//! * **Normalise** — every value is compared in one canonical form
//!   ([`normalise`]): IPv4-mapped IPv6 folded to IPv4, networks with host
//!   bits cleared, lower-case domains without the trailing dot, URLs per
//!   WHATWG with default port and fragment dropped, lower-case hex hashes.
//! * **Look up** — [`IndicatorSet`] stores each key once in a flat vector or
//!   byte arena and indexes it with a hash table of 4-byte key numbers
//!   (FxHash). Metadata (source, confidence, validity, labels, description) is
//!   interned: entries that say the same thing share one record, so a million
//!   indicators cost tens of megabytes, not hundreds.
//!
//! ## Why per-prefix-length tables for CIDR
//!
//! A network `n/len` contains `ip` exactly when `ip` masked to `len` bits
//! equals `n`. With one hash table per prefix length *present in the data*,
//! an address lookup is one hash probe per distinct length — real feeds use a
//! handful (/24, /16, /32 folded to exact addresses) — with no tree walk and
//! no pointer chasing, and every matching network (not only the longest) is
//! found, longest first, so a hit names each source.
//!
//! ## Why suffix probing for domains
//!
//! A domain indicator covers its subdomains. Probing the name and then each
//! parent (`a.b.evil.example` → `b.evil.example` → `evil.example` →
//! `example`) costs one hash probe per label, cuts only at dots (so
//! `notevil.example` can never reach `evil.example`), and needs no reversed
//! trie beside the exact table.
//!
//! ## Events
//!
//! [`IndicatorSet::match_event`] walks a yunshou ECS event once (nested or
//! dotted field names) and returns [`Hit`]s; [`Hit::to_enrichment`] and
//! [`IndicatorSet::enrich_event`] render them as ECS `threat.enrichments`.

mod builder;
mod csv;
mod enrich;
mod import;
mod indicator;
mod keys;
mod misp;
mod observe;
mod set;
mod stix;
mod stix_pattern;
mod view;

pub use builder::IndicatorSetBuilder;
pub use enrich::confidence_text;
pub use import::{detect_format, import, Format, ImportError, ImportReport, Rejected, Skipped};
pub use indicator::{
    fold_ip, normalise, normalise_domain, normalise_url, parse_cidr, parse_ip, Indicator,
    IndicatorKind,
};
pub use observe::Hit;
pub use set::{IndicatorId, IndicatorSet, Observable, TableId};
pub use view::IndicatorRef;
