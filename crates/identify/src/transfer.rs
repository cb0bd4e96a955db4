//! The ledger's exchange formats (I.1 item 7): CSV and JSON, both ways.
//!
//! Parsing never stops at the first bad row: it returns every valid row *and* a report of
//! every invalid one (`row`, `field`, `reason`), so the caller can refuse the whole file or
//! import the valid rows and list the skipped ones. Problems with the file itself (not UTF-8,
//! unknown or missing columns, not a JSON array) reject the whole file.
//!
//! The CSV column set is documented in `docs/asset-import.md`. Cells holding lists join their
//! items with `;`; structured items (ports, controls, supply chain) separate their parts with
//! `/` or `:`. A backslash escapes a separator (`\;`, `\:`, `\/`, `\\`), so any value survives
//! export → import unchanged.

use serde::{Deserialize, Serialize};
use std::io::Write;
use utoipa::ToSchema;
use yunshou_model::asset::{
    AssetFields, Control, Exposure, Fingerprint, Lifecycle, Port, Sensitivity, SupplyChainEntry,
    TlsCertificate,
};

/// The CSV columns, in the order export writes them. Import accepts them in any order.
pub const CSV_COLUMNS: [&str; 30] = [
    "name",
    "kind",
    "lifecycle",
    "ips",
    "domains",
    "ports",
    "os",
    "middleware",
    "applications",
    "tech_stack",
    "zone",
    "data_center",
    "cloud_account",
    "confidentiality",
    "integrity",
    "availability",
    "sensitivity",
    "controls",
    "owner",
    "department",
    "business_system",
    "business_type",
    "business_importance",
    "supply_chain",
    "banners",
    "tls_subject",
    "tls_issuer",
    "tls_not_after",
    "cpe",
    "hashes",
];

/// States an asset may be imported in: an import records what exists, so it may be planned,
/// being onboarded, in service (when already under management) or already decommissioned.
/// Mirrors the rule `Store::import_assets` enforces.
pub const IMPORTABLE_STATES: [Lifecycle; 4] = [
    Lifecycle::Planned,
    Lifecycle::Onboarding,
    Lifecycle::InService,
    Lifecycle::Decommissioned,
];

/// File formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values, one header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

impl Format {
    /// Parses `csv` or `json`.
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// The stable name (also the file extension).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    /// Guesses the format from the content: a JSON file starts with `[` (after an optional
    /// BOM and white space); anything else is taken for CSV.
    pub fn sniff(data: &[u8]) -> Format {
        let data = data.strip_prefix(BOM).unwrap_or(data);
        match data.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => Format::Json,
            _ => Format::Csv,
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One problem in one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    /// CSV: the row as a spreadsheet shows it (the header is row 1, the first asset row 2).
    /// JSON: the index in the array (from 0).
    pub row: usize,
    /// The column (CSV) or field path (JSON), e.g. `ports`, `ips[1]`, `owner`.
    pub field: String,
    /// Why the value was refused.
    pub reason: String,
}

/// A problem with the file as a whole; nothing in it is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

/// One valid row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// Row number, as in [`RowError::row`].
    pub row: usize,
    /// The validated, normalised fields.
    pub fields: AssetFields,
    /// The state to import it in.
    pub lifecycle: Lifecycle,
}

/// The result of parsing a file: every valid row and every problem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Valid rows, in file order.
    pub rows: Vec<ImportRow>,
    /// Problems, in file order; a row may have more than one.
    pub errors: Vec<RowError>,
}

impl Parsed {
    /// Distinct row numbers with problems, in order.
    pub fn invalid_rows(&self) -> Vec<usize> {
        let mut rows: Vec<usize> = self.errors.iter().map(|e| e.row).collect();
        rows.dedup();
        rows
    }
}

/// Parses a file of the given format (see [`parse_csv`], [`parse_json`]).
pub fn parse(format: Format, data: &[u8]) -> Result<Parsed, FileError> {
    match format {
        Format::Csv => parse_csv(data),
        Format::Json => parse_json(data),
    }
}

