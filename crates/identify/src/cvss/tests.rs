//! The calculators against published scores: NVD's for v3.x, FIRST's reference calculator's
//! for v4.0 (NVD publishes few v4.0 scores of its own; the common CNA vectors are included),
//! and every vector/score pair in the scanner fixtures.

use super::*;
use serde_json::Value;

/// `(vector, base score)` as NVD publishes them; the named ones are the CVEs' NVD entries.
const NVD_V31: &[(&str, f64)] = &[
    // CVE-2021-44228 (Log4Shell)
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
    // CVE-2014-0160 (Heartbleed)
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
    // CVE-2017-0144 (EternalBlue)
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1),
    // CVE-2021-34527 (PrintNightmare)
    ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8),
    // CVE-2019-0708 (BlueKeep)
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
    // CVE-2021-3156 (sudo "Baron Samedit")
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
    // CVE-2023-4863 (libwebp)
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8),
    // CVE-2013-1937 (phpMyAdmin reflected XSS, FIRST's v3.1 examples)
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
    ("CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5),
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", 5.5),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3),
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:L/A:N", 3.7),
    ("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.0),
    ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2),
    ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8),
    ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.8),
    ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", 6.5),
    ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 6.5),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", 7.5),
    ("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.8),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N", 5.4),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:L", 7.3),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N", 9.1),
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 8.8),
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.5),
    ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:N", 5.4),
    ("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 6.7),
    ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 6.5),
    ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:L/I:N/A:N", 2.7),
    ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", 4.6),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:N", 0.0),
];

/// v3.0 vectors with NVD's scores (from CVEs scored before v3.1 existed).
const NVD_V30: &[(&str, f64)] = &[
    // CVE-2017-5638 (Apache Struts, Equifax)
    ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
    // CVE-2016-5195 (Dirty COW)
    ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
    // CVE-2017-5753 (Spectre v1)
    ("CVSS:3.0/AV:L/AC:H/PR:L/UI:N/S:C/C:H/I:N/A:N", 5.6),
    ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
    ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
];

