//! yunshou's CSV template for findings people record (I.3.a: questionnaires, penetration
//! tests, document and manual reviews). Columns and their Chinese aliases are documented in
//! `docs/findings-import.md`; an example ships as `templates/manual-findings.csv`.
//!
//! Every bad line is collected and reported together, so a reviewer fixes the sheet once.
//! A manual list does not claim to have covered its hosts completely, so it sends no
//! scanned targets: a second list must not close the first one's findings.

use std::io::BufRead;

use yunshou_model::finding::{
    normalise_cves, normalise_cwes, Severity, Target, CATEGORIES, METHODS,
};

use crate::emit::Out;
use crate::fields::{self, blank, clean};
use crate::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Ip,
    Hostname,
    Title,
    Description,
    Severity,
    Cve,
    Cwe,
    Cvss3,
    Cvss4,
    Category,
    Method,
    Port,
    Protocol,
    Service,
    Solution,
    Evidence,
    FoundOn,
    References,
    CheckId,
    Location,
    Os,
}

pub(crate) const TITLE_NAMES: &[&str] = &["title", "标题", "问题名称", "漏洞名称"];
pub(crate) const HOST_NAMES: &[&str] = &[
    "ip",
    "ip_address",
    "资产ip",
    "ip地址",
    "hostname",
    "host",
    "主机名",
    "资产名称",
];

/// Header names, lower-case: the English name first, then aliases.
const COLUMNS: &[(Col, &[&str])] = &[
    (Col::Ip, &["ip", "ip_address", "资产ip", "ip地址"]),
    (Col::Hostname, &["hostname", "host", "主机名", "资产名称"]),
    (Col::Title, TITLE_NAMES),
    (
        Col::Description,
        &["description", "描述", "问题描述", "漏洞描述"],
    ),
    (Col::Severity, &["severity", "严重程度", "风险等级"]),
    (Col::Cve, &["cve", "cves", "cve编号"]),
    (Col::Cwe, &["cwe", "cwes", "cwe编号"]),
    (Col::Cvss3, &["cvss3", "cvss3向量"]),
    (Col::Cvss4, &["cvss4", "cvss4向量"]),
    (Col::Category, &["category", "类别", "问题类别"]),
    (Col::Method, &["method", "发现方式"]),
    (Col::Port, &["port", "端口"]),
    (Col::Protocol, &["protocol", "协议"]),
    (Col::Service, &["service", "服务"]),
    (Col::Solution, &["solution", "整改建议", "修复建议"]),
    (Col::Evidence, &["evidence", "证据"]),
    (Col::FoundOn, &["found_on", "发现日期"]),
    (Col::References, &["references", "参考链接"]),
    (Col::CheckId, &["check_id", "编号"]),
    (Col::Location, &["location", "位置"]),
    (Col::Os, &["os", "操作系统"]),
];

/// Severity words in Chinese, besides those [`Severity::parse`] knows.
fn severity(s: &str) -> Option<Severity> {
    Severity::parse(s).or(match s.trim() {
        "信息" | "提示" => Some(Severity::Info),
        "低" | "低危" => Some(Severity::Low),
        "中" | "中危" => Some(Severity::Medium),
        "高" | "高危" => Some(Severity::High),
        "严重" | "紧急" | "超危" => Some(Severity::Critical),
        _ => None,
    })
}

fn category(s: &str) -> Option<&'static str> {
    let key = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    if let Some(c) = CATEGORIES.iter().find(|c| **c == key) {
        return Some(c);
    }
    Some(match s.trim() {
        "物理" | "物理安全" => "physical",
        "网络" => "network",
        "系统软件" => "system_software",
        "中间件" => "middleware",
        "应用" => "application",
        "技术管理" => "technical_management",
        "组织管理" => "organisational_management",
        _ => return None,
    })
}

fn method(s: &str) -> Option<&'static str> {
    let key = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    if let Some(m) = METHODS.iter().find(|m| **m == key) {
        return Some(m);
    }
    Some(match s.trim() {
        "扫描" => "scan",
        "问卷" | "问卷调查" => "questionnaire",
        "人工核查" => "manual_review",
        "文档审查" => "document_review",
        "渗透测试" => "penetration_test",
        _ => return None,
    })
}