fn utf8(data: &[u8]) -> Result<&str, FileError> {
    let data = data.strip_prefix(BOM).unwrap_or(data);
    std::str::from_utf8(data).map_err(|e| {
        let line = data[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        FileError(format!(
            "file: not UTF-8 text (line {line}); save it as UTF-8 (Excel: “CSV UTF-8”) / 文件不是 UTF-8 编码，请另存为 UTF-8（Excel 选 “CSV UTF-8”）"
        ))
    })
}

/// Lifecycle rules for an imported row (see [`IMPORTABLE_STATES`]); an asset imported in
/// service must already have an owner and a valuation.
fn check_lifecycle(fields: &AssetFields, lifecycle: Lifecycle) -> Option<(String, String)> {
    if !IMPORTABLE_STATES.contains(&lifecycle) {
        return Some((
            "lifecycle".into(),
            format!(
                "`{}`: an imported asset is planned, onboarding, in_service or decommissioned",
                lifecycle.as_str()
            ),
        ));
    }
    if lifecycle.in_use() {
        if let Some(e) = fields.missing_for_service() {
            return Some((e.field, e.reason));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// CSV

/// Splits `s` on unescaped `sep`; a backslash escapes the next character (only `\`, `;`,
/// `:` and `/` are escapes — any other backslash is kept, so a Windows path typed by hand
/// survives). Items are trimmed; empty items are dropped when `drop_empty`.
fn split_escaped(s: &str, sep: char, drop_empty: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some(&n) if matches!(n, '\\' | ';' | ':' | '/') => {
                    cur.push(n);
                    chars.next();
                }
                _ => cur.push('\\'),
            }
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !drop_empty || !s.is_empty())
        .collect()
}

/// Splits a structured item (`443/tcp/https/internet`, `waf:name:date`) into at most `n`
/// parts on unescaped `sep`, resolving escapes.
fn parts(item: &str, sep: char, n: usize) -> Vec<String> {
    let mut p = split_escaped(item, sep, false);
    if p.len() > n {
        // More separators than parts: the surplus belongs to the last part (a name or
        // contact with a `:` that was not escaped).
        let tail = p.split_off(n - 1).join(&sep.to_string());
        p.push(tail);
    }
    p
}

fn escape(v: &str, seps: &[char]) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if c == '\\' || seps.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Spreadsheets run a cell starting with `=`, `+`, `-` or `@` as a formula; export quotes such
/// cells with a leading `'` (and a cell starting with `'`, so the rule can be undone), and
/// import removes it again.
fn defuse(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']) {
        format!("'{cell}")
    } else {
        cell
    }
}

fn undefuse(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']) => rest,
        _ => cell,
    }
}

struct RowParser<'a> {
    row: usize,
    errors: &'a mut Vec<RowError>,
}

impl RowParser<'_> {
    fn fail(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(RowError {
            row: self.row,
            field: field.into(),
            reason: reason.into(),
        });
    }

    fn rating(&mut self, field: &str, v: &str) -> Option<u8> {
        if v.is_empty() {
            return None;
        }
        match v.parse::<u8>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.fail(field, format!("`{v}` is not a number 1–5"));
                None
            }
        }
    }

    fn sensitivity(&mut self, v: &str) -> Option<Sensitivity> {
        match v.to_ascii_lowercase().as_str() {
            "" => None,
            "high" | "高" => Some(Sensitivity::High),
            "medium" | "中" => Some(Sensitivity::Medium),
            "low" | "低" => Some(Sensitivity::Low),
            _ => {
                self.fail("sensitivity", format!("`{v}` must be high, medium or low"));
                None
            }
        }
    }

    fn ports(&mut self, v: &str) -> Vec<Port> {
        let mut out = Vec::new();
        for (i, item) in split_escaped_raw(v).iter().enumerate() {
            let p = parts(item, '/', 4);
            let field = format!("ports[{i}]");
            let Ok(port) = p[0].parse::<u16>() else {
                self.fail(
                    field,
                    format!("`{item}`: expected port/protocol/service/exposure, e.g. 443/tcp/https/internet; `{}` is not a port 1–65535", p[0]),
                );
                continue;
            };
            let protocol = p.get(1).filter(|s| !s.is_empty()).cloned();
            let service = p.get(2).filter(|s| !s.is_empty()).cloned();
            let exposure = match p.get(3).map(|s| s.to_ascii_lowercase()).as_deref() {
                None | Some("") | Some("internal") => Exposure::Internal,
                Some("internet") => Exposure::Internet,
                Some(other) => {
                    self.fail(
                        field,
                        format!("`{item}`: exposure `{other}` must be internet or internal"),
                    );
                    continue;
                }
            };
            out.push(Port {
                port,
                protocol: protocol.unwrap_or_else(|| "tcp".into()),
                service,
                exposure,
            });
        }
        out
    }

    fn controls(&mut self, v: &str) -> Vec<Control> {
        split_escaped_raw(v)
            .into_iter()
            .map(|item| {
                let p = parts(&item, ':', 3);
                Control {
                    kind: p[0].clone(),
                    name: p.get(1).filter(|s| !s.is_empty()).cloned(),
                    verified_on: p.get(2).filter(|s| !s.is_empty()).cloned(),
                }
            })
            .collect()
    }

    fn supply_chain(&mut self, v: &str) -> Vec<SupplyChainEntry> {
        split_escaped_raw(v)
            .into_iter()
            .map(|item| {
                let p = parts(&item, ':', 3);
                SupplyChainEntry {
                    role: p[0].clone(),
                    name: p.get(1).cloned().unwrap_or_default(),
                    contact: p.get(2).filter(|s| !s.is_empty()).cloned(),
                }
            })
            .collect()
    }
}

