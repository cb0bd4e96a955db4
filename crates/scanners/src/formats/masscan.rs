//! masscan JSON (`-oJ`): an array of `{ip, timestamp, ports: [{port, proto, status,
//! service?}]}`, one object per response; open ports become informational findings.

use std::collections::HashMap;
use std::io::BufRead;

use serde::Deserialize;
use yunshou_model::finding::{Severity, Target};

use crate::emit::Out;
use crate::fields::{self, blank};
use crate::ParseError;

#[derive(Deserialize)]
struct Entry {
    /// Absent in the `{"finished": 1}` trailer older masscan versions write.
    ip: Option<String>,
    timestamp: Option<serde_json::Value>,
    #[serde(default)]
    ports: Vec<PortEntry>,
}

#[derive(Deserialize)]
struct PortEntry {
    port: u16,
    #[serde(default)]
    proto: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    service: Option<Service>,
}

#[derive(Deserialize)]
struct Service {
    name: Option<String>,
    banner: Option<String>,
}

struct Open {
    ip: String,
    port: u16,
    proto: String,
    seen_at: Option<String>,
    service: Option<String>,
    banners: Vec<String>,
}

pub(crate) fn parse<E>(input: &mut dyn BufRead, out: &mut Out<E>) -> Result<(), ParseError<E>> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|e| out.invalid("byte 0", format!("not UTF-8 text: {e}")))?;
    // Older masscan ends the array with `,\n]` or a `{finished: 1}` line; both are its own
    // dialect, not damage.
    let trimmed = text.trim_end();
    let text = match trimmed.strip_suffix(']') {
        Some(body) if body.trim_end().ends_with(',') => {
            format!("{}]", body.trim_end().trim_end_matches(','))
        }
        _ => trimmed.to_string(),
    };
    let de = &mut serde_json::Deserializer::from_str(&text);
    let entries: Vec<Entry> =
        serde_path_to_error::deserialize(de).map_err(|e| super::json_error(out, &e))?;
    // Banners arrive as further entries for the same port: fold them into one finding.
    let mut open: Vec<Open> = Vec::new();
    let mut index: HashMap<(String, u16, String), usize> = HashMap::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let Some(ip) = entry.ip else { continue };
        if !fields::is_ip(&ip) {
            return Err(out.invalid(
                format!("[{i}].ip"),
                format!("\"{ip}\" is not an IP address"),
            ));
        }
        let seen_at = match &entry.timestamp {
            Some(serde_json::Value::String(s)) => Some(fields::unix(s)),
            Some(serde_json::Value::Number(n)) => Some(fields::unix(&n.to_string())),
            _ => None,
        }
        .transpose()
        .map_err(|m| out.invalid(format!("[{i}].timestamp"), m))?;
        out.scan_time(seen_at.as_deref());
        out.scanned(&Target {
            ip: Some(ip.clone()),
            ..Default::default()
        })?;
        for p in entry.ports {
            if p.status.as_deref().is_some_and(|s| s != "open") || p.port == 0 {
                continue;
            }
            let proto = p.proto.unwrap_or_else(|| "tcp".into()).to_ascii_lowercase();
            let idx = *index
                .entry((ip.clone(), p.port, proto.clone()))
                .or_insert_with(|| {
                    open.push(Open {
                        ip: ip.clone(),
                        port: p.port,
                        proto,
                        seen_at: seen_at.clone(),
                        service: None,
                        banners: Vec::new(),
                    });
                    open.len() - 1
                });
            if let Some(s) = p.service {
                let o = &mut open[idx];
                if o.service.is_none() {
                    o.service = s.name.clone().filter(|n| n != "title");
                }
                if let Some(b) = s.banner.filter(|b| !b.trim().is_empty()) {
                    o.banners
                        .push(format!("{}: {}", s.name.unwrap_or_default(), b.trim()));
                }
            }
        }
    }
    for (i, o) in open.into_iter().enumerate() {
        let mut f = blank("masscan");
        f.target = Target {
            ip: Some(o.ip),
            port: Some(o.port),
            protocol: Some(o.proto.clone()),
            service: o.service,
            ..Default::default()
        };
        f.check_id = Some(format!("port:{}/{}", o.port, o.proto));
        f.title = format!("Open port {}/{}", o.port, o.proto);
        f.description = Some(format!("Port {}/{} is open.", o.port, o.proto));
        f.evidence = (!o.banners.is_empty()).then(|| o.banners.join("\n"));
        f.severity = Severity::Info;
        f.seen_at = o.seen_at;
        f.category = Some("network".to_string());
        out.finding(f, || format!("open port {i}"))?;
    }
    Ok(())
}
