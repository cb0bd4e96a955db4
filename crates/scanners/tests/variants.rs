//! Variants of each format the fixtures do not show: newer field names, other report
//! shapes, and the values that must be refused.

use yunshou_scanners::{
    parse_all, Format, ParseError, ReportItem, ReportedFinding, Severity, Target,
};

fn run(
    format: Format,
    text: &str,
) -> (Vec<ReportedFinding>, Vec<Target>, yunshou_scanners::Summary) {
    let (items, summary) =
        parse_all(format, &mut text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let mut findings = Vec::new();
    let mut scanned = Vec::new();
    for i in items {
        match i {
            ReportItem::Finding(f) => findings.push(*f),
            ReportItem::Scanned(s) => scanned.push(s.target),
        }
    }
    (findings, scanned, summary)
}

fn reason(format: Format, text: &str) -> String {
    match parse_all(format, &mut text.as_bytes()) {
        Err(ParseError::Invalid { reason, .. }) => reason,
        other => panic!("{format}: {other:?}"),
    }
}

#[test]
fn nuclei_current_field_names_and_classification() {
    let line = r#"{"template-id":"CVE-2021-44228","info":{"name":"Apache Log4j2 RCE","severity":"critical","reference":["https://logging.apache.org/log4j/2.x/security.html"],"classification":{"cve-id":["cve-2021-44228"],"cwe-id":["cwe-502","cwe-400"],"cvss-metrics":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H","cvss-score":10,"epss-score":0.97565},"remediation":"Upgrade to 2.17.1."},"type":"http","host":"https://oa.gov.example:8443","matched-at":"https://oa.gov.example:8443/api/login","ip":"10.20.1.40","timestamp":"2025-03-14T10:00:00.123+08:00","matcher-status":true}"#;
    let (f, s, _) = run(Format::NucleiJson, &format!("{line}\n\n"));
    assert_eq!(s.len(), 1);
    let f = &f[0];
    assert_eq!(f.cves, ["CVE-2021-44228"]);
    assert_eq!(f.cwes, ["CWE-400", "CWE-502"]);
    assert_eq!(f.epss, Some(0.97565));
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.target.port, Some(8443));
    assert_eq!(f.target.hostname.as_deref(), Some("oa.gov.example"));
    assert_eq!(f.seen_at.as_deref(), Some("2025-03-14T02:00:00Z"));
    assert_eq!(f.solution.as_deref(), Some("Upgrade to 2.17.1."));
    // The same result as a JSON array (-je).
    let (f2, _, _) = run(Format::NucleiJson, &format!("[{line}]"));
    assert_eq!(f2[0], *f);
    let bad = line.replace("\"critical\"", "\"severe\"");
    assert!(reason(Format::NucleiJson, &bad).contains("info.severity \"severe\""));
}