/// Splits a list cell on unescaped `;` but keeps the other escapes, for items that are split
/// again into parts.
fn split_escaped_raw(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(';') => cur.push(';'),
                Some(n) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => cur.push('\\'),
            },
            ';' => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Maps a validation field path onto the CSV column a spreadsheet user sees.
fn csv_field(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("fingerprint.tls.") {
        return format!("tls_{rest}");
    }
    field
        .strip_prefix("fingerprint.")
        .unwrap_or(field)
        .to_string()
}

/// Parses a CSV file: UTF-8 with an optional BOM, one header row naming columns of
/// [`CSV_COLUMNS`] in any order (`name` and `kind` are required; missing optional columns are
/// empty). Rows whose cells are all empty are skipped (spreadsheets export them).
pub fn parse_csv(data: &[u8]) -> Result<Parsed, FileError> {
    let text = utf8(data)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| FileError(format!("header: {e}")))?
        .clone();
    let mut index: Vec<Option<usize>> = vec![None; CSV_COLUMNS.len()];
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim();
        if h.is_empty() && headers.iter().skip(i).all(|h| h.trim().is_empty()) {
            break; // trailing empty header cells, as spreadsheets write them
        }
        let Some(col) = CSV_COLUMNS.iter().position(|c| *c == h) else {
            return Err(FileError(format!(
                "header: unknown column `{h}` (column {}); known columns: {} / 表头含未知列",
                i + 1,
                CSV_COLUMNS.join(", ")
            )));
        };
        if index[col].is_some() {
            return Err(FileError(format!(
                "header: column `{h}` appears twice / 表头列重复"
            )));
        }
        index[col] = Some(i);
    }
    for required in ["name", "kind"] {
        let col = CSV_COLUMNS.iter().position(|c| *c == required).unwrap();
        if index[col].is_none() {
            return Err(FileError(format!(
                "header: the column `{required}` is required / 缺少必需列 {required}"
            )));
        }
    }
    let width = headers.len();
    let mut parsed = Parsed::default();
    for (n, record) in reader.records().enumerate() {
        let row = n + 2;
        let record = record.map_err(|e| FileError(format!("row {row}: {e}")))?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if record.len() > width && record.iter().skip(width).any(|c| !c.trim().is_empty()) {
            parsed.errors.push(RowError {
                row,
                field: "row".into(),
                reason: format!("has {} cells; the header has {width} columns", record.len()),
            });
            continue;
        }
        let cell = |name: &str| -> &str {
            let col = CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
            index[col]
                .and_then(|i| record.get(i))
                .map(|c| undefuse(c.trim()))
                .unwrap_or("")
        };
        let opt = |name: &str| -> Option<String> {
            Some(cell(name).to_string()).filter(|s| !s.is_empty())
        };
        let list = |name: &str| split_escaped(cell(name), ';', true);
        let before = parsed.errors.len();
        let mut p = RowParser {
            row,
            errors: &mut parsed.errors,
        };
        let lifecycle = match cell("lifecycle") {
            "" => Some(Lifecycle::Planned),
            s => Lifecycle::parse(&s.to_ascii_lowercase()).or_else(|| {
                p.fail(
                    "lifecycle",
                    format!(
                        "`{s}` is not a lifecycle state (planned, onboarding, in_service, decommissioned)"
                    ),
                );
                None
            }),
        };
        let tls = match (opt("tls_subject"), opt("tls_issuer"), opt("tls_not_after")) {
            (None, None, None) => None,
            (Some(subject), Some(issuer), Some(not_after)) => Some(TlsCertificate {
                subject,
                issuer,
                not_after,
            }),
            (s, i, a) => {
                let missing = [("tls_subject", s), ("tls_issuer", i), ("tls_not_after", a)]
                    .into_iter()
                    .find(|(_, v)| v.is_none())
                    .map(|(k, _)| k)
                    .unwrap_or("tls_subject");
                p.fail(
                    missing,
                    "a TLS certificate needs tls_subject, tls_issuer and tls_not_after",
                );
                None
            }
        };
        let mut fields = AssetFields {
            name: cell("name").to_string(),
            kind: cell("kind").to_string(),
            ips: list("ips"),
            domains: list("domains"),
            ports: p.ports(cell("ports")),
            os: opt("os"),
            middleware: list("middleware"),
            applications: list("applications"),
            tech_stack: list("tech_stack"),
            zone: opt("zone"),
            data_center: opt("data_center"),
            cloud_account: opt("cloud_account"),
            confidentiality: p.rating("confidentiality", cell("confidentiality")),
            integrity: p.rating("integrity", cell("integrity")),
            availability: p.rating("availability", cell("availability")),
            sensitivity: p.sensitivity(cell("sensitivity")),
            controls: p.controls(cell("controls")),
            owner: opt("owner"),
            department: opt("department"),
            business_system: opt("business_system"),
            business_type: opt("business_type"),
            business_importance: p.rating("business_importance", cell("business_importance")),
            supply_chain: p.supply_chain(cell("supply_chain")),
            fingerprint: Fingerprint {
                banners: list("banners"),
                tls,
                cpe: list("cpe"),
                hashes: list("hashes"),
            },
        };
        if parsed.errors.len() > before {
            continue;
        }
        let mut p = RowParser {
            row,
            errors: &mut parsed.errors,
        };
        if let Err(e) = fields.validate() {
            p.fail(csv_field(&e.field), e.reason);
            continue;
        }
        let lifecycle = lifecycle.expect("no lifecycle error");
        if let Some((field, reason)) = check_lifecycle(&fields, lifecycle) {
            p.fail(csv_field(&field), reason);
            continue;
        }
        parsed.rows.push(ImportRow {
            row,
            fields,
            lifecycle,
        });
    }
    Ok(parsed)
}