/// `(vector, score, nomenclature)`: v4.0 as FIRST's reference calculator scores them. The
/// first dozen are common NVD/CNA vectors (9.3 for unauthenticated full compromise, 5.1 for
/// GitHub's usual XSS, …).
const FIRST_V4: &[(&str, f64, &str)] = &[
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.7, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N", 8.7, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 6.9, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N", 5.3, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 5.3, "CVSS-B"),
    ("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N", 5.3, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N", 5.1, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:H/VA:N/SC:N/SI:N/SA:N", 8.7, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N", 5.1, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:H/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.2, "CVSS-B"),
    ("CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 7.0, "CVSS-B"),
    ("CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.7, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.2, "CVSS-B"),
    ("CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:A/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.4, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N", 8.8, "CVSS-B"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0, "CVSS-B"),
    // Supplemental metrics inform but do not score.
    (
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:P/AU:Y/R:U/V:C/RE:H/U:Red",
        9.3,
        "CVSS-B",
    ),
    // Threat: exploit maturity lowers the score unless attacks are reported.
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A", 9.3, "CVSS-BT"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:P", 8.9, "CVSS-BT"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", 8.1, "CVSS-BT"),
    ("CVSS:4.0/AV:L/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N/E:U", 0.1, "CVSS-BT"),
    // Environmental.
    (
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/CR:L/IR:L/AR:L",
        8.9,
        "CVSS-BE",
    ),
    (
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N/MSI:S/MSA:S",
        9.1,
        "CVSS-BE",
    ),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N/MVC:H", 8.7, "CVSS-BE"),
    // Threat and environmental; the first is the specification's example vector.
    (
        "CVSS:4.0/AV:L/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A/MAV:A/AU:N/R:A",
        7.7,
        "CVSS-BTE",
    ),
    (
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U/CR:L/IR:L/AR:L/MAV:L",
        4.3,
        "CVSS-BTE",
    ),
    (
        "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:P/CR:H/IR:H/AR:M",
        7.5,
        "CVSS-BTE",
    ),
];

#[test]
fn v31_matches_nvd() {
    assert!(NVD_V31.len() >= 25);
    for (vector, want) in NVD_V31 {
        let c = Cvss3::parse(vector).unwrap();
        assert_eq!(c.base_score(), *want, "{vector}");
        assert_eq!(c.score(), *want, "{vector}");
        assert_eq!(c.version(), "3.1");
        assert_eq!(c.to_string(), *vector);
    }
}

#[test]
fn v30_matches_nvd() {
    for (vector, want) in NVD_V30 {
        let c = Cvss3::parse(vector).unwrap();
        assert_eq!(c.base_score(), *want, "{vector}");
        assert_eq!(c.version(), "3.0");
    }
}

#[test]
fn v3_subscores_as_nvd_shows_them() {
    let log4shell = Cvss3::parse(NVD_V31[0].0).unwrap();
    assert_eq!(log4shell.impact_subscore(), 6.0);
    assert_eq!(log4shell.exploitability_subscore(), 3.9);
    let heartbleed = Cvss3::parse(NVD_V31[1].0).unwrap();
    assert_eq!(heartbleed.impact_subscore(), 3.6);
    assert_eq!(heartbleed.exploitability_subscore(), 3.9);
    let samedit = Cvss3::parse(NVD_V31[5].0).unwrap();
    assert_eq!(samedit.exploitability_subscore(), 1.8);
    // Scope changed and no impact: the formula is negative, shown as 0.
    let none = Cvss3::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:N").unwrap();
    assert_eq!(none.impact_subscore(), 0.0);
}

#[test]
fn v31_temporal_and_environmental_match_first_calculator() {
    // (vector, base, temporal, environmental) from FIRST's v3.1 calculator.
    let cases: &[(&str, f64, Option<f64>, Option<f64>)] = &[
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C",
            9.8,
            Some(8.8),
            None,
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H/E:H/RL:O/RC:C",
            10.0,
            Some(9.5),
            None,
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/CR:H/IR:H/AR:L/MAV:A",
            9.8,
            None,
            Some(8.8),
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H/E:F/RL:T/RC:R/CR:L/IR:L/AR:L/MS:U",
            10.0,
            Some(9.0),
            Some(7.2),
        ),
        (
            "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H/MS:C/MPR:H",
            7.8,
            None,
            Some(8.3),
        ),
        (
            "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:C/C:L/I:L/A:N/E:P/RC:U/IR:M/AR:L/MAV:L/MPR:N/MI:H/MA:L",
            4.9,
            Some(4.3),
            Some(6.1),
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N/E:U/RL:W/RC:U/CR:H/MC:H",
            6.1,
            Some(5.0),
            Some(7.9),
        ),
    ];
    for (vector, base, temporal, environmental) in cases {
        let c = Cvss3::parse(vector).unwrap();
        assert_eq!(c.base_score(), *base, "{vector}");
        assert_eq!(c.temporal_score(), *temporal, "{vector}");
        assert_eq!(c.environmental_score(), *environmental, "{vector}");
        let most_specific = environmental.or(*temporal).unwrap_or(*base);
        assert_eq!(c.score(), most_specific, "{vector}");
    }
}

#[test]
fn v30_keeps_its_own_roundup() {
    // 10.0 × 1 × 1 × 0.92 is 9.200000000000001 in floating point: v3.0's plain ceiling
    // makes it 9.3 (as v3.0 calculators did), v3.1's Roundup 9.2.
    let v30 = Cvss3::parse("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H/E:H/RL:U/RC:U").unwrap();
    let v31 = Cvss3::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H/E:H/RL:U/RC:U").unwrap();
    assert_eq!(v30.temporal_score(), Some(9.3));
    assert_eq!(v31.temporal_score(), Some(9.2));
}

#[test]
fn v4_matches_first_calculator() {
    assert!(FIRST_V4.len() >= 20);
    for (vector, want, nomenclature) in FIRST_V4 {
        let c = Cvss4::parse(vector).unwrap();
        assert_eq!(
            c.score(),
            *want,
            "{vector} (MacroVector {})",
            c.macro_vector()
        );
        assert_eq!(c.nomenclature(), *nomenclature, "{vector}");
        assert_eq!(c.to_string(), *vector);
    }
}

#[test]
fn v4_macro_vectors() {
    let c = Cvss4::parse(FIRST_V4[0].0).unwrap();
    assert_eq!(c.macro_vector(), "000200");
    let c = Cvss4::parse(FIRST_V4[4].0).unwrap();
    assert_eq!(c.macro_vector(), "002201");
}

#[test]
fn v4_supplemental_kept() {
    let c = Cvss4::parse(FIRST_V4[19].0).unwrap();
    assert_eq!(
        c.supplemental(),
        &[
            ("S", "P"),
            ("AU", "Y"),
            ("R", "U"),
            ("V", "C"),
            ("RE", "H"),
            ("U", "Red")
        ]
    );
}

#[test]
fn order_and_not_defined_values_normalised() {
    let c = Cvss::parse("CVSS:3.1/S:U/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H/E:X/MAV:X").unwrap();
    assert_eq!(
        c.to_string(),
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    );
    assert_eq!(c.score(), 9.8);
    let c = Cvss::parse(" CVSS:4.0/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/AV:N/AC:L/AT:N/PR:N/UI:N/E:X ")
        .unwrap();
    assert_eq!(c.to_string(), FIRST_V4[0].0);
    match c {
        Cvss::V4(v4) => assert_eq!(v4.nomenclature(), "CVSS-B"),
        Cvss::V3(_) => panic!("a v4 vector"),
    }
}

#[test]
fn dispatch_and_severity() {
    let c = Cvss::parse(NVD_V31[0].0).unwrap();
    assert_eq!(
        (c.version(), c.score(), c.severity()),
        ("3.1", 10.0, Severity::Critical)
    );
    let c = Cvss::parse(FIRST_V4[7].0).unwrap();
    assert_eq!(
        (c.version(), c.score(), c.severity()),
        ("4.0", 8.5, Severity::High)
    );
    let c = Cvss::parse(NVD_V31[14].0).unwrap();
    assert_eq!(c.severity(), Severity::Low);
    let c: Cvss = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N"
        .parse()
        .unwrap();
    assert_eq!(c.severity(), Severity::Info);
}

#[test]
fn malformed_vectors_refused_with_a_reason() {
    let cases: &[(&str, &str)] = &[
        ("", "empty CVSS vector"),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", "not a CVSS vector"),
        ("CVSS:2.0/AV:N", "unsupported CVSS version `2.0`"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "missing: A"),
        ("CVSS:3.1", "missing: AV, AC, PR, UI, S, C, I, A"),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AV:L",
            "AV is given more than once",
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/XX:Y",
            "unknown metric `XX`",
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q",
            "A: `Q` is not one of H, L, N",
        ),
        (
            "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "AV: `X` is not one of N, A, L, P",
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:Z",
            "E: `Z` is not one of U, P, F, H, X",
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
            "malformed metric ``",
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A",
            "malformed metric `A`",
        ),
        (
            "CVSS:3.1/av:n/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "unknown metric `av`",
        ),
        // v4 metrics are not v3 metrics, and the reverse.
        (
            "CVSS:3.1/AV:N/AC:L/AT:N/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "unknown metric `AT`",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "missing: AT",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:R/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "UI: `R`",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N",
            "SI: `S`",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MSC:S",
            "MSC: `S`",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A/E:P",
            "E is given",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:red",
            "U: `red`",
        ),
    ];
    for (vector, reason) in cases {
        let err = Cvss::parse(vector).expect_err(vector).to_string();
        assert!(err.contains(reason), "{vector}: {err}");
    }
}

