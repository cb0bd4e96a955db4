//! Vulnerability scanner report importers (issue 6, item 1): turn the reports of network,
//! container, web and code scanners — and a CSV template for findings people record — into
//! yunshou's findings model ([`ReportedFinding`], [`ScannedTarget`]).
//!
//! | format | [`Format`] | notes |
//! |---|---|---|
//! | OpenVAS / Greenbone XML | `openvas-xml` | GMP `<report>` export |
//! | OpenVAS / Greenbone CSV | `openvas-csv` | "CSV Results" export |
//! | Nessus | `nessus` | `.nessus` v2 (`NessusClientData_v2`) |
//! | Qualys | `qualys-xml` | asset data report (`ASSET_DATA_REPORT`) |
//! | Nexpose / InsightVM | `nexpose-xml` | XML export 2.0 (`NexposeReport`) |
//! | nmap | `nmap-xml` | `-oX`, including the `vulners` script |
//! | masscan | `masscan-json` | `-oJ` |
//! | Trivy | `trivy-json` | legacy (array) and schema 2 |
//! | Nuclei | `nuclei-json` | JSONL (`-jsonl`) or a JSON array (`-je`) |
//! | SARIF | `sarif` | 2.1.0, any tool |
//! | Wazuh | `wazuh-json` | 4.8+ vulnerability index (`wazuh-states-vulnerabilities-*`) |
//! | manual findings | `template-csv` | see `docs/findings-import.md` |
//!
//! ## Streaming, and all or nothing
//!
//! [`parse`] hands every item to a sink as soon as it is complete, in file order. The XML
//! formats are read with quick-xml's pull parser over the caller's `BufRead`: memory stays
//! flat however large the file (a 100,000-item `.nessus` file holds one host and one item at
//! a time). Qualys and Nexpose put their vulnerability glossary *after* the hosts, so their
//! host results are held — compactly, without the glossary text — until it arrives.
//! The JSON formats other than Nuclei's JSONL are small and read whole with typed serde
//! structs.
//!
//! A file that cannot be read as a whole — malformed or truncated, the wrong format, a
//! finding without a target, a value outside its range — is a [`ParseError::Invalid`] naming
//! the position and the reason. Items may already have gone to the sink by then: the caller
//! writes them inside one transaction and rolls it back, so nothing is half-imported.
//!
//! ## Targets
//!
//! Every finding names the asset it was found on as the report does: IP address, host name,
//! CPE, container image (Trivy) or repository (SARIF). Findings of network scanners without
//! any of these are rejected. Trivy reports of a file system, legacy Trivy reports and SARIF
//! logs without `versionControlProvenance` do not name their asset: their targets (and the
//! one [`ReportItem::Scanned`] per artifact or run) are anonymous and the caller assigns the
//! asset the user chose for the upload.
//!
//! [`ReportItem::Scanned`] is sent for every host, image or repository the report says it
//! covered, with findings or not: the scope in which a re-import closes findings that are no
//! longer reported. Hosts a scanner found down are left out of that scope.

mod emit;
mod fields;
mod formats;
mod sniff;
mod xml;

use std::fmt;
use std::io::BufRead;

pub use sniff::sniff;
pub use yunshou_model::finding::{
    Package, ReportItem, ReportedFinding, ScannedTarget, Severity, Target,
};

/// Every supported report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// OpenVAS / Greenbone XML report (GMP export).
    OpenvasXml,
    /// OpenVAS / Greenbone CSV results export.
    OpenvasCsv,
    /// Nessus `.nessus` (v2) file.
    Nessus,
    /// Qualys asset data report XML.
    QualysXml,
    /// Nexpose / InsightVM XML export 2.0.
    NexposeXml,
    /// nmap XML output (`-oX`), with the vulners script's output.
    NmapXml,
    /// masscan JSON output (`-oJ`).
    MasscanJson,
    /// Trivy JSON, legacy array or schema 2.
    TrivyJson,
    /// Nuclei JSON lines or JSON array.
    NucleiJson,
    /// SARIF 2.1.0 log.
    Sarif,
    /// Wazuh vulnerability index documents (4.8+).
    WazuhJson,
    /// yunshou's CSV template for manual findings.
    Template,
}

impl Format {
    /// Every format, in the order of [`Format::as_str`]'s list.
    pub const ALL: [Format; 12] = [
        Format::OpenvasXml,
        Format::OpenvasCsv,
        Format::Nessus,
        Format::QualysXml,
        Format::NexposeXml,
        Format::NmapXml,
        Format::MasscanJson,
        Format::TrivyJson,
        Format::NucleiJson,
        Format::Sarif,
        Format::WazuhJson,
        Format::Template,
    ];

