//! Field conversions the formats share: text clean-up, CVSS vectors, times, hosts, the
//! category guess.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use yunshou_model::finding::{ReportedFinding, Severity, Target};

/// A finding with only its source set and `method = scan`; formats fill the rest.
pub(crate) fn blank(source: &str) -> ReportedFinding {
    ReportedFinding {
        source: source.to_string(),
        check_id: None,
        target: Target::default(),
        title: String::new(),
        description: None,
        solution: None,
        evidence: None,
        cves: Vec::new(),
        cwes: Vec::new(),
        cvss3: None,
        cvss4: None,
        cvss2: None,
        severity: Severity::Info,
        severity_raw: None,
        references: Vec::new(),
        seen_at: None,
        known_exploited: false,
        epss: None,
        category: None,
        method: Some("scan".to_string()),
    }
}

/// Trimmed, or None when empty.
pub(crate) fn clean(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Multi-line element text: trimmed, and the indentation its continuation lines share
/// removed (pretty-printed exports indent text to the element's depth). None when empty.
pub(crate) fn text(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut lines = s.lines();
    let first = lines.next().unwrap_or("");
    let rest: Vec<&str> = lines.collect();
    let indent = rest
        .iter()
        .map(|l| (l.len(), leading_space(l)))
        .filter(|(len, lead)| lead < len)
        .map(|(_, lead)| lead)
        .min()
        .unwrap_or(0);
    let mut out = first.trim_end().to_string();
    for l in rest {
        out.push('\n');
        out.push_str(l.get(indent..).unwrap_or_else(|| l.trim_start()).trim_end());
    }
    Some(out)
}

/// Bytes of white space (Unicode's, as [`str::trim_start`]) `l` starts with. Reports indent
/// every line by tens of spaces, so the ASCII run is counted bytewise first.
fn leading_space(l: &str) -> usize {
    let ascii = l.bytes().take_while(|b| matches!(b, b' ' | b'\t')).count();
    let rest = &l[ascii..];
    ascii + rest.len() - rest.trim_start().len()
}

/// [`text`], and None when the text [says nothing](says_nothing).
pub(crate) fn prose(s: &str) -> Option<String> {
    if says_nothing(s) {
        None
    } else {
        text(s)
    }
}

/// Like [`clean`], and also None when the text [says nothing](says_nothing).
pub(crate) fn meaningful(s: &str) -> Option<String> {
    (!says_nothing(s)).then(|| s.trim().to_string())
}

/// Empty, or a word tools write for "nothing" (`n/a`, `N/A`, `-`, `none`, `null`), in any
/// ASCII case.
fn says_nothing(s: &str) -> bool {
    let s = s.trim();
    ["", "n/a", "na", "-", "none", "null"]
        .iter()
        .any(|p| s.eq_ignore_ascii_case(p))
}

/// Joins the present parts with a blank line between them.
pub(crate) fn paragraphs<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> Option<String> {
    let parts: Vec<&str> = parts
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

/// Splits a list cell: URLs or ids separated by whitespace, commas or semicolons (ASCII or
/// full-width).
pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '，' | '；' | '、'))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) fn is_ip(s: &str) -> bool {
    s.trim().parse::<IpAddr>().is_ok()
}

/// Puts a field the report defines as the scanned address into `ip`, even when it does not
/// parse (anonymised exports write `192.168.1.1001`): the ledger, not the importer, decides
/// what to match it with. A value with letters beyond hex digits is a name after all.
pub(crate) fn place_address(target: &mut Target, addr: &str) {
    let a = addr.trim();
    let v4_like = a.contains('.') && a.chars().all(|c| c.is_ascii_digit() || c == '.');
    let v6_like = a.contains(':')
        && a.chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    if is_ip(a) || v4_like || v6_like {
        if target.ip.is_none() {
            target.ip = Some(a.to_string());
        }
    } else {
        place_host(target, a);
    }
}

/// Puts a name the report does not type (a host attribute, a URL's host) where it belongs:
/// the IP or the host name of `target`, without overwriting what is already known.
pub(crate) fn place_host(target: &mut Target, name: &str) {
    let name = name.trim().trim_start_matches('[').trim_end_matches(']');
    if name.is_empty() {
        return;
    }
    if is_ip(name) {
        if target.ip.is_none() {
            target.ip = Some(name.to_string());
        }
    } else if target.hostname.is_none() {
        target.hostname = Some(name.to_string());
    }
}

/// `80/tcp`, `general/tcp`, `443/tcp (https)` → (port, protocol). Port 0 and "general" are
/// the host itself: no port, no protocol.
pub(crate) fn port_proto(s: &str) -> (Option<u16>, Option<String>) {
    let s = s.trim();
    let s = s.split_whitespace().next().unwrap_or("");
    let (port, proto) = s.split_once('/').unwrap_or((s, ""));
    match port.parse::<u16>() {
        Ok(p) if p > 0 => (Some(p), clean(proto).map(|p| p.to_ascii_lowercase())),
        _ => (None, None),
    }
}

