//! Nessus `.nessus` (v2): `NessusClientData_v2/Report/ReportHost`, each with
//! `HostProperties` (tags) before its `ReportItem`s. One host and one item are held at a time.

use std::io::BufRead;

use yunshou_model::finding::{normalise_cves, normalise_cwes, Severity, Target};

use crate::emit::Out;
use crate::fields::{self, blank, clean, meaningful, paragraphs};
use crate::xml::{Ev, Start, Xml};
use crate::{Format, ParseError};

#[derive(Default)]
struct Host {
    name: String,
    ip: Option<String>,
    fqdn: Option<String>,
    netbios: Option<String>,
    os: Option<String>,
    cpes: Vec<String>,
    start: Option<String>,
    end: Option<String>,
    target: Option<Target>,
}

impl Host {
    fn tag(&mut self, name: &str, value: &str) -> Result<(), String> {
        let value = value.trim();
        match name {
            "host-ip" => self.ip = clean(value),
            "host-fqdn" => self.fqdn = clean(value),
            "netbios-name" => self.netbios = clean(value),
            "operating-system" => self.os = clean(value),
            "HOST_START_TIMESTAMP" => self.start = Some(fields::unix(value)?),
            "HOST_END_TIMESTAMP" => self.end = Some(fields::unix(value)?),
            // The display forms only when the exact timestamps are absent (older scanners).
            "HOST_START" if self.start.is_none() => self.start = fields::ctime(value),
            "HOST_END" if self.end.is_none() => self.end = fields::ctime(value),
            n if n == "cpe"
                || n.strip_prefix("cpe-")
                    .is_some_and(|i| i.parse::<u32>().is_ok()) =>
            {
                // `cpe:/a:php:php:5.6.40 -> PHP PHP`: the name, without the label.
                let cpe = value.split(" -> ").next().unwrap_or("").trim();
                if cpe.starts_with("cpe:") && !self.cpes.iter().any(|c| c == cpe) {
                    self.cpes.push(cpe.to_string());
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn target(&mut self) -> &Target {
        self.target.get_or_insert_with(|| {
            let mut t = Target {
                hostname: self.fqdn.clone().or_else(|| self.netbios.clone()),
                cpe: self.cpes.clone(),
                os: self.os.clone(),
                ..Default::default()
            };
            fields::place_host(&mut t, &self.name);
            if let Some(ip) = &self.ip {
                t.ip = None;
                fields::place_address(&mut t, ip);
            }
            t
        })
    }
}

struct Item {
    plugin_id: String,
    plugin_name: String,
    family: String,
    severity: Severity,
    severity_raw: String,
    port: Option<u16>,
    protocol: Option<String>,
    service: Option<String>,
    synopsis: Option<String>,
    description: Option<String>,
    solution: Option<String>,
    output: Option<String>,
    see_also: Vec<String>,
    cves: Vec<String>,
    cwes: Vec<String>,
    cvss3: Option<String>,
    cvss2: Option<String>,
    cvss4: Option<String>,
    exploited: bool,
    epss: Option<f64>,
}

impl Item {
    fn new(s: &Start) -> Result<Item, String> {
        let severity_raw = s.attr("severity").unwrap_or("").trim().to_string();
        let severity = match severity_raw.as_str() {
            "0" => Severity::Info,
            "1" => Severity::Low,
            "2" => Severity::Medium,
            "3" => Severity::High,
            "4" => Severity::Critical,
            other => return Err(format!("ReportItem severity \"{other}\" is not 0–4")),
        };
        let protocol = s
            .attr("protocol")
            .and_then(clean)
            .map(|p| p.to_ascii_lowercase());
        let port = fields::port(s.attr("port").unwrap_or(""))?;
        Ok(Item {
            plugin_id: s.attr("pluginID").unwrap_or("").trim().to_string(),
            plugin_name: s.attr("pluginName").unwrap_or("").trim().to_string(),
            family: s.attr("pluginFamily").unwrap_or("").trim().to_string(),
            severity,
            severity_raw,
            port,
            protocol: port.and(protocol),
            // Nessus marks guessed services with `?` (`https?`); "general" is the host itself.
            service: s
                .attr("svc_name")
                .map(|v| v.trim().trim_end_matches('?').to_string())
                .filter(|v| !v.is_empty() && v != "general"),
            synopsis: None,
            description: None,
            solution: None,
            output: None,
            see_also: Vec::new(),
            cves: Vec::new(),
            cwes: Vec::new(),
            cvss3: None,
            cvss2: None,
            cvss4: None,
            exploited: false,
            epss: None,
        })
    }

    fn child(&mut self, name: &str, text: &str) -> Result<(), String> {
        match name {
            "plugin_name" if self.plugin_name.is_empty() => self.plugin_name = text.trim().into(),
            "synopsis" => self.synopsis = fields::prose(text),
            "description" => self.description = fields::prose(text),
            "solution" => self.solution = fields::prose(text),
            "plugin_output" => self.output = fields::text(text),
            "see_also" => self.see_also.extend(fields::split_list(text)),
            "cve" => self.cves.push(text.trim().to_string()),
            "cwe" => self.cwes.push(text.trim().to_string()),
            "xref" => {
                if let Some(cwe) = text.trim().strip_prefix("CWE:") {
                    self.cwes.push(cwe.to_string());
                }
            }
            "cvss3_vector" => self.cvss3 = fields::cvss3(text, "3.0")?,
            "cvss_vector" => self.cvss2 = fields::cvss2(text)?,
            "cvss4_vector" => self.cvss4 = fields::cvss4(text)?,
            // `exploited_by_nessus` only says Nessus tried an exploit: not "known exploited".
            "exploit_available" | "exploited_by_malware" => {
                self.exploited |= text.trim().eq_ignore_ascii_case("true")
            }
            "cisa-known-exploited" | "cisa_known_exploited" => {
                self.exploited |= meaningful(text).is_some()
            }
            "epss_score" => {
                self.epss = match text.trim().parse::<f64>() {
                    Ok(e) => Some(e),
                    Err(_) => {
                        return Err(format!("epss_score \"{}\" is not a number", text.trim()))
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

pub(crate) fn parse<E>(input: &mut dyn BufRead, out: &mut Out<E>) -> Result<(), ParseError<E>> {
    let mut xml = Xml::new(Format::Nessus, input, &["NessusClientData_v2"]);
    let mut host: Option<Host> = None;
    let mut item: Option<Item> = None;
    let mut tag: Option<String> = None;
    loop {
        match xml.next()? {
            Ev::Eof => return Ok(()),
            Ev::Start(s) => match s.name.as_str() {
                "ReportHost" if xml.at(&["Report", "ReportHost"]) => {
                    host = Some(Host {
                        name: s.attr("name").unwrap_or("").to_string(),
                        ..Default::default()
                    });
                }
                "tag" if xml.at(&["HostProperties", "tag"]) => {
                    tag = s.attr("name").map(str::to_string);
                }
                "ReportItem" if host.is_some() && xml.at(&["ReportHost", "ReportItem"]) => {
                    item = Some(Item::new(&s).map_err(|r| xml.invalid(r))?);
                }
                _ => {}
            },
            Ev::End(e) => {
                if let Some(it) = item.as_mut() {
                    if xml.at(&["ReportItem"]) {
                        it.child(&e.name, &e.text).map_err(|r| xml.invalid(r))?;
                        continue;
                    }
                }
                match e.name.as_str() {
                    "tag" if xml.at(&["HostProperties"]) => {
                        if let (Some(h), Some(name)) = (host.as_mut(), tag.take()) {
                            h.tag(&name, &e.text).map_err(|r| xml.invalid(r))?;
                        }
                    }
                    "HostProperties" => {
                        if let Some(h) = host.as_mut() {
                            announce(h, out, &xml)?;
                        }
                    }
                    "ReportItem" => {
                        if let (Some(h), Some(it)) = (host.as_mut(), item.take()) {
                            announce(h, out, &xml)?;
                            emit(h, it, out, &xml)?;
                        }
                    }
                    "ReportHost" => {
                        if let Some(mut h) = host.take() {
                            announce(&mut h, out, &xml)?;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Sends the host as scanned (once) and notes its scan time.
fn announce<E>(h: &mut Host, out: &mut Out<E>, xml: &Xml) -> Result<(), ParseError<E>> {
    if h.target.is_none() {
        out.scan_time(h.start.as_deref());
        let t = h.target();
        if t.is_anonymous() {
            return Err(xml.invalid("ReportHost has neither a name nor a host-ip"));
        }
        let t = t.clone();
        out.scanned(&t)?;
    }
    Ok(())
}

fn emit<E>(h: &mut Host, it: Item, out: &mut Out<E>, xml: &Xml) -> Result<(), ParseError<E>> {
    if it.family == "Settings" {
        out.skip(format!(
            "Nessus plugin {} ({}): scan settings and status, not a weakness of the host",
            it.plugin_id, it.plugin_name
        ));
        return Ok(());
    }
    let seen_at = h.end.clone().or_else(|| h.start.clone());
    let mut f = blank("nessus");
    f.target = Target {
        port: it.port,
        protocol: it.protocol,
        service: it.service,
        ..h.target().clone()
    };
    f.check_id = clean(&it.plugin_id);
    f.title = it.plugin_name;
    f.description = paragraphs([it.synopsis.as_deref(), it.description.as_deref()]);
    f.solution = it.solution;
    f.evidence = it.output;
    f.cves = normalise_cves(&it.cves);
    f.cwes = normalise_cwes(&it.cwes);
    f.cvss3 = it.cvss3;
    f.cvss2 = it.cvss2;
    f.cvss4 = it.cvss4;
    f.severity = it.severity;
    f.severity_raw = Some(it.severity_raw);
    f.references = it.see_also;
    f.seen_at = seen_at;
    f.known_exploited = it.exploited;
    f.epss = it.epss;
    f.category = Some(fields::category_for(&[&it.family]).to_string());
    out.finding(f, || xml.position())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_all;

    const DOC: &str = r#"<?xml version="1.0" ?>
<NessusClientData_v2><Policy><policyName>x</policyName></Policy>
<Report name="r"><ReportHost name="10.20.1.15"><HostProperties>
<tag name="HOST_END_TIMESTAMP">1648044472</tag><tag name="host-fqdn">db01.gov.example</tag>
<tag name="cpe-0">cpe:/o:linux:linux_kernel -&gt; Linux Kernel</tag>
</HostProperties>
<ReportItem port="0" svc_name="general" protocol="tcp" severity="0" pluginID="19506" pluginName="Nessus Scan Information" pluginFamily="Settings"><plugin_output>x</plugin_output></ReportItem>
<ReportItem port="443" svc_name="https?" protocol="tcp" severity="3" pluginID="1" pluginName="Weak TLS" pluginFamily="General">
<cve>CVE-2014-3566</cve><cwe>327</cwe><cvss3_vector>CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N</cvss3_vector>
<exploit_available>true</exploit_available><see_also>https://a
https://b</see_also></ReportItem>
</ReportHost></Report></NessusClientData_v2>"#;

    #[test]
    fn a_host_and_its_items() {
        let (items, summary) = parse_all(Format::Nessus, &mut DOC.as_bytes()).unwrap();
        assert_eq!((summary.findings, summary.targets), (1, 1));
        assert_eq!(summary.skipped.len(), 1);
        assert_eq!(summary.scanned_at, None);
        let yunshou_model::finding::ReportItem::Finding(f) = &items[1] else {
            panic!("{items:?}")
        };
        assert_eq!(f.target.ip.as_deref(), Some("10.20.1.15"));
        assert_eq!(f.target.hostname.as_deref(), Some("db01.gov.example"));
        assert_eq!(f.target.cpe, ["cpe:/o:linux:linux_kernel"]);
        assert_eq!(f.target.service.as_deref(), Some("https"));
        assert_eq!(f.cwes, ["CWE-327"]);
        assert!(f.known_exploited);
        assert_eq!(f.references, ["https://a", "https://b"]);
        assert_eq!(f.seen_at.as_deref(), Some("2022-03-23T14:07:52Z"));
    }

    #[test]
    fn bad_values_are_refused() {
        let doc = DOC.replace("severity=\"3\"", "severity=\"7\"");
        let e = parse_all(Format::Nessus, &mut doc.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("severity \"7\""), "{e}");
        let doc = DOC
            .replace("<ReportHost name=\"10.20.1.15\">", "<ReportHost>")
            .replace("host-fqdn", "x");
        let e = parse_all(Format::Nessus, &mut doc.as_bytes()).unwrap_err();
        assert!(
            e.to_string().contains("neither a name nor a host-ip"),
            "{e}"
        );
    }
}