#[test]
fn sarif_security_severity_and_cwe_tags() {
    let log = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"CodeQL","rules":[
      {"id":"js/sql-injection","shortDescription":{"text":"Database query built from user-controlled sources"},
       "helpUri":"https://codeql.github.com/","properties":{"tags":["security","external/cwe/cwe-089"],"security-severity":"8.8"}}]}},
      "results":[{"ruleId":"js/sql-injection","ruleIndex":0,"message":{"text":"This query depends on a user-provided value."},
       "locations":[{"physicalLocation":{"artifactLocation":{"uri":"src/db.js"},"region":{"startLine":42}}}]},
       {"ruleId":"js/sql-injection","kind":"pass","message":{"text":"ok"}}]}]}"#;
    let (f, s, summary) = run(Format::Sarif, log);
    assert_eq!((f.len(), s.len()), (1, 1));
    assert!(
        s[0].is_anonymous(),
        "no versionControlProvenance: the caller assigns the asset"
    );
    assert_eq!(f[0].source, "codeql");
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].severity_raw.as_deref(), Some("8.8"));
    assert_eq!(f[0].cwes, ["CWE-89"]);
    assert_eq!(f[0].target.location.as_deref(), Some("src/db.js:42"));
    assert_eq!(
        summary.skipped,
        ["SARIF result of kind \"pass\": not a failure"]
    );
    assert!(reason(Format::Sarif, &log.replace("8.8", "88")).contains("security-severity"));
    assert!(reason(Format::Sarif, r#"{"version":"2.1.0"}"#).contains("missing field `runs`"));
}

#[test]
fn trivy_misconfigurations_secrets_and_repositories() {
    let report = r#"{"SchemaVersion":2,"CreatedAt":"2025-03-14T09:30:00+08:00","ArtifactName":"https://git.gov.example/oa.git","ArtifactType":"repository",
      "Results":[{"Target":"Dockerfile","Class":"config","Type":"dockerfile","Misconfigurations":[
        {"ID":"DS002","Title":"Image user should not be 'root'","Message":"Specify at least 1 USER command","Resolution":"Add 'USER <non root user name>' line","Severity":"HIGH","Status":"FAIL","CauseMetadata":{"StartLine":1}},
        {"ID":"DS001","Title":"':latest' tag used","Severity":"MEDIUM","Status":"PASS"}]},
       {"Target":"config/app.env","Class":"secret","Secrets":[{"RuleID":"aws-access-key-id","Title":"AWS Access Key ID","Severity":"CRITICAL","StartLine":3,"Match":"AWS_ACCESS_KEY_ID=********"}]}]}"#;
    let (f, s, summary) = run(Format::TrivyJson, report);
    assert_eq!((f.len(), s.len()), (2, 1));
    assert_eq!(
        s[0].repository.as_deref(),
        Some("https://git.gov.example/oa.git")
    );
    assert_eq!(summary.scanned_at.as_deref(), Some("2025-03-14T01:30:00Z"));
    assert_eq!(f[0].title, "DS002: Image user should not be 'root'");
    assert_eq!(f[0].target.location.as_deref(), Some("Dockerfile:1"));
    assert_eq!(f[1].severity, Severity::Critical);
    assert_eq!(f[1].target.location.as_deref(), Some("config/app.env:3"));
    let bad = report.replace("\"HIGH\"", "\"SEVERE\"");
    let e = parse_all(Format::TrivyJson, &mut bad.as_bytes()).unwrap_err();
    assert!(
        e.to_string().contains("Results[0].Misconfigurations[0]"),
        "{e}"
    );
    assert!(reason(Format::TrivyJson, r#"{"hello":1}"#).contains("not a Trivy report"));
}

#[test]
fn wazuh_document_arrays() {
    let docs = r#"[{"agent":{"id":"003","name":"gov-db01","ip":"10.20.1.22"},"host":{"os":{"name":"CentOS","version":"7.9"}},
      "package":{"name":"openssl","version":"1.0.2k"},"vulnerability":{"id":"CVE-2022-0778","severity":"-","score":{"base":7.5,"version":"3.1"},
      "reference":"https://nvd.nist.gov/vuln/detail/CVE-2022-0778","detected_at":"2025-03-14T01:02:03Z"}}]"#;
    let (f, s, _) = run(Format::WazuhJson, docs);
    assert_eq!(s[0].ip.as_deref(), Some("10.20.1.22"));
    assert_eq!(s[0].os.as_deref(), Some("CentOS 7.9"));
    assert_eq!(f[0].severity, Severity::High, "no word: the score decides");
    assert!(reason(
        Format::WazuhJson,
        &docs
            .replace("\"-\"", "\"Grave\"")
            .replace("\"base\":7.5,", "")
    )
    .contains("Grave"));
}

#[test]
fn masscan_banners_and_old_trailers() {
    let out = r#"[
{ "ip": "10.20.1.15", "timestamp": "1710400000", "ports": [ {"port": 22, "proto": "tcp", "status": "open"} ] },
{ "ip": "10.20.1.15", "timestamp": "1710400001", "ports": [ {"port": 22, "proto": "tcp", "service": {"name": "ssh", "banner": "SSH-2.0-OpenSSH_8.9p1"}} ] },
{"finished": 1},
]"#;
    let (f, s, _) = run(Format::MasscanJson, out);
    assert_eq!((f.len(), s.len()), (1, 1));
    assert_eq!(f[0].target.service.as_deref(), Some("ssh"));
    assert_eq!(f[0].evidence.as_deref(), Some("ssh: SSH-2.0-OpenSSH_8.9p1"));
    assert!(
        reason(Format::MasscanJson, &out.replace("10.20.1.15", "web01"))
            .contains("not an IP address")
    );
}

#[test]
fn nmap_vulners_text_output_down_hosts_and_exploits() {
    let xml = r#"<?xml version="1.0"?><nmaprun start="1710400000">
<host><status state="down"/><address addr="10.20.1.99" addrtype="ipv4"/></host>
<host endtime="1710400100"><status state="up"/><address addr="10.20.1.30" addrtype="ipv4"/><address addr="00:11:22:33:44:55" addrtype="mac"/>
<ports><port protocol="tcp" portid="22"><state state="open"/><service name="ssh" product="OpenSSH" version="8.9p1"/>
<script id="vulners" output="&#xa;  cpe:/a:openbsd:openssh:8.9p1: &#xa;    &#x9;CVE-2024-6387&#x9;8.1&#x9;https://vulners.com/cve/CVE-2024-6387&#x9;*EXPLOIT*&#xa;    &#x9;PACKETSTORM:179290&#x9;8.1&#x9;https://vulners.com/packetstorm/PACKETSTORM:179290&#x9;*EXPLOIT*"/></port>
<port protocol="udp" portid="161"><state state="closed"/></port></ports>
<os><osmatch name="Linux 5.0 - 5.14"><osclass><cpe>cpe:/o:linux:linux_kernel:5</cpe></osclass></osmatch></os></host></nmaprun>"#;
    let (f, s, summary) = run(Format::NmapXml, xml);
    assert_eq!((f.len(), s.len()), (2, 1));
    assert_eq!(summary.skipped, ["nmap host 10.20.1.99: not up"]);
    assert_eq!(s[0].cpe, ["cpe:/o:linux:linux_kernel:5"]);
    let cve = f.iter().find(|f| !f.cves.is_empty()).unwrap();
    assert_eq!(cve.cves, ["CVE-2024-6387"]);
    assert!(cve.known_exploited);
    assert_eq!(cve.severity, Severity::High);
    assert_eq!(cve.target.os.as_deref(), Some("Linux 5.0 - 5.14"));
}