/// The CSV cells of one asset, in [`CSV_COLUMNS`] order.
pub fn csv_record(f: &AssetFields, lifecycle: Lifecycle) -> Vec<String> {
    let list = |v: &[String]| {
        v.iter()
            .map(|s| escape(s, &[';']))
            .collect::<Vec<_>>()
            .join(";")
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: Option<u8>| v.map(|n| n.to_string()).unwrap_or_default();
    let ports = f
        .ports
        .iter()
        .map(|p| {
            format!(
                "{}/{}/{}/{}",
                p.port,
                escape(&p.protocol, &['/', ';']),
                escape(p.service.as_deref().unwrap_or(""), &['/', ';']),
                match p.exposure {
                    Exposure::Internet => "internet",
                    Exposure::Internal => "internal",
                }
            )
        })
        .collect::<Vec<_>>()
        .join(";");
    let colon = |parts: [&str; 3]| {
        parts
            .iter()
            .map(|s| escape(s, &[':', ';']))
            .collect::<Vec<_>>()
            .join(":")
    };
    let controls = f
        .controls
        .iter()
        .map(|c| {
            colon([
                &c.kind,
                c.name.as_deref().unwrap_or(""),
                c.verified_on.as_deref().unwrap_or(""),
            ])
        })
        .collect::<Vec<_>>()
        .join(";");
    let supply = f
        .supply_chain
        .iter()
        .map(|s| colon([&s.role, &s.name, s.contact.as_deref().unwrap_or("")]))
        .collect::<Vec<_>>()
        .join(";");
    let sensitivity = f
        .sensitivity
        .map(|s| match s {
            Sensitivity::High => "high",
            Sensitivity::Medium => "medium",
            Sensitivity::Low => "low",
        })
        .unwrap_or("")
        .to_string();
    let tls = f.fingerprint.tls.as_ref();
    let cells = [
        f.name.clone(),
        f.kind.clone(),
        lifecycle.as_str().to_string(),
        list(&f.ips),
        list(&f.domains),
        ports,
        opt(&f.os),
        list(&f.middleware),
        list(&f.applications),
        list(&f.tech_stack),
        opt(&f.zone),
        opt(&f.data_center),
        opt(&f.cloud_account),
        num(f.confidentiality),
        num(f.integrity),
        num(f.availability),
        sensitivity,
        controls,
        opt(&f.owner),
        opt(&f.department),
        opt(&f.business_system),
        opt(&f.business_type),
        num(f.business_importance),
        supply,
        list(&f.fingerprint.banners),
        tls.map(|t| t.subject.clone()).unwrap_or_default(),
        tls.map(|t| t.issuer.clone()).unwrap_or_default(),
        tls.map(|t| t.not_after.clone()).unwrap_or_default(),
        list(&f.fingerprint.cpe),
        list(&f.fingerprint.hashes),
    ];
    cells.into_iter().map(defuse).collect()
}

/// Writes assets as CSV, a batch at a time (exports page through the ledger).
pub struct CsvWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    /// Starts the file: a UTF-8 BOM (so Excel reads the Chinese text right) and the header.
    pub fn new(mut w: W) -> std::io::Result<CsvWriter<W>> {
        w.write_all(BOM)?;
        let mut inner = csv::Writer::from_writer(w);
        inner
            .write_record(CSV_COLUMNS)
            .map_err(std::io::Error::other)?;
        Ok(CsvWriter { inner })
    }

    /// Writes one asset.
    pub fn write(&mut self, fields: &AssetFields, lifecycle: Lifecycle) -> std::io::Result<()> {
        self.inner
            .write_record(csv_record(fields, lifecycle))
            .map_err(std::io::Error::other)
    }

    /// Flushes and returns the writer.
    pub fn finish(self) -> std::io::Result<W> {
        self.inner
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

// ---------------------------------------------------------------------------------------
// JSON

/// One asset as exchanged in JSON: its fields plus `lifecycle`.
#[derive(Serialize)]
struct JsonAsset<'a> {
    #[serde(flatten)]
    fields: &'a AssetFields,
    lifecycle: Lifecycle,
}

/// Writes assets as a JSON array, a batch at a time.
pub struct JsonWriter<W: Write> {
    inner: W,
    first: bool,
}

impl<W: Write> JsonWriter<W> {
    /// Starts the array.
    pub fn new(mut w: W) -> std::io::Result<JsonWriter<W>> {
        w.write_all(b"[")?;
        Ok(JsonWriter {
            inner: w,
            first: true,
        })
    }

    /// Writes one asset (one object per line, so diffs and `grep` work on exports).
    pub fn write(&mut self, fields: &AssetFields, lifecycle: Lifecycle) -> std::io::Result<()> {
        self.inner
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut self.inner, &JsonAsset { fields, lifecycle })?;
        Ok(())
    }

    /// Closes the array and returns the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.inner.write_all(b"\n]\n")?;
        Ok(self.inner)
    }
}