/// Parses a port attribute: empty or 0 is none; anything else must be 1–65535.
pub(crate) fn port(s: &str) -> Result<Option<u16>, String> {
    let s = s.trim();
    if s.is_empty() || s == "0" {
        return Ok(None);
    }
    s.parse::<u16>()
        .map(Some)
        .map_err(|_| format!("port \"{s}\" is not a number 0–65535"))
}

// ---------------------------------------------------------------------------------------
// CVSS

/// Splits a vector into its `metric:value` pairs, refusing anything else.
fn metrics(vector: &str) -> Option<Vec<(&str, &str)>> {
    vector
        .split('/')
        .map(|m| {
            let (k, v) = m.split_once(':')?;
            let ok = !k.is_empty()
                && !v.is_empty()
                && k.bytes().all(|b| b.is_ascii_alphanumeric())
                && v.bytes().all(|b| b.is_ascii_alphanumeric());
            ok.then_some((k, v))
        })
        .collect()
}

fn check_metrics(version: &str, body: &str, required: &[&str]) -> Result<(), String> {
    let Some(ms) = metrics(body) else {
        return Err(format!("CVSS v{version} vector \"{body}\" is malformed"));
    };
    for r in required {
        if !ms.iter().any(|(k, _)| k == r) {
            return Err(format!(
                "CVSS v{version} vector \"{body}\" lacks the base metric {r}"
            ));
        }
    }
    Ok(())
}

/// Strips the wrappers tools put around vectors: parentheses, a leading score
/// (`9.0 (AV:N/…)`), `CVSS2#`.
fn unwrap_vector(raw: &str) -> &str {
    let s = raw.trim();
    let s = match (s.find('('), s.rfind(')')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    s.trim().trim_start_matches("CVSS2#").trim()
}

/// A CVSS v3 vector with its `CVSS:3.x/` prefix. A bare vector gets `CVSS:{default}/` — the
/// version the format says, or 3.1 when it does not. Empty or placeholder → None.
pub(crate) fn cvss3(raw: &str, default: &str) -> Result<Option<String>, String> {
    let s = unwrap_vector(raw);
    if meaningful(s).is_none() {
        return Ok(None);
    }
    let (prefix, body) = if let Some(b) = s.strip_prefix("CVSS:3.1/") {
        ("CVSS:3.1/", b)
    } else if let Some(b) = s.strip_prefix("CVSS:3.0/") {
        ("CVSS:3.0/", b)
    } else if s.starts_with("CVSS:") {
        return Err(format!("\"{s}\" is not a CVSS v3 vector"));
    } else {
        (
            if default == "3.0" {
                "CVSS:3.0/"
            } else {
                "CVSS:3.1/"
            },
            s,
        )
    };
    check_metrics("3", body, &["AV", "AC", "PR", "UI", "S", "C", "I", "A"])?;
    Ok(Some(format!("{prefix}{body}")))
}

/// A CVSS v4.0 vector with its `CVSS:4.0/` prefix (added to a bare vector).
pub(crate) fn cvss4(raw: &str) -> Result<Option<String>, String> {
    let s = unwrap_vector(raw);
    if meaningful(s).is_none() {
        return Ok(None);
    }
    let body = match s.strip_prefix("CVSS:4.0/") {
        Some(b) => b,
        None if s.starts_with("CVSS:") => return Err(format!("\"{s}\" is not a CVSS v4.0 vector")),
        None => s,
    };
    check_metrics(
        "4.0",
        body,
        &[
            "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
        ],
    )?;
    Ok(Some(format!("CVSS:4.0/{body}")))
}

/// A CVSS v2 vector, bare (`AV:N/AC:L/Au:N/C:P/I:P/A:P`): v2 has no official prefix and
/// tools disagree (`CVSS2#`, parentheses).
pub(crate) fn cvss2(raw: &str) -> Result<Option<String>, String> {
    let s = unwrap_vector(raw);
    if meaningful(s).is_none() {
        return Ok(None);
    }
    check_metrics("2", s, &["AV", "AC", "Au", "C", "I", "A"])?;
    Ok(Some(s.to_string()))
}

/// The number at the start of `7.5`, `9.0 (AV:N/…)`; None for `-` or empty.
pub(crate) fn score(raw: &str) -> Option<f64> {
    let s = raw.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    s[..end].parse::<f64>().ok()
}

/// A base score as severity, refusing values outside 0–10.
pub(crate) fn cvss_severity(raw: &str) -> Result<Option<Severity>, String> {
    match score(raw) {
        None if meaningful(raw).is_none() => Ok(None),
        Some(s) if (0.0..=10.0).contains(&s) && score_is_whole(raw) => {
            Ok(Some(Severity::from_cvss(s)))
        }
        _ => Err(format!("score \"{}\" is not a number 0–10", raw.trim())),
    }
}

/// True when the score text is just the number (not `7.5abc`), allowing a vector after it.
fn score_is_whole(raw: &str) -> bool {
    let s = raw.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let rest = s[end..].trim_start();
    rest.is_empty() || rest.starts_with('(')
}

// ---------------------------------------------------------------------------------------
// Times: every seen_at is RFC 3339 UTC with whole seconds.

pub(crate) fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// RFC 3339 with any offset → UTC. Also accepts a space for `T` and a missing offset (read
/// as UTC), which Wazuh and some exporters write.
pub(crate) fn rfc3339(s: &str) -> Result<String, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(utc(t.with_timezone(&Utc)));
    }
    let fixed = s.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&fixed) {
        return Ok(utc(t.with_timezone(&Utc)));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&fixed, f) {
            return Ok(utc(Utc.from_utc_datetime(&t)));
        }
    }
    Err(format!("\"{s}\" is not an RFC 3339 time"))
}

