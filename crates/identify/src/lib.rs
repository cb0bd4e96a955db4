//! The identify stage (clauses I.1–I.3) as pure logic: what the asset ledger decides, drawn
//! apart from where it is stored (`yunshou-store`) and how it is served (`yunshou-server`).
//!
//! - [`assessment`]: a reported finding's ratings and risk on its asset, with every step kept (I.3.b);
//! - [`change_rules`]: which asset changes raise change alerts or need approval (I.1.d);
//! - [`cvss`]: CVSS v3.0/v3.1 and v4.0 vectors parsed and scored by our own calculators (I.3.b);
//! - [`graph`]: the relations graph, laid out and drawn as SVG (I.1.b);
//! - [`risk`]: GB/T 20984-2022 risk (matrix and multiplication methods, editable tables),
//!   threat frequency from observed occurrences (I.2.e) and each finding's risk (I.3.b);
//! - [`transfer`]: the ledger's import and export formats, CSV and JSON (I.1 item 7);
//! - [`vuln_grade`]: GB/T 30279-2020 grades and GB/T 20984 severity and exploitability levels
//!   beside CVSS (I.3.b).

pub mod assessment;
pub mod change_rules;
pub mod cvss;
pub mod graph;
pub mod risk;
pub mod transfer;
pub mod vuln_grade;