#[test]
fn openvas_false_positives_vectors_and_hosts_without_a_host_section() {
    let xml = r#"<report id="x"><report id="y"><scan_start>2025-03-14T01:00:00Z</scan_start><results>
<result><name>a</name><host>10.20.1.15<hostname>web01</hostname></host><port>443/tcp</port>
<nvt oid="1.3.6.1.4.1.25623.1.0.1"><name>TLS weak</name><family>SSL and TLS</family><tags>summary=s|cvss_base_vector=CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N|solution=fix</tags>
<severities score="5.9"><severity type="cvss_base_v3"><value>CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N</value></severity></severities></nvt>
<threat>Medium</threat><severity>5.9</severity><description>out</description></result>
<result><name>b</name><host>10.20.1.15</host><port>80/tcp</port><nvt oid="2"><name>FP</name></nvt><threat>False Positive</threat><severity>-1.0</severity></result>
</results></report></report>"#;
    let (f, s, summary) = run(Format::OpenvasXml, xml);
    assert_eq!((f.len(), s.len()), (1, 1));
    assert_eq!(s[0].hostname.as_deref(), Some("web01"));
    assert_eq!(
        f[0].cvss3.as_deref(),
        Some("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N")
    );
    assert_eq!(f[0].category.as_deref(), Some("network"));
    assert_eq!(f[0].solution.as_deref(), Some("fix"));
    assert_eq!(summary.skipped.len(), 1);
    assert!(reason(
        Format::OpenvasXml,
        &xml.replace("<severity>5.9", "<severity>12")
    )
    .contains("0–10"));
}

#[test]
fn qualys_detections_without_a_glossary_entry_are_listed() {
    let xml = r#"<ASSET_DATA_REPORT><HOST_LIST><HOST><IP>10.20.1.15</IP><DNS>web01</DNS><VULN_INFO_LIST>
<VULN_INFO><QID id="qid_1">1</QID><TYPE>Vuln</TYPE><LAST_FOUND>2025-03-14T01:00:00Z</LAST_FOUND></VULN_INFO>
<VULN_INFO><QID id="qid_2">2</QID><TYPE>Vuln</TYPE></VULN_INFO>
</VULN_INFO_LIST></HOST></HOST_LIST><GLOSSARY><VULN_DETAILS_LIST><VULN_DETAILS id="qid_1"><QID>1</QID><TITLE>T</TITLE><SEVERITY>5</SEVERITY></VULN_DETAILS>
</VULN_DETAILS_LIST></GLOSSARY></ASSET_DATA_REPORT>"#;
    let (f, s, summary) = run(Format::QualysXml, xml);
    assert_eq!((f.len(), s.len()), (1, 1));
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(
        summary.skipped,
        ["Qualys QID 2: not in the report's glossary"]
    );
    assert!(reason(
        Format::QualysXml,
        &xml.replace("<SEVERITY>5", "<SEVERITY>9")
    )
    .contains("1–5"));
    assert!(reason(
        Format::QualysXml,
        &xml.replace("<IP>10.20.1.15</IP><DNS>web01</DNS>", "")
    )
    .contains("neither an IP"));
}

#[test]
fn nessus_skips_are_bounded_on_big_files() {
    let mut xml = String::from(
        "<NessusClientData_v2><Report><ReportHost name=\"10.0.0.1\"><HostProperties/>",
    );
    for i in 0..500 {
        xml.push_str(&format!(
            "<ReportItem port=\"0\" protocol=\"tcp\" severity=\"0\" pluginID=\"{}\" pluginName=\"p{i}\" pluginFamily=\"Settings\"/>",
            100_000 + i % 80
        ));
    }
    xml.push_str("</ReportHost></Report></NessusClientData_v2>");
    let (f, s, summary) = run(Format::Nessus, &xml);
    assert_eq!((f.len(), s.len()), (0, 1));
    assert_eq!(summary.skipped.len(), 51);
    assert!(summary
        .skipped
        .last()
        .unwrap()
        .contains("more items skipped"));
}

#[test]
fn a_byte_order_mark_is_ignored() {
    for (format, text) in [
        (
            Format::TrivyJson,
            r#"{"SchemaVersion":2,"ArtifactName":"a:1","Results":[]}"#,
        ),
        (
            Format::NmapXml,
            r#"<?xml version="1.0"?><nmaprun start="1"></nmaprun>"#,
        ),
        (Format::Template, "ip,title,severity\n10.0.0.1,x,low\n"),
    ] {
        let (items, _) = parse_all(format, &mut format!("\u{feff}{text}").as_bytes())
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert!(items.len() <= 1, "{format}");
    }
}