/// Seconds since the Unix epoch.
pub(crate) fn unix(s: &str) -> Result<String, String> {
    let s = s.trim();
    s.parse::<i64>()
        .ok()
        .and_then(|n| Utc.timestamp_opt(n, 0).single())
        .map(utc)
        .ok_or_else(|| format!("\"{s}\" is not a Unix time"))
}

/// `Tue Jun 25 10:39:42 2013` (Nessus HOST_START/HOST_END), read as UTC — the file does not
/// say the scanner's zone. None when it does not parse: these are display strings.
pub(crate) fn ctime(s: &str) -> Option<String> {
    // The weekday is redundant and, when wrong, not worth refusing the time for.
    let s = s.split_whitespace().skip(1).collect::<Vec<_>>().join(" ");
    NaiveDateTime::parse_from_str(&s, "%b %d %H:%M:%S %Y")
        .ok()
        .map(|t| utc(Utc.from_utc_datetime(&t)))
}

/// `20131127T115513233` (Nexpose), read as UTC.
pub(crate) fn compact(s: &str) -> Result<String, String> {
    let s = s.trim();
    let head = s.get(..15).unwrap_or(s);
    NaiveDateTime::parse_from_str(head, "%Y%m%dT%H%M%S")
        .map(|t| utc(Utc.from_utc_datetime(&t)))
        .map_err(|_| format!("\"{s}\" is not a time like 20131127T115513233"))
}

/// `2025-03-14` (midnight UTC) or RFC 3339.
pub(crate) fn date_or_time(s: &str) -> Result<String, String> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(utc(
            Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
        ));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| utc(t.with_timezone(&Utc)))
        .map_err(|_| format!("\"{s}\" is neither YYYY-MM-DD nor an RFC 3339 time"))
}

// ---------------------------------------------------------------------------------------
// Text

/// Qualys and some Nessus fields carry HTML fragments (`<BR>`, `<P>`, `<A HREF>`): plain text
/// with paragraph breaks kept.
pub(crate) fn html_to_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('>') else {
            out.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let tag = rest[i + 1..i + j].trim().to_ascii_lowercase();
        let name = tag.trim_start_matches('/');
        let name = name
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        match name {
            // `<BR>` at a line end would otherwise leave a blank line.
            "br" if !rest[i + j + 1..].starts_with(['\n', '\r']) => out.push('\n'),
            "p" | "div" | "ul" | "ol" | "tr" | "table" => out.push_str("\n\n"),
            "li" if !tag.starts_with('/') => out.push_str("\n- "),
            _ => {}
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    tidy(&out)
}

/// Trims lines and keeps at most one blank line between paragraphs.
pub(crate) fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line.trim_start_matches(['\u{feff}']));
    }
    out.trim().to_string()
}

// ---------------------------------------------------------------------------------------
// Category