/// A fixture file under `shared/fixtures/scanners/`.
fn fixture(path: &str) -> String {
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/scanners/"
    );
    std::fs::read_to_string(format!("{root}{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every object in a Trivy report with both `V3Vector` and `V3Score` (per source: nvd,
/// redhat, ghsa…).
fn trivy_pairs(v: &Value, out: &mut Vec<(String, f64)>) {
    match v {
        Value::Object(map) => {
            if let (Some(Value::String(vector)), Some(score)) =
                (map.get("V3Vector"), map.get("V3Score"))
            {
                out.push((vector.clone(), score.as_f64().unwrap()));
            }
            map.values().for_each(|v| trivy_pairs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| trivy_pairs(v, out)),
        _ => {}
    }
}

/// The text of `<tag>…</tag>` in an XML fragment (the Nessus fields are plain text).
fn tag<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim())
}

/// Nessus `ReportItem`s as `(vector, score)`: the base pair, and the temporal pair with the
/// temporal vector appended to the base vector.
fn nessus_pairs(xml: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for item in xml.split("<ReportItem").skip(1) {
        let Some(vector) = tag(item, "cvss3_vector") else {
            continue;
        };
        if let Some(score) = tag(item, "cvss3_base_score") {
            out.push((vector.to_string(), score.parse().unwrap()));
        }
        if let (Some(tv), Some(ts)) = (
            tag(item, "cvss3_temporal_vector"),
            tag(item, "cvss3_temporal_score"),
        ) {
            let temporal = tv.split_once('/').map_or(tv, |(_, rest)| rest);
            out.push((format!("{vector}/{temporal}"), ts.parse().unwrap()));
        }
    }
    out
}

#[test]
fn fixture_vectors_score_as_the_scanners_report() {
    let mut pairs = Vec::new();
    for file in [
        "trivy/legacy_many_vulns.json",
        "trivy/scheme_2_many_vulns.json",
    ] {
        let json: Value = serde_json::from_str(&fixture(file)).unwrap();
        trivy_pairs(&json, &mut pairs);
    }
    let trivy = pairs.len();
    pairs.extend(nessus_pairs(&fixture("nessus/nessus_with_cvssv3.nessus")));
    let nessus = pairs.len() - trivy;
    let disagree: Vec<String> = pairs
        .iter()
        .filter_map(|(vector, want)| {
            let got = Cvss::parse(vector).map(|c| c.score());
            (got != Ok(*want)).then(|| format!("{vector}: reported {want}, ours {got:?}"))
        })
        .collect();
    eprintln!(
        "fixture pairs: {trivy} Trivy + {nessus} Nessus, {} agree",
        pairs.len() - disagree.len()
    );
    assert_eq!((trivy, nessus), (147, 11));
    assert!(disagree.is_empty(), "{disagree:#?}");
}
