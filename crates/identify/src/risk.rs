//! Risk computation after GB/T 20984-2022 (I.2, I.3.b): likelihood L = f(threat T,
//! vulnerability V), loss F = f(asset value A, V), risk R = f(L, F), then a level on the
//! standard's five-level scale (5 很高 … 1 很低).
//!
//! Two methods, both as the standard describes them:
//! - [`RiskMethod::Matrix`]: lookup tables (T, V) → L, (A, V) → F, (L, F) → R and bands R →
//!   level, held in [`RiskTables`] so that an organisation can store and edit its own (as JSON);
//! - [`RiskMethod::Multiplication`]: L = √(T × V), F = √(A × V), R = L × F (1–25), level =
//!   round(√R).
//!
//! Every result carries the table's name and the steps of its computation, so the operator sees
//! which table and which numbers gave a level (I.3.b: "formula documented and shown on each
//! finding").

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A language for labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// Chinese (the standard's terms).
    Zh,
    /// English.
    En,
}

/// The five-level scale's labels in Chinese, level 1 first (GB/T 20984-2022: 很低, 低, 中, 高,
/// 很高).
pub const LEVEL_LABELS_ZH: [&str; 5] = ["很低", "低", "中", "高", "很高"];
/// The five-level scale's labels in English, level 1 first.
pub const LEVEL_LABELS_EN: [&str; 5] = ["very low", "low", "medium", "high", "very high"];

/// The label of a level 1–5 on the five-level scale (risk, vulnerability severity, threat
/// frequency, asset value all use it). Levels outside 1–5 are clamped.
pub fn level_label(level: u8, lang: Lang) -> &'static str {
    let i = usize::from(level.clamp(1, 5) - 1);
    match lang {
        Lang::Zh => LEVEL_LABELS_ZH[i],
        Lang::En => LEVEL_LABELS_EN[i],
    }
}

/// Why an input or a table was refused; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RiskError {
    /// The input or table field.
    pub field: String,
    /// Why.
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> RiskError {
    RiskError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// How risk is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RiskMethod {
    /// Lookup tables ([`RiskTables`]).
    Matrix,
    /// L = √(T × V), F = √(A × V), R = L × F, level = round(√R).
    Multiplication,
}

impl RiskMethod {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskMethod::Matrix => "matrix",
            RiskMethod::Multiplication => "multiplication",
        }
    }
}

/// The tables of the matrix method. Rows and columns are levels 1–5, index 0 = level 1.
///
/// The shipped [`Default`] is our own design: GB/T 20984-2022 describes the matrix method and
/// gives worked tables in an informative annex, but the annex's tables could not be obtained,
/// so we ship sensible monotone tables, name them, show that name on every result, and let an
/// organisation replace them with its own. The defaults:
///
/// - likelihood (T, V) → L and loss (A, V) → F, the same symmetric table, close to
///   round(√(x × y)) so both methods mostly agree:
///
///   | T or A \ V | 1 | 2 | 3 | 4 | 5 |
///   |---|---|---|---|---|---|
///   | 1 | 1 | 1 | 2 | 2 | 3 |
///   | 2 | 1 | 2 | 2 | 3 | 3 |
///   | 3 | 2 | 2 | 3 | 3 | 4 |
///   | 4 | 2 | 3 | 3 | 4 | 5 |
///   | 5 | 3 | 3 | 4 | 5 | 5 |
///
/// - risk (L, F) → R = L × F (1–25);
/// - bands: R 1–2 → 1 很低, 3–6 → 2 低, 7–12 → 3 中, 13–20 → 4 高, 21–25 → 5 很高 — the
///   same cut points as the multiplication method's round(√R).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RiskTables {
    /// The tables' name, shown with every result computed from them.
    pub name: String,
    /// `likelihood[T-1][V-1]` = L, 1–5.
    pub likelihood: [[u8; 5]; 5],
    /// `loss[A-1][V-1]` = F, 1–5.
    pub loss: [[u8; 5]; 5],
    /// `risk[L-1][F-1]` = R, 1–25.
    pub risk: [[u8; 5]; 5],
    /// The lowest R of levels 2, 3, 4 and 5, strictly increasing; R below `bands[0]` is
    /// level 1.
    pub bands: [u8; 4],
}