/// The layer of I.3.a a network scanner's check family (or Qualys category, Nexpose tag)
/// points to. Defaults to `system_software`: most network scanner checks are about an
/// operating system or the software running on it.
pub(crate) fn category_for(hints: &[&str]) -> &'static str {
    let joined = hints.join(" ").to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| joined.contains(w));
    if has(&[
        "web",
        "cgi",
        "http",
        "php",
        "cross-site",
        "sql injection",
        "xss",
    ]) {
        "application"
    } else if has(&[
        "database",
        "mysql",
        "oracle",
        "postgres",
        "mssql",
        "middleware",
        "tomcat",
        "weblogic",
        "websphere",
        "jboss",
    ]) {
        "middleware"
    } else if has(&[
        "local", "windows", "ubuntu", "debian", "red hat", "centos", "suse", "patch",
    ]) {
        "system_software"
    } else if has(&[
        "port scanner",
        "firewall",
        "snmp",
        "dns",
        "tcp",
        "ssl",
        "tls",
        "service detection",
        "useless services",
        "network",
        "cisco",
        "scada",
        "rpc",
        "smtp",
        "ftp",
        "ssh",
    ]) {
        "network"
    } else {
        "system_software"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_get_their_prefix_and_are_checked() {
        assert_eq!(
            cvss3("9.0 (AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H)", "3.1")
                .unwrap()
                .unwrap(),
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H"
        );
        assert_eq!(
            cvss3("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", "3.1")
                .unwrap()
                .unwrap(),
            "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"
        );
        assert!(cvss3("AV:N/AC:L", "3.1").is_err());
        assert!(cvss3("CVSS:2.0/AV:N", "3.1").is_err());
        assert_eq!(cvss3("-", "3.1").unwrap(), None);
        assert_eq!(
            cvss2("CVSS2#AV:N/AC:L/Au:N/C:P/I:P/A:P").unwrap().unwrap(),
            "AV:N/AC:L/Au:N/C:P/I:P/A:P"
        );
        assert_eq!(
            cvss2("(AV:N/AC:M/Au:N/C:P/I:P/A:N)").unwrap().unwrap(),
            "AV:N/AC:M/Au:N/C:P/I:P/A:N"
        );
        let v4 = "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        assert_eq!(cvss4(v4).unwrap().unwrap(), format!("CVSS:4.0/{v4}"));
        assert!(cvss4("CVSS:4.0/AV:N").is_err());
    }

    #[test]
    fn scores_and_times() {
        assert_eq!(cvss_severity("9.3").unwrap(), Some(Severity::Critical));
        assert_eq!(cvss_severity("").unwrap(), None);
        assert!(cvss_severity("11").is_err());
        assert!(cvss_severity("high").is_err());
        assert_eq!(unix("1581930455").unwrap(), "2020-02-17T09:07:35Z");
        assert_eq!(
            rfc3339("2021-05-20T11:11:01.667748+03:00").unwrap(),
            "2021-05-20T08:11:01Z"
        );
        assert_eq!(
            ctime("Tue Jun 25 10:39:42 2013").unwrap(),
            "2013-06-25T10:39:42Z"
        );
        assert_eq!(
            ctime("Wed Mar  3 15:07:52 2022").unwrap(),
            "2022-03-03T15:07:52Z"
        );
        assert_eq!(
            compact("20131127T115513233").unwrap(),
            "2013-11-27T11:55:13Z"
        );
        assert_eq!(date_or_time("2025-03-14").unwrap(), "2025-03-14T00:00:00Z");
        assert!(date_or_time("14/03/2025").is_err());
    }

    #[test]
    fn html_fragments_become_text() {
        assert_eq!(
            html_to_text("Line one<BR>\nline two&lt;x&gt;<P>Para <A HREF=\"u\">link</A>"),
            "Line one\nline two<x>\n\nPara link"
        );
    }

    #[test]
    fn hosts_and_ports() {
        let mut t = Target::default();
        place_host(&mut t, "10.0.0.1");
        place_host(&mut t, "Web01.example.cn");
        assert_eq!(t.ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(t.hostname.as_deref(), Some("Web01.example.cn"));
        let mut t = Target::default();
        place_address(&mut t, "192.168.1.1001");
        place_address(&mut t, "b6b9f466d63");
        assert_eq!(t.ip.as_deref(), Some("192.168.1.1001"));
        assert_eq!(t.hostname.as_deref(), Some("b6b9f466d63"));
        assert_eq!(text("a\n      b\n        c\n").unwrap(), "a\nb\n  c");
        // Blank lines set no indent; full-width (U+3000) spaces indent like ASCII ones.
        assert_eq!(text("a\n \n  b\n \u{3000}c").unwrap(), "a\n\nb\nc");
        assert_eq!(leading_space("\t \u{3000}x "), 5);
        assert!(says_nothing(" N/A ") && says_nothing("None") && says_nothing(""));
        assert!(!says_nothing("nan") && !says_nothing("no"));
        assert_eq!(prose("  n/a "), None);
        assert_eq!(port_proto("443/tcp"), (Some(443), Some("tcp".into())));
        assert_eq!(port_proto("general/tcp"), (None, None));
        assert!(port("70000").is_err());
        assert_eq!(
            split_list("CVE-1; CVE-2，CVE-3 x"),
            ["CVE-1", "CVE-2", "CVE-3", "x"]
        );
    }
}