pub(crate) fn parse<E>(input: &mut dyn BufRead, out: &mut Out<E>) -> Result<(), ParseError<E>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let header = reader
        .headers()
        .map_err(|e| out.invalid("line 1", format!("the header row cannot be read: {e}")))?
        .clone();
    let mut cols: Vec<Col> = Vec::with_capacity(header.len());
    for name in header.iter() {
        let key = name
            .trim()
            .trim_start_matches('\u{feff}')
            .trim()
            .to_lowercase();
        match COLUMNS
            .iter()
            .find(|(_, names)| names.contains(&key.as_str()))
        {
            Some((col, _)) if cols.contains(col) => {
                return Err(out.invalid("line 1", format!("column \"{name}\" appears twice")))
            }
            Some((col, _)) => cols.push(*col),
            None => {
                let known: Vec<&str> = COLUMNS.iter().map(|(_, n)| n[0]).collect();
                return Err(out.invalid(
                    "line 1",
                    format!(
                        "unknown column \"{name}\"; the columns are {}",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    if !cols.contains(&Col::Title) || !(cols.contains(&Col::Ip) || cols.contains(&Col::Hostname)) {
        return Err(out.invalid(
            "line 1",
            "the header row must have a title column and an ip or hostname column",
        ));
    }
    if !cols.contains(&Col::Severity) {
        return Err(out.invalid("line 1", "the header row must have a severity column"));
    }

    let mut bad: Vec<(u64, String)> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(line);
                bad.push((line, csv_error(&e)));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(line);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match row(&cols, &record) {
            Ok(f) => {
                if bad.is_empty() {
                    out.finding(f, || format!("line {line}"))?;
                }
            }
            Err(problems) => bad.push((line, problems.join("; "))),
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = bad.iter().map(|(l, _)| l.to_string()).collect();
    let reason: Vec<String> = bad.iter().map(|(l, r)| format!("line {l}: {r}")).collect();
    Err(out.invalid(
        format!(
            "line{} {}",
            if bad.len() > 1 { "s" } else { "" },
            lines.join(", ")
        ),
        format!(
            "{} bad line{}:\n{}",
            bad.len(),
            if bad.len() > 1 { "s" } else { "" },
            reason.join("\n")
        ),
    ))
}

fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} cells where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
        _ => e.to_string(),
    }
}

/// One line as a finding, or every problem it has.
fn row(
    cols: &[Col],
    record: &csv::StringRecord,
) -> Result<yunshou_model::finding::ReportedFinding, Vec<String>> {
    let mut f = blank("manual");
    f.method = None;
    let mut target = Target::default();
    let mut problems = Vec::new();
    let mut sev: Option<Severity> = None;
    for (col, cell) in cols.iter().zip(record.iter()) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        match col {
            Col::Ip => {
                if fields::is_ip(cell) {
                    target.ip = Some(cell.to_string());
                } else {
                    problems.push(format!("ip \"{cell}\" is not an IP address"));
                }
            }
            Col::Hostname => target.hostname = Some(cell.to_string()),
            Col::Title => f.title = cell.to_string(),
            Col::Description => f.description = Some(cell.to_string()),
            Col::Severity => match severity(cell) {
                Some(s) => {
                    sev = Some(s);
                    f.severity_raw = Some(cell.to_string());
                }
                None => problems.push(format!(
                    "severity \"{cell}\" is not one of info, low, medium, high, critical"
                )),
            },
            Col::Cve => {
                let ids = fields::split_list(cell);
                let good = normalise_cves(&ids);
                let wrong: Vec<&String> = ids
                    .iter()
                    .filter(|i| !good.contains(&i.to_ascii_uppercase()))
                    .collect();
                if wrong.is_empty() {
                    f.cves = good;
                } else {
                    problems.push(format!("{wrong:?} are not CVE ids (CVE-YYYY-NNNN)"));
                }
            }
            Col::Cwe => {
                let ids = fields::split_list(cell);
                let good = normalise_cwes(&ids);
                if good.len() == ids.len() {
                    f.cwes = good;
                } else {
                    problems.push(format!("cwe \"{cell}\" is not a list of CWE ids (CWE-79)"));
                }
            }
            Col::Cvss3 => match fields::cvss3(cell, "3.1") {
                Ok(v) => f.cvss3 = v,
                Err(e) => problems.push(e),
            },
            Col::Cvss4 => match fields::cvss4(cell) {
                Ok(v) => f.cvss4 = v,
                Err(e) => problems.push(e),
            },
            Col::Category => match category(cell) {
                Some(c) => f.category = Some(c.to_string()),
                None => problems.push(format!(
                    "category \"{cell}\" is not one of {}",
                    CATEGORIES.join(", ")
                )),
            },
            Col::Method => match method(cell) {
                Some(m) => f.method = Some(m.to_string()),
                None => problems.push(format!(
                    "method \"{cell}\" is not one of {}",
                    METHODS.join(", ")
                )),
            },
            Col::Port => match cell.parse::<u16>() {
                Ok(p) if p > 0 => target.port = Some(p),
                _ => problems.push(format!("port \"{cell}\" is not a number 1–65535")),
            },
            Col::Protocol => {
                let p = cell.to_ascii_lowercase();
                if matches!(p.as_str(), "tcp" | "udp" | "sctp" | "icmp") {
                    target.protocol = Some(p);
                } else {
                    problems.push(format!("protocol \"{cell}\" is not tcp, udp, sctp or icmp"));
                }
            }
            Col::Service => target.service = Some(cell.to_string()),
            Col::Solution => f.solution = Some(cell.to_string()),
            Col::Evidence => f.evidence = Some(cell.to_string()),
            Col::FoundOn => match fields::date_or_time(cell) {
                Ok(t) => f.seen_at = Some(t),
                Err(e) => problems.push(format!("found_on {e}")),
            },
            Col::References => f.references = fields::split_list(cell),
            Col::CheckId => f.check_id = clean(cell),
            Col::Location => target.location = Some(cell.to_string()),
            Col::Os => target.os = Some(cell.to_string()),
        }
    }
    if f.title.is_empty() {
        problems.push("title is empty".to_string());
    }
    if target.ip.is_none()
        && target.hostname.is_none()
        && !problems.iter().any(|p| p.starts_with("ip "))
    {
        problems.push("neither ip nor hostname is given".to_string());
    }
    match sev {
        Some(s) => f.severity = s,
        None if !problems.iter().any(|p| p.starts_with("severity")) => {
            problems.push("severity is empty".to_string())
        }
        None => {}
    }
    if target.protocol.is_some() && target.port.is_none() {
        problems.push("protocol is given without a port".to_string());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    f.target = target;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_all, Format, ReportItem};

    #[test]
    fn chinese_headers_and_words() {
        let csv = "\u{feff}资产IP,标题,严重程度,类别,发现方式,发现日期,CVE编号\n\
                   10.20.1.15,弱口令,高危,应用,渗透测试,2025-03-14,cve-2021-44228\n";
        let (items, s) = parse_all(Format::Template, &mut csv.as_bytes()).unwrap();
        assert_eq!((s.findings, s.targets), (1, 0));
        let ReportItem::Finding(f) = &items[0] else {
            panic!()
        };
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.category.as_deref(), Some("application"));
        assert_eq!(f.method.as_deref(), Some("penetration_test"));
        assert_eq!(f.seen_at.as_deref(), Some("2025-03-14T00:00:00Z"));
        assert_eq!(f.cves, ["CVE-2021-44228"]);
        assert_eq!(f.source, "manual");
    }

    #[test]
    fn unknown_and_missing_columns_are_refused() {
        let e = parse_all(Format::Template, &mut "ip,title,severty\n".as_bytes()).unwrap_err();
        assert!(e.to_string().contains("unknown column \"severty\""), "{e}");
        let e = parse_all(Format::Template, &mut "ip,severity\n".as_bytes()).unwrap_err();
        assert!(e.to_string().contains("title column"), "{e}");
    }
}