/// The default likelihood and loss table (see [`RiskTables`]).
const DEFAULT_LEVEL_TABLE: [[u8; 5]; 5] = [
    [1, 1, 2, 2, 3],
    [1, 2, 2, 3, 3],
    [2, 2, 3, 3, 4],
    [2, 3, 3, 4, 5],
    [3, 3, 4, 5, 5],
];

impl Default for RiskTables {
    fn default() -> Self {
        let mut risk = [[0u8; 5]; 5];
        for (l, row) in (1u8..).zip(risk.iter_mut()) {
            for (f, cell) in (1u8..).zip(row.iter_mut()) {
                *cell = l * f;
            }
        }
        RiskTables {
            name: "yunshou-default-v1".to_string(),
            likelihood: DEFAULT_LEVEL_TABLE,
            loss: DEFAULT_LEVEL_TABLE,
            risk,
            bands: [3, 7, 13, 21],
        }
    }
}

impl RiskTables {
    /// Checks the tables: a name; L and F values 1–5, R values 1–25; every row and column
    /// non-decreasing (a worse threat, weakness or asset may never lower the result); bands
    /// strictly increasing within 2–25, so each level covers at least one R.
    pub fn validate(&self) -> Result<(), RiskError> {
        if self.name.trim().is_empty() {
            return Err(err("name", "the tables need a name to show with results"));
        }
        check_table("likelihood", ("T", "V"), &self.likelihood, 5)?;
        check_table("loss", ("A", "V"), &self.loss, 5)?;
        check_table("risk", ("L", "F"), &self.risk, 25)?;
        if self.bands[0] < 2 {
            return Err(err(
                "bands",
                format!(
                    "level 2 starts at R = {}: level 1 must cover at least R = 1",
                    self.bands[0]
                ),
            ));
        }
        if self.bands[3] > 25 {
            return Err(err(
                "bands",
                format!(
                    "level 5 starts at R = {}, above the largest R, 25",
                    self.bands[3]
                ),
            ));
        }
        for (i, pair) in self.bands.windows(2).enumerate() {
            if pair[0] >= pair[1] {
                return Err(err(
                    "bands",
                    format!(
                        "level {} starts at R = {} but level {} at R = {}: bands must increase \
                         strictly",
                        i + 2,
                        pair[0],
                        i + 3,
                        pair[1]
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The level 1–5 of a risk value R by the bands.
    pub fn level_from_value(&self, r: u8) -> u8 {
        1 + self.bands.iter().filter(|&&b| r >= b).count() as u8
    }

    /// The range of R of a level 1–5, for display (`7–12`).
    pub fn band_range(&self, level: u8) -> (u8, u8) {
        let level = usize::from(level.clamp(1, 5));
        let low = if level == 1 { 1 } else { self.bands[level - 2] };
        let high = if level == 5 {
            25
        } else {
            self.bands[level - 1] - 1
        };
        (low, high)
    }
}

/// Checks one 5×5 table: values in `1..=max`, non-decreasing along rows and columns.
fn check_table(
    name: &str,
    (row, col): (&str, &str),
    table: &[[u8; 5]; 5],
    max: u8,
) -> Result<(), RiskError> {
    for (r, cells) in table.iter().enumerate() {
        for (c, &v) in cells.iter().enumerate() {
            // Named only on failure: every assessment validates its tables.
            let at = || format!("{name}[{row}={}][{col}={}]", r + 1, c + 1);
            if !(1..=max).contains(&v) {
                return Err(err(at(), format!("{v} is outside 1–{max}")));
            }
            if c > 0 && v < cells[c - 1] {
                return Err(err(
                    at(),
                    format!(
                        "{v} is below {} at {col}={}: a higher {col} may not lower the result",
                        cells[c - 1],
                        c
                    ),
                ));
            }
            if r > 0 && v < table[r - 1][c] {
                return Err(err(
                    at(),
                    format!(
                        "{v} is below {} at {row}={}: a higher {row} may not lower the result",
                        table[r - 1][c],
                        r
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A computed risk, with what it was computed from and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RiskResult {
    /// Threat T, 1–5.
    pub threat: u8,
    /// Vulnerability V, 1–5.
    pub vulnerability: u8,
    /// Asset value A, 1–5.
    pub asset_value: u8,
    /// Likelihood L (1–5; two decimals with the multiplication method).
    pub likelihood: f64,
    /// Loss F (1–5; two decimals with the multiplication method).
    pub loss: f64,
    /// Risk value R, 1–25 (two decimals with the multiplication method).
    pub value: f64,
    /// Risk level 1–5 (5 很高).
    pub level: u8,
    /// The method used.
    pub method: RiskMethod,
    /// The tables' name (matrix) or `multiplication`.
    pub table: String,
    /// The computation, one human-readable step a line
    /// (`L = matrix_L(T=4, V=3) = 3`).
    pub steps: Vec<String>,
}

fn check_level(field: &str, v: u8) -> Result<(), RiskError> {
    if (1..=5).contains(&v) {
        Ok(())
    } else {
        Err(err(
            field,
            format!("{v} is outside the five-level scale 1–5"),
        ))
    }
}

/// Rounds to two decimals, as results are stored and shown.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Computes the risk of threat `threat` (T), vulnerability `vulnerability` (V) and asset value
/// `asset_value` (A), each 1–5. The matrix method first checks the tables
/// ([`RiskTables::validate`]).
pub fn assess(
    method: RiskMethod,
    tables: &RiskTables,
    threat: u8,
    vulnerability: u8,
    asset_value: u8,
) -> Result<RiskResult, RiskError> {
    check_level("threat", threat)?;
    check_level("vulnerability", vulnerability)?;
    check_level("asset_value", asset_value)?;
    let (t, v, a) = (threat, vulnerability, asset_value);
    let result = |likelihood, loss, value, level, table, steps| RiskResult {
        threat: t,
        vulnerability: v,
        asset_value: a,
        likelihood,
        loss,
        value,
        level,
        method,
        table,
        steps,
    };
    match method {
        RiskMethod::Matrix => {
            tables.validate()?;
            let l = tables.likelihood[usize::from(t - 1)][usize::from(v - 1)];
            let f = tables.loss[usize::from(a - 1)][usize::from(v - 1)];
            let r = tables.risk[usize::from(l - 1)][usize::from(f - 1)];
            let level = tables.level_from_value(r);
            let (low, high) = tables.band_range(level);
            let steps = vec![
                format!("L = matrix_L(T={t}, V={v}) = {l}"),
                format!("F = matrix_F(A={a}, V={v}) = {f}"),
                format!("R = matrix_R(L={l}, F={f}) = {r}"),
                format!(
                    "level = band(R={r}) = {level} ({}), R {low}–{high}",
                    level_label(level, Lang::Zh)
                ),
            ];
            Ok(result(
                f64::from(l),
                f64::from(f),
                f64::from(r),
                level,
                tables.name.clone(),
                steps,
            ))
        }
        RiskMethod::Multiplication => {
            let l = (f64::from(t) * f64::from(v)).sqrt();
            let f = (f64::from(a) * f64::from(v)).sqrt();
            let r = l * f;
            let root = r.sqrt();
            let level = (root.round() as u8).clamp(1, 5);
            let steps = vec![
                format!("L = √(T × V) = √({t} × {v}) = {l:.2}"),
                format!("F = √(A × V) = √({a} × {v}) = {f:.2}"),
                format!("R = L × F = {l:.2} × {f:.2} = {r:.2}"),
                format!(
                    "level = round(√R) = round({root:.2}) = {level} ({})",
                    level_label(level, Lang::Zh)
                ),
            ];
            Ok(result(
                round2(l),
                round2(f),
                round2(r),
                level,
                RiskMethod::Multiplication.as_str().to_string(),
                steps,
            ))
        }
    }
}

/// The threat frequency level 1–5 (GB/T 20984-2022's frequency table) from how often the threat
/// occurred over a window — for I.2.e, the platform's own alerts and incidents for the threat:
///
/// - 5: at least once a week (occurrences × 7 ≥ window days);
/// - 4: at least once a month (occurrences × 30 ≥ window days);
/// - 3: more than once per half-year (occurrences × 182 > window days);
/// - 2: rarely — at least once in the window;
/// - 1: almost never — not once.
///
/// A window of 0 days counts as one day. Short windows exaggerate: one alert in a day rates
/// 5, so callers should use at least a month.
pub fn threat_frequency_level(occurrences: u64, window_days: u32) -> u8 {
    let window = u64::from(window_days.max(1));
    if occurrences == 0 {
        1
    } else if occurrences.saturating_mul(7) >= window {
        5
    } else if occurrences.saturating_mul(30) >= window {
        4
    } else if occurrences.saturating_mul(182) > window {
        3
    } else {
        2
    }
}

/// What a finding's risk is computed from (I.3.b: asset value, exposure, severity, exploit
/// difficulty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FindingRiskInput {
    /// The asset's value 1–5; `None` while the asset is not valued (counts as 3, the middle).
    #[serde(default)]
    pub asset_value: Option<u8>,
    /// The asset is reachable from the internet.
    #[serde(default)]
    pub internet_facing: bool,
    /// The vulnerability's severity on GB/T 20984's five-level scale (see
    /// [`crate::vuln_grade::severity_level_from_cvss`]).
    pub severity_level: u8,
    /// How easily it is exploited, 1–5, 5 easiest (see
    /// [`crate::vuln_grade::exploitability_level`]).
    pub exploitability: u8,
    /// The observed frequency of the threat, 1–5 ([`threat_frequency_level`]), when the
    /// platform has seen attacks of this kind; it raises T, never lowers it.
    #[serde(default)]
    pub threat_frequency: Option<u8>,
}

/// A finding's risk: the computation, its place in the prioritised queue and the explanation
/// shown with the finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FindingRisk {
    /// The risk computation.
    pub result: RiskResult,
    /// Sort key for the queue, higher first: level, then risk value, then severity
    /// (`level × 1 000 000 + round(R × 100) × 10 + V`).
    pub priority_score: u32,
    /// How T, V and A were chosen, then the computation's steps.
    pub explanation: Vec<String>,
}

/// The level a cell of the likelihood × loss grid stands for (the heat map's colours):
/// the tables' R and bands, or round(√(L × F)) with the multiplication method.
pub fn level_of_cell(method: RiskMethod, tables: &RiskTables, likelihood: u8, loss: u8) -> u8 {
    let (l, f) = (likelihood.clamp(1, 5), loss.clamp(1, 5));
    match method {
        RiskMethod::Matrix => {
            tables.level_from_value(tables.risk[usize::from(l - 1)][usize::from(f - 1)])
        }
        RiskMethod::Multiplication => (f64::from(l * f).sqrt().round() as u8).clamp(1, 5),
    }
}

/// Computes a finding's risk (I.3.b). The standard's inputs are taken as:
///
/// - A = the asset's value; an asset not yet valued counts as 3, the middle of the scale,
///   neither hiding nor inflating the finding until it is valued;
/// - T = the exploitability, one step higher (at most 5) when the asset is internet-facing —
///   for a single weakness the threat that matters is someone exploiting it, which is likelier
///   the easier it is and the more people can reach it — raised further to the observed
///   threat frequency when that is higher;
/// - V = the severity level;
///
/// then [`assess`].
pub fn finding_risk(
    input: &FindingRiskInput,
    method: RiskMethod,
    tables: &RiskTables,
) -> Result<FindingRisk, RiskError> {
    check_level("severity_level", input.severity_level)?;
    check_level("exploitability", input.exploitability)?;
    let mut explanation = Vec::new();
    let a = match input.asset_value {
        Some(a) => {
            check_level("asset_value", a)?;
            explanation.push(format!("A = {a}: the asset's value"));
            a
        }
        None => {
            explanation.push("A = 3: the asset is not yet valued, the middle of the scale".into());
            3
        }
    };
    let e = input.exploitability;
    let mut t = if input.internet_facing {
        let t = (e + 1).min(5);
        explanation.push(format!(
            "T = min(5, exploitability {e} + 1 for internet exposure) = {t}"
        ));
        t
    } else {
        explanation.push(format!(
            "T = exploitability {e} (the asset is not internet-facing)"
        ));
        e
    };
    if let Some(freq) = input.threat_frequency {
        check_level("threat_frequency", freq)?;
        if freq > t {
            explanation.push(format!(
                "T = max(T {t}, observed threat frequency {freq}) = {freq}"
            ));
            t = freq;
        }
    }
    let v = input.severity_level;
    explanation.push(format!(
        "V = {v} ({}): the vulnerability's severity",
        level_label(v, Lang::Zh)
    ));
    let result = assess(method, tables, t, v, a)?;
    explanation.extend(result.steps.iter().cloned());
    let priority_score = u32::from(result.level) * 1_000_000
        + (result.value * 100.0).round() as u32 * 10
        + u32::from(v);
    Ok(FindingRisk {
        result,
        priority_score,
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tables_are_valid_and_round_trip_as_json() {
        let t = RiskTables::default();
        t.validate().unwrap();
        let json = serde_json::to_string(&t).unwrap();
        let back: RiskTables = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert_eq!(t.risk[2][3], 12);
        assert_eq!(t.band_range(3), (7, 12));
        assert_eq!(t.band_range(1), (1, 2));
        assert_eq!(t.band_range(5), (21, 25));
        let levels: Vec<u8> = (1..=25).map(|r| t.level_from_value(r)).collect();
        assert_eq!(
            levels,
            [1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5]
        );
    }

    #[test]
    fn bands_agree_with_the_multiplication_rounding() {
        // The default bands cut where round(√R) changes, so a given R has one level whichever
        // method produced it.
        let t = RiskTables::default();
        for r in 1..=25u8 {
            let by_root = (f64::from(r).sqrt().round() as u8).clamp(1, 5);
            assert_eq!(t.level_from_value(r), by_root, "R = {r}");
        }
    }

    #[test]
    fn matrix_worked_example() {
        // T = 4, V = 3, A = 5:
        //   L = likelihood[T=4][V=3] = 3 (row 4: 2 3 3 4 5)
        //   F = loss[A=5][V=3] = 4       (row 5: 3 3 4 5 5)
        //   R = risk[L=3][F=4] = 3 × 4 = 12
        //   level: 12 is in 7–12 → 3 (中)
        let r = assess(RiskMethod::Matrix, &RiskTables::default(), 4, 3, 5).unwrap();
        assert_eq!(
            (r.likelihood, r.loss, r.value, r.level),
            (3.0, 4.0, 12.0, 3)
        );
        assert_eq!(r.table, "yunshou-default-v1");
        assert_eq!(
            r.steps,
            [
                "L = matrix_L(T=4, V=3) = 3",
                "F = matrix_F(A=5, V=3) = 4",
                "R = matrix_R(L=3, F=4) = 12",
                "level = band(R=12) = 3 (中), R 7–12",
            ]
        );
        // T = 2, V = 4, A = 3: L = 3, F = 3, R = 9 → 3.
        let r = assess(RiskMethod::Matrix, &RiskTables::default(), 2, 4, 3).unwrap();
        assert_eq!((r.likelihood, r.loss, r.value, r.level), (3.0, 3.0, 9.0, 3));
        // The corners.
        let r = assess(RiskMethod::Matrix, &RiskTables::default(), 1, 1, 1).unwrap();
        assert_eq!((r.value, r.level), (1.0, 1));
        let r = assess(RiskMethod::Matrix, &RiskTables::default(), 5, 5, 5).unwrap();
        assert_eq!((r.value, r.level), (25.0, 5));
    }

    #[test]
    fn multiplication_worked_example() {
        // T = 4, V = 3, A = 5:
        //   L = √(4 × 3) = √12 = 3.464…
        //   F = √(5 × 3) = √15 = 3.873…
        //   R = L × F = √180 = 13.416…
        //   level = round(√13.416) = round(3.663) = 4 (高)
        let r = assess(RiskMethod::Multiplication, &RiskTables::default(), 4, 3, 5).unwrap();
        assert_eq!(
            (r.likelihood, r.loss, r.value, r.level),
            (3.46, 3.87, 13.42, 4)
        );
        assert_eq!(r.table, "multiplication");
        assert_eq!(
            r.steps,
            [
                "L = √(T × V) = √(4 × 3) = 3.46",
                "F = √(A × V) = √(5 × 3) = 3.87",
                "R = L × F = 3.46 × 3.87 = 13.42",
                "level = round(√R) = round(3.66) = 4 (高)",
            ]
        );
        // T = 2, V = 4, A = 3: L = √8 = 2.83, F = √12 = 3.46, R = √96 = 9.80,
        // round(√9.80) = round(3.13) = 3.
        let r = assess(RiskMethod::Multiplication, &RiskTables::default(), 2, 4, 3).unwrap();
        assert_eq!(
            (r.likelihood, r.loss, r.value, r.level),
            (2.83, 3.46, 9.8, 3)
        );
        // T = 1, V = 2, A = 1: L = F = √2, R = 2, round(√2) = round(1.41) = 1.
        let r = assess(RiskMethod::Multiplication, &RiskTables::default(), 1, 2, 1).unwrap();
        assert_eq!((r.value, r.level), (2.0, 1));
        let r = assess(RiskMethod::Multiplication, &RiskTables::default(), 5, 5, 5).unwrap();
        assert_eq!(
            (r.likelihood, r.loss, r.value, r.level),
            (5.0, 5.0, 25.0, 5)
        );
    }

    #[test]
    fn inputs_outside_the_scale_refused() {
        let t = RiskTables::default();
        for (th, v, a, field) in [
            (0, 3, 3, "threat"),
            (3, 6, 3, "vulnerability"),
            (3, 3, 0, "asset_value"),
        ] {
            for method in [RiskMethod::Matrix, RiskMethod::Multiplication] {
                let e = assess(method, &t, th, v, a).unwrap_err();
                assert_eq!(e.field, field);
                assert!(e.reason.contains("outside the five-level scale"), "{e}");
            }
        }
    }

    #[test]
    fn table_validation() {
        let good = RiskTables::default();
        let refuse = |edit: &dyn Fn(&mut RiskTables), field: &str, reason: &str| {
            let mut t = good.clone();
            edit(&mut t);
            let e = t.validate().unwrap_err();
            assert_eq!(e.field, field, "{e}");
            assert!(e.reason.contains(reason), "{e}");
            // The matrix method refuses to compute with it.
            assert_eq!(assess(RiskMethod::Matrix, &t, 3, 3, 3).unwrap_err(), e);
        };
        refuse(&|t| t.name = " ".into(), "name", "need a name");
        refuse(
            &|t| t.likelihood[0][0] = 0,
            "likelihood[T=1][V=1]",
            "0 is outside 1–5",
        );
        refuse(&|t| t.loss[4][4] = 6, "loss[A=5][V=5]", "6 is outside 1–5");
        refuse(
            &|t| t.risk[4][4] = 26,
            "risk[L=5][F=5]",
            "26 is outside 1–25",
        );
        refuse(
            &|t| t.likelihood[3][3] = 2,
            "likelihood[T=4][V=4]",
            "2 is below 3 at V=3",
        );
        refuse(
            &|t| t.loss[1] = [1, 1, 1, 1, 1],
            "loss[A=2][V=3]",
            "1 is below 2 at A=1",
        );
        refuse(&|t| t.bands = [1, 7, 13, 21], "bands", "level 1 must cover");
        refuse(
            &|t| t.bands = [3, 7, 13, 26],
            "bands",
            "above the largest R",
        );
        refuse(
            &|t| t.bands = [3, 13, 13, 21],
            "bands",
            "must increase strictly",
        );
        // An organisation's own table is accepted and named on results.
        let mut own = good.clone();
        own.name = "省政务云 2024".into();
        own.bands = [4, 9, 16, 22];
        own.validate().unwrap();
        let r = assess(RiskMethod::Matrix, &own, 4, 3, 5).unwrap();
        assert_eq!(
            (r.value, r.level, r.table.as_str()),
            (12.0, 3, "省政务云 2024")
        );
    }

    #[test]
    fn tables_from_json_are_checked() {
        let json = r#"{"name":"x","likelihood":[[1,1,1,1,1],[1,1,1,1,1],[1,1,1,1,1],[1,1,1,1,1],[1,1,1,1,1]],
            "loss":[[1,1,1,1,1],[1,1,1,1,1],[1,1,1,1,1],[1,1,1,1,1],[1,1,1,1,9]],
            "risk":[[1,1,1,1,1],[1,1,1,1,1],[1,1,1,1,1],[1,1,1,1,1],[1,1,1,1,1]],"bands":[2,3,4,5]}"#;
        let t: RiskTables = serde_json::from_str(json).unwrap();
        assert_eq!(t.validate().unwrap_err().field, "loss[A=5][V=5]");
        // A row of the wrong length does not even parse.
        let short = json.replace("[1,1,1,1,9]", "[1,1,1,1]");
        assert!(serde_json::from_str::<RiskTables>(&short).is_err());
    }

    #[test]
    fn frequency_thresholds() {
        assert_eq!(threat_frequency_level(0, 90), 1); // almost never
        assert_eq!(threat_frequency_level(1, 365), 2); // once a year: rarely
        assert_eq!(threat_frequency_level(1, 90), 3); // once a quarter: twice per half-year
        assert_eq!(threat_frequency_level(2, 365), 2); // twice a year is once per half-year, not more
        assert_eq!(threat_frequency_level(3, 365), 3); // more than once per half-year
        assert_eq!(threat_frequency_level(2, 90), 3);
        assert_eq!(threat_frequency_level(3, 90), 4); // once a month
        assert_eq!(threat_frequency_level(12, 90), 4);
        assert_eq!(threat_frequency_level(13, 90), 5); // at least weekly
        assert_eq!(threat_frequency_level(1, 30), 4);
        assert_eq!(threat_frequency_level(4, 28), 5);
        assert_eq!(threat_frequency_level(1, 0), 5);
        assert_eq!(threat_frequency_level(u64::MAX, 365), 5);
    }

    #[test]
    fn labels() {
        assert_eq!(level_label(5, Lang::Zh), "很高");
        assert_eq!(level_label(1, Lang::Zh), "很低");
        assert_eq!(level_label(3, Lang::En), "medium");
        assert_eq!(level_label(9, Lang::En), "very high");
    }

    #[test]
    fn internet_facing_critical_on_a_valuable_asset_is_very_high() {
        let input = FindingRiskInput {
            asset_value: Some(5),
            internet_facing: true,
            severity_level: 5,
            exploitability: 4,
            threat_frequency: None,
        };
        // A = 5, T = min(5, 4 + 1) = 5, V = 5 → L = 5, F = 5, R = 25 → 5 with both methods.
        for method in [RiskMethod::Matrix, RiskMethod::Multiplication] {
            let r = finding_risk(&input, method, &RiskTables::default()).unwrap();
            assert_eq!(
                (r.result.threat, r.result.level, r.result.value),
                (5, 5, 25.0)
            );
            assert_eq!(r.priority_score, 5_025_005);
            assert_eq!(
                r.explanation[..3],
                [
                    "A = 5: the asset's value",
                    "T = min(5, exploitability 4 + 1 for internet exposure) = 5",
                    "V = 5 (很高): the vulnerability's severity",
                ]
            );
            assert_eq!(r.explanation.len(), 7);
        }
    }

    #[test]
    fn internal_low_on_a_minor_asset_is_very_low() {
        let input = FindingRiskInput {
            asset_value: Some(1),
            internet_facing: false,
            severity_level: 2,
            exploitability: 2,
            threat_frequency: None,
        };
        // Matrix: L = likelihood[2][2] = 2, F = loss[1][2] = 1, R = 2 → 1.
        let r = finding_risk(&input, RiskMethod::Matrix, &RiskTables::default()).unwrap();
        assert_eq!((r.result.value, r.result.level), (2.0, 1));
        assert_eq!(r.priority_score, 1_002_002);
        assert_eq!(
            r.explanation[1],
            "T = exploitability 2 (the asset is not internet-facing)"
        );
        // Multiplication, hard to exploit: T = 1, L = F = √2, R = 2 → round(1.41) = 1.
        let input = FindingRiskInput {
            exploitability: 1,
            ..input
        };
        let r = finding_risk(&input, RiskMethod::Multiplication, &RiskTables::default()).unwrap();
        assert_eq!((r.result.value, r.result.level), (2.0, 1));
    }

    #[test]
    fn unvalued_assets_and_observed_threats() {
        let input = FindingRiskInput {
            asset_value: None,
            internet_facing: false,
            severity_level: 4,
            exploitability: 2,
            threat_frequency: Some(4),
        };
        let r = finding_risk(&input, RiskMethod::Matrix, &RiskTables::default()).unwrap();
        // A = 3, T = max(2, 4) = 4, V = 4: L = 4, F = 3, R = 12 → 3.
        assert_eq!(
            (
                r.result.asset_value,
                r.result.threat,
                r.result.value,
                r.result.level
            ),
            (3, 4, 12.0, 3)
        );
        assert!(r.explanation[0].contains("not yet valued"));
        assert_eq!(
            r.explanation[2],
            "T = max(T 2, observed threat frequency 4) = 4"
        );
        // A lower observed frequency does not lower T.
        let low = FindingRiskInput {
            threat_frequency: Some(1),
            ..input
        };
        let r = finding_risk(&low, RiskMethod::Matrix, &RiskTables::default()).unwrap();
        assert_eq!(r.result.threat, 2);
        let bad = FindingRiskInput {
            exploitability: 0,
            ..input
        };
        assert_eq!(
            finding_risk(&bad, RiskMethod::Matrix, &RiskTables::default())
                .unwrap_err()
                .field,
            "exploitability"
        );
    }

    #[test]
    fn priority_sorts_by_level_then_value_then_severity() {
        let t = RiskTables::default();
        let score = |a, internet, v, e| {
            let input = FindingRiskInput {
                asset_value: Some(a),
                internet_facing: internet,
                severity_level: v,
                exploitability: e,
                threat_frequency: None,
            };
            let r = finding_risk(&input, RiskMethod::Multiplication, &t).unwrap();
            (r.result.level, r.result.value, v, r.priority_score)
        };
        let mut queue = [
            score(2, false, 3, 2),
            score(5, true, 5, 4),
            score(3, true, 4, 3),
            score(5, false, 2, 2),
            score(1, false, 1, 1),
            score(4, false, 4, 3),
        ];
        queue.sort_by_key(|q| std::cmp::Reverse(q.3));
        for pair in queue.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            assert!(
                (a.0, a.1, a.2) >= (b.0, b.1, b.2),
                "{a:?} sorted before {b:?}"
            );
        }
        assert_eq!(queue[0].0, 5);
        assert_eq!(queue[5].0, 1);
    }
}
