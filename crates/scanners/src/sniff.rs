//! Recognising a report from its name and first bytes.

use crate::Format;

/// Recognises a report from its file name and first bytes (read up to 64 KiB); None if
/// unknown. The content decides; the file name only breaks ties (`.sarif`, `.nessus`) and
/// is never trusted over the content.
pub fn sniff(file_name: &str, head: &[u8]) -> Option<Format> {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let text = String::from_utf8_lossy(head);
    let body = text.trim_start();
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match body.chars().next()? {
        '<' => xml(body),
        '{' | '[' => json(body, &ext),
        _ => csv(body),
    }
}

/// The name of the first element, past the declaration, comments and DOCTYPE.
fn root_element(body: &str) -> Option<&str> {
    let mut rest = body;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("<?") {
            rest = &r[r.find("?>")? + 2..];
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = &r[r.find("-->")? + 3..];
        } else if let Some(r) = rest.strip_prefix("<!") {
            rest = &r[r.find('>')? + 1..];
        } else if let Some(r) = rest.strip_prefix('<') {
            let end = r.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
            return Some(&r[..end]);
        } else {
            return None;
        }
    }
}

fn xml(body: &str) -> Option<Format> {
    match root_element(body)? {
        "NessusClientData_v2" => Some(Format::Nessus),
        "report" | "get_reports_response" => Some(Format::OpenvasXml),
        "ASSET_DATA_REPORT" => Some(Format::QualysXml),
        "NexposeReport" => Some(Format::NexposeXml),
        "nmaprun" => Some(Format::NmapXml),
        _ => None,
    }
}

fn json(body: &str, ext: &str) -> Option<Format> {
    let has = |k: &str| body.contains(k);
    if has("\"runs\"") && (has("sarif") || has("\"tool\"")) || ext == "sarif" {
        Some(Format::Sarif)
    } else if has("\"SchemaVersion\"")
        || has("\"ArtifactName\"")
        || (has("\"Target\"") && (has("\"Vulnerabilities\"") || has("\"Type\"")))
    {
        Some(Format::TrivyJson)
    } else if has("\"template-id\"") || has("\"templateID\"") || has("\"matched-at\"") {
        Some(Format::NucleiJson)
    } else if has("wazuh-states-vulnerabilities")
        || (has("\"vulnerability\"") && has("\"agent\"") && has("\"package\""))
    {
        Some(Format::WazuhJson)
    } else if has("\"ports\"") && has("\"ip\"") && (has("\"proto\"") || has("\"port\"")) {
        Some(Format::MasscanJson)
    } else {
        None
    }
}

fn csv(body: &str) -> Option<Format> {
    let header = body.lines().next()?;
    if header.contains("NVT OID") || header.contains("NVT Name") {
        return Some(Format::OpenvasCsv);
    }
    let cells: Vec<String> = header
        .split([',', ';', '\t'])
        .map(|c| c.trim().trim_matches('"').trim().to_ascii_lowercase())
        .collect();
    let known = |names: &[&str]| cells.iter().any(|c| names.contains(&c.as_str()));
    (known(crate::formats::template::TITLE_NAMES) && known(crate::formats::template::HOST_NAMES))
        .then_some(Format::Template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_by_content() {
        assert_eq!(
            sniff("x.xml", b"<?xml version=\"1.0\"?>\n<!DOCTYPE nmaprun>\n<!-- c -->\n<nmaprun scanner=\"nmap\">"),
            Some(Format::NmapXml)
        );
        assert_eq!(
            sniff("x.nessus", b"<NessusClientData_v2>"),
            Some(Format::Nessus)
        );
        assert_eq!(
            sniff("x.json", b"\xef\xbb\xbf{\"SchemaVersion\": 2"),
            Some(Format::TrivyJson)
        );
        assert_eq!(
            sniff("r.sarif", b"{\"version\":\"2.1.0\"}"),
            Some(Format::Sarif)
        );
        assert_eq!(
            sniff("m.csv", "资产IP,标题,严重程度\n".as_bytes()),
            Some(Format::Template)
        );
        assert_eq!(sniff("x.txt", b"hello"), None);
        assert_eq!(sniff("x.xml", b"<html>"), None);
        assert_eq!(sniff("x", b""), None);
    }
}