/// The field a serde error is about: the path, or for an unknown field its name.
fn json_field(path: &str, message: &str) -> String {
    if path == "." || path.is_empty() {
        if let Some(rest) = message.strip_prefix("unknown field `") {
            if let Some(name) = rest.split('`').next() {
                return name.to_string();
            }
        }
        if let Some(rest) = message.strip_prefix("missing field `") {
            if let Some(name) = rest.split('`').next() {
                return name.to_string();
            }
        }
        return "object".into();
    }
    path.to_string()
}

/// Parses a JSON file: an array of objects, each an asset's fields (as in the API) plus an
/// optional `lifecycle` (default `planned`). Unknown fields are refused, naming the field.
pub fn parse_json(data: &[u8]) -> Result<Parsed, FileError> {
    let text = utf8(data)?;
    let items: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| FileError(format!("file: expected a JSON array of assets: {e}")))?;
    let mut parsed = Parsed::default();
    for (row, mut item) in items.into_iter().enumerate() {
        let fail = |parsed: &mut Parsed, field: String, reason: String| {
            parsed.errors.push(RowError { row, field, reason });
        };
        let Some(obj) = item.as_object_mut() else {
            fail(
                &mut parsed,
                "object".into(),
                "expected a JSON object".into(),
            );
            continue;
        };
        let lifecycle = match obj.remove("lifecycle") {
            None | Some(serde_json::Value::Null) => Lifecycle::Planned,
            Some(v) => match v.as_str().and_then(Lifecycle::parse) {
                Some(l) => l,
                None => {
                    fail(
                        &mut parsed,
                        "lifecycle".into(),
                        format!("{v} is not a lifecycle state"),
                    );
                    continue;
                }
            },
        };
        let mut fields: AssetFields = match serde_path_to_error::deserialize(item) {
            Ok(f) => f,
            Err(e) => {
                let path = e.path().to_string();
                let message = e.inner().to_string();
                fail(&mut parsed, json_field(&path, &message), message);
                continue;
            }
        };
        if let Err(e) = fields.validate() {
            fail(&mut parsed, e.field, e.reason);
            continue;
        }
        if let Some((field, reason)) = check_lifecycle(&fields, lifecycle) {
            fail(&mut parsed, field, reason);
            continue;
        }
        parsed.rows.push(ImportRow {
            row,
            fields,
            lifecycle,
        });
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "name,kind,lifecycle,ips,ports,middleware,owner,confidentiality,integrity,availability,controls,supply_chain";

    fn full() -> AssetFields {
        AssetFields {
            name: "=政务服务网门户; web-01".into(),
            kind: "host".into(),
            ips: vec!["10.20.1.11".into(), "2001:db8::1".into()],
            domains: vec!["www.zwfw.example.gov.cn".into()],
            ports: vec![
                Port {
                    port: 443,
                    protocol: "tcp".into(),
                    service: Some("https/2".into()),
                    exposure: Exposure::Internet,
                },
                Port {
                    port: 53,
                    protocol: "udp".into(),
                    service: None,
                    exposure: Exposure::Internal,
                },
            ],
            os: Some("麒麟 V10".into()),
            middleware: vec!["nginx 1.24".into(), "a;b\\c".into()],
            applications: vec!["一网通办".into()],
            tech_stack: vec!["Java".into(), "Vue".into()],
            zone: Some("互联网区".into()),
            data_center: Some("济南一号机房".into()),
            cloud_account: Some("acct-01".into()),
            confidentiality: Some(3),
            integrity: Some(4),
            availability: Some(5),
            sensitivity: Some(Sensitivity::High),
            controls: vec![
                Control {
                    kind: "waf".into(),
                    name: Some("长亭:雷池".into()),
                    verified_on: Some("2026-10-01".into()),
                },
                Control {
                    kind: "backup".into(),
                    name: None,
                    verified_on: Some("2026-09-30".into()),
                },
            ],
            owner: Some("张伟".into()),
            department: Some("信息中心".into()),
            business_system: Some("一网通办".into()),
            business_type: Some("政务服务".into()),
            business_importance: Some(5),
            supply_chain: vec![
                SupplyChainEntry {
                    role: "vendor".into(),
                    name: "华为".into(),
                    contact: Some("张工 138-0000".into()),
                },
                SupplyChainEntry {
                    role: "maintainer".into(),
                    name: "某公司".into(),
                    contact: None,
                },
            ],
            fingerprint: Fingerprint {
                banners: vec!["Server: nginx; x".into()],
                tls: Some(TlsCertificate {
                    subject: "CN=www.zwfw.example.gov.cn, O=政务".into(),
                    issuer: "CN=Example CA".into(),
                    not_after: "2027-01-31".into(),
                }),
                cpe: vec!["cpe:2.3:a:f5:nginx:1.24:*:*:*:*:*:*:*".into()],
                hashes: vec!["sm3:abcd".into()],
            },
        }
    }

    fn export_csv(items: &[(AssetFields, Lifecycle)]) -> Vec<u8> {
        let mut w = CsvWriter::new(Vec::new()).unwrap();
        for (f, l) in items {
            w.write(f, *l).unwrap();
        }
        w.finish().unwrap()
    }

    fn export_json(items: &[(AssetFields, Lifecycle)]) -> Vec<u8> {
        let mut w = JsonWriter::new(Vec::new()).unwrap();
        for (f, l) in items {
            w.write(f, *l).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn csv_and_json_round_trip_every_attribute() {
        let mut a = full();
        a.validate().unwrap();
        let b = AssetFields {
            name: "-minimal".into(),
            kind: "database".into(),
            ..Default::default()
        };
        let items = vec![
            (a, Lifecycle::InService),
            (b, Lifecycle::Planned),
            (
                AssetFields {
                    name: "'quoted".into(),
                    kind: "vm".into(),
                    ..Default::default()
                },
                Lifecycle::Decommissioned,
            ),
        ];
        for (format, data) in [
            (Format::Csv, export_csv(&items)),
            (Format::Json, export_json(&items)),
        ] {
            assert_eq!(Format::sniff(&data), format);
            let parsed = parse(format, &data).unwrap();
            assert_eq!(parsed.errors, vec![], "{format:?}");
            let back: Vec<(AssetFields, Lifecycle)> = parsed
                .rows
                .into_iter()
                .map(|r| (r.fields, r.lifecycle))
                .collect();
            assert_eq!(back, items, "{format:?}");
        }
    }

    #[test]
    fn csv_export_defuses_formulas() {
        let data = export_csv(&[(full(), Lifecycle::Planned)]);
        let text = String::from_utf8(data).unwrap();
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains("'=政务服务网门户"), "{text}");
    }

    #[test]
    fn csv_reports_every_bad_row_with_spreadsheet_numbers() {
        let csv = format!(
            "\u{feff}{HEADER}\n\
             good-1,host,,10.0.0.1,443/tcp/https/internet;22,nginx,,,,,waf:长亭雷池:2026-10-01;backup::2026-09-30,vendor:华为:张工\n\
             bad-ip,host,,10.0.0.300,,,,,,,,\n\
             ,,,,,,,,,,,\n\
             bad-port,host,,,99999/tcp,,,,,,,\n\
             bad-service,host,in_service,,,,,3,3,3,,\n\
             bad-rating,host,,,,,,x,9x,,,\n\
             good-2,vm,onboarding,\"10.0.0.2; 10.0.0.3\",,,,,,,,\n"
        );
        let parsed = parse_csv(csv.as_bytes()).unwrap();
        let names: Vec<&str> = parsed.rows.iter().map(|r| r.fields.name.as_str()).collect();
        assert_eq!(names, ["good-1", "good-2"]);
        assert_eq!(parsed.rows[0].row, 2);
        assert_eq!(parsed.rows[1].row, 8);
        let g = &parsed.rows[0].fields;
        assert_eq!(g.ports.len(), 2);
        assert_eq!(g.ports[0].service.as_deref(), Some("https"));
        assert_eq!(g.ports[0].exposure, Exposure::Internet);
        assert_eq!(g.ports[1].port, 22);
        assert_eq!(g.ports[1].protocol, "tcp");
        assert_eq!(g.controls[0].name.as_deref(), Some("长亭雷池"));
        assert_eq!(g.controls[1].name, None);
        assert_eq!(g.controls[1].verified_on.as_deref(), Some("2026-09-30"));
        assert_eq!(g.supply_chain[0].contact.as_deref(), Some("张工"));
        assert_eq!(parsed.rows[1].fields.ips, ["10.0.0.2", "10.0.0.3"]);
        let report: Vec<(usize, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.row, e.field.as_str()))
            .collect();
        assert_eq!(
            report,
            [
                (3, "ips[0]"),
                (5, "ports[0]"),
                (6, "owner"),
                (7, "confidentiality"),
                (7, "integrity"),
            ]
        );
        assert_eq!(parsed.invalid_rows(), [3, 5, 6, 7]);
        assert!(parsed.errors[0].reason.contains("10.0.0.300"));
    }

    #[test]
    fn csv_file_level_problems_reject_the_file() {
        let e = parse_csv(b"name,kind,colour\nx,host,red\n").unwrap_err();
        assert!(e.0.contains("unknown column `colour`"), "{e}");
        let e = parse_csv(b"name,ips\nx,10.0.0.1\n").unwrap_err();
        assert!(e.0.contains("`kind`"), "{e}");
        let e = parse_csv(b"name,kind,name\nx,host,y\n").unwrap_err();
        assert!(e.0.contains("twice"), "{e}");
        let e = parse_csv(b"name,kind\n\xd5\xfe\xb8\xae,host\n").unwrap_err();
        assert!(e.0.contains("not UTF-8 text (line 2)"), "{e}");
    }

    #[test]
    fn csv_header_order_is_free_and_columns_optional() {
        let parsed = parse_csv("kind,owner,name,,\nhost,李娜,社保核心库,,\n".as_bytes()).unwrap();
        assert_eq!(parsed.errors, vec![]);
        let f = &parsed.rows[0].fields;
        assert_eq!(
            (f.name.as_str(), f.owner.as_deref()),
            ("社保核心库", Some("李娜"))
        );
        assert_eq!(parsed.rows[0].lifecycle, Lifecycle::Planned);
        let parsed = parse_csv(b"name,kind\nx,host,extra\n").unwrap();
        assert_eq!(parsed.errors[0].field, "row");
    }

    #[test]
    fn csv_lifecycle_and_tls_rules() {
        let parsed = parse_csv(
            b"name,kind,lifecycle,tls_subject,tls_not_after\n\
              a,host,disposed,,\n\
              b,host,retired,,\n\
              c,host,,CN=x,2026-01-01\n\
              d,host,,,2026-13-01\n",
        )
        .unwrap();
        let report: Vec<(usize, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.row, e.field.as_str()))
            .collect();
        assert_eq!(
            report,
            [
                (2, "lifecycle"),
                (3, "lifecycle"),
                (4, "tls_issuer"),
                (5, "tls_subject")
            ]
        );
        let parsed = parse_csv(
            b"name,kind,tls_subject,tls_issuer,tls_not_after\nd,host,CN=x,CN=y,2026-13-01\n",
        )
        .unwrap();
        assert_eq!(parsed.errors[0].field, "tls_not_after");
    }

    #[test]
    fn json_reports_by_index_and_names_the_field() {
        let json = br#"[
            {"name": "ok", "kind": "host", "lifecycle": "onboarding"},
            {"name": "bad", "kind": "host", "colour": "red"},
            {"name": "bad-port", "kind": "host", "ports": [{"port": "x"}]},
            {"name": "svc", "kind": "host", "lifecycle": "in_service", "owner": "zhang.wei"},
            {"name": "state", "kind": "host", "lifecycle": "nope"},
            7
        ]"#;
        let parsed = parse_json(json).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].lifecycle, Lifecycle::Onboarding);
        let report: Vec<(usize, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.row, e.field.as_str()))
            .collect();
        assert_eq!(
            report,
            [
                (1, "colour"),
                (2, "ports[0].port"),
                (3, "confidentiality"),
                (4, "lifecycle"),
                (5, "object")
            ]
        );
        assert!(parse_json(br#"{"name": "x"}"#).is_err());
    }

    #[test]
    fn the_documented_examples_import() {
        let doc = include_str!("../../../docs/asset-import.md");
        let block = |fence: &str| {
            let start = doc.find(fence).expect("example in the doc") + fence.len();
            &doc[start..start + doc[start..].find("```").unwrap()]
        };
        let csv = parse_csv(block("```csv\n").as_bytes()).unwrap();
        assert_eq!(csv.errors, vec![]);
        assert_eq!(csv.rows.len(), 3);
        assert_eq!(csv.rows[0].fields.controls.len(), 2);
        let json = parse_json(block("```json\n").as_bytes()).unwrap();
        assert_eq!(json.errors, vec![]);
        assert_eq!(json.rows.len(), 2);
        // The column table documents every column.
        for c in CSV_COLUMNS {
            assert!(doc.contains(&format!("| `{c}` |")), "{c} undocumented");
        }
    }

    #[test]
    fn escapes_split_and_join() {
        assert_eq!(
            split_escaped(r"a\;b; c ;;d\\", ';', true),
            ["a;b", "c", r"d\"]
        );
        assert_eq!(split_escaped(r"C:\temp", ';', true), [r"C:\temp"]);
        assert_eq!(parts("vendor:a:b:c", ':', 3), ["vendor", "a", "b:c"]);
        assert_eq!(undefuse("'=1"), "=1");
        assert_eq!(undefuse("'abc"), "'abc");
        assert_eq!(defuse("'abc".into()), "''abc");
        assert_eq!(undefuse("''abc"), "'abc");
    }
}