    /// The stable name (API parameter, stored with an import).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::OpenvasXml => "openvas-xml",
            Format::OpenvasCsv => "openvas-csv",
            Format::Nessus => "nessus",
            Format::QualysXml => "qualys-xml",
            Format::NexposeXml => "nexpose-xml",
            Format::NmapXml => "nmap-xml",
            Format::MasscanJson => "masscan-json",
            Format::TrivyJson => "trivy-json",
            Format::NucleiJson => "nuclei-json",
            Format::Sarif => "sarif",
            Format::WazuhJson => "wazuh-json",
            Format::Template => "template-csv",
        }
    }

    /// Parses a name of [`Format::as_str`] (case-insensitive).
    pub fn parse(name: &str) -> Option<Format> {
        let name = name.trim();
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(name))
    }

    /// The [`ReportedFinding::source`] of findings from this format. SARIF findings carry the
    /// lower-cased tool name of their run instead, when the log names it.
    pub fn source(self) -> &'static str {
        match self {
            Format::OpenvasXml | Format::OpenvasCsv => "openvas",
            Format::Nessus => "nessus",
            Format::QualysXml => "qualys",
            Format::NexposeXml => "nexpose",
            Format::NmapXml => "nmap",
            Format::MasscanJson => "masscan",
            Format::TrivyJson => "trivy",
            Format::NucleiJson => "nuclei",
            Format::Sarif => "sarif",
            Format::WazuhJson => "wazuh",
            Format::Template => "manual",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a parse did, besides the items it sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Findings sent.
    pub findings: u64,
    /// Distinct scanned targets sent.
    pub targets: u64,
    /// Items deliberately left out, with why; equal reasons are counted, not repeated, and
    /// the list is bounded (its last line says how many more there were).
    pub skipped: Vec<String>,
    /// When the scan ran (RFC 3339 UTC), if the report says.
    pub scanned_at: Option<String>,
}

/// Why a parse stopped.
#[derive(Debug, thiserror::Error)]
pub enum ParseError<E> {
    /// The file cannot be imported; nothing of it should be kept.
    #[error("not a valid {format} report ({position}): {reason}")]
    Invalid {
        /// The format the file was read as.
        format: Format,
        /// Where: `line 12`, `byte 4031 in NessusClientData_v2/Report/ReportHost`,
        /// `Results[3].Vulnerabilities[7]`.
        position: String,
        /// What is wrong.
        reason: String,
    },
    /// The sink refused an item.
    #[error("import stopped: {0}")]
    Sink(E),
}

impl<E> ParseError<E> {
    pub(crate) fn invalid(
        format: Format,
        position: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        ParseError::Invalid {
            format,
            position: position.into(),
            reason: reason.into(),
        }
    }
}

/// Streams a report: calls `sink` for every item in file order. Errors from `sink` stop the
/// parse and come back as [`ParseError::Sink`].
pub fn parse<E>(
    format: Format,
    input: &mut dyn BufRead,
    sink: &mut dyn FnMut(ReportItem) -> Result<(), E>,
) -> Result<Summary, ParseError<E>> {
    let mut out = emit::Out::new(format, sink);
    // Windows tools (Excel, PowerShell's Out-File) start UTF-8 files with a byte order mark.
    if input
        .fill_buf()
        .map_err(|e| out.invalid("byte 0", format!("cannot read the file: {e}")))?
        .starts_with(b"\xef\xbb\xbf")
    {
        input.consume(3);
    }
    match format {
        Format::OpenvasXml => formats::openvas_xml::parse(input, &mut out)?,
        Format::OpenvasCsv => formats::openvas_csv::parse(input, &mut out)?,
        Format::Nessus => formats::nessus::parse(input, &mut out)?,
        Format::QualysXml => formats::qualys::parse(input, &mut out)?,
        Format::NexposeXml => formats::nexpose::parse(input, &mut out)?,
        Format::NmapXml => formats::nmap::parse(input, &mut out)?,
        Format::MasscanJson => formats::masscan::parse(input, &mut out)?,
        Format::TrivyJson => formats::trivy::parse(input, &mut out)?,
        Format::NucleiJson => formats::nuclei::parse(input, &mut out)?,
        Format::Sarif => formats::sarif::parse(input, &mut out)?,
        Format::WazuhJson => formats::wazuh::parse(input, &mut out)?,
        Format::Template => formats::template::parse(input, &mut out)?,
    }
    Ok(out.finish())
}

/// [`parse`] into memory: every item and the summary. For tests and small files; the server
/// streams.
pub fn parse_all(
    format: Format,
    input: &mut dyn BufRead,
) -> Result<(Vec<ReportItem>, Summary), ParseError<std::convert::Infallible>> {
    let mut items = Vec::new();
    let summary = parse(format, input, &mut |item| {
        items.push(item);
        Ok(())
    })?;
    Ok((items, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
        assert_eq!(Format::parse("NESSUS"), Some(Format::Nessus));
        assert_eq!(Format::parse("docx"), None);
        assert_eq!(Format::Template.source(), "manual");
    }

    #[test]
    fn errors_say_where_and_why() {
        let e: ParseError<String> = ParseError::invalid(Format::Nessus, "byte 7", "truncated");
        assert_eq!(
            e.to_string(),
            "not a valid nessus report (byte 7): truncated"
        );
        let e: ParseError<String> = ParseError::Sink("disk full".into());
        assert_eq!(e.to_string(), "import stopped: disk full");
    }
}
