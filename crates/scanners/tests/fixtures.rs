//! Every real sample in `shared/fixtures/scanners` (beside the repository), parsed by its
//! format. Counts were established by reading the files with an independent XML/JSON/CSV
//! reader, not by this crate.

use std::io::BufReader;

use yunshou_scanners::{
    parse, parse_all, sniff, Format, ParseError, ReportItem, ReportedFinding, Severity, Summary,
    Target,
};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/scanners/"
);
const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/manual-findings.csv");

/// Every fixture and its format.
const ALL: &[(&str, Format)] = &[
    ("masscan/masscan_many_vuln.json", Format::MasscanJson),
    ("nessus/nessus_many_vuln.xml", Format::Nessus),
    ("nessus/nessus_with_cvssv3.nessus", Format::Nessus),
    ("nexpose/many_vulns.xml", Format::NexposeXml),
    ("nmap/nmap_0port.xml", Format::NmapXml),
    ("nmap/nmap_multiple_port.xml", Format::NmapXml),
    ("nmap/nmap_script_vulners.xml", Format::NmapXml),
    ("nuclei/many_findings.json", Format::NucleiJson),
    ("openvas/many_vuln.csv", Format::OpenvasCsv),
    ("openvas/many_vuln.xml", Format::OpenvasXml),
    ("openvas/no_vuln.xml", Format::OpenvasXml),
    ("openvas/one_vuln.xml", Format::OpenvasXml),
    ("qualys/Qualys_Sample_Report.xml", Format::QualysXml),
    ("sarif/appendix_k.sarif", Format::Sarif),
    ("trivy/legacy_many_vulns.json", Format::TrivyJson),
    ("trivy/scheme_2_many_vulns.json", Format::TrivyJson),
    ("wazuh/v4-8_many_findings.json", Format::WazuhJson),
];

fn path(rel: &str) -> String {
    format!("{FIXTURES}{rel}")
}

fn bytes(rel: &str) -> Vec<u8> {
    std::fs::read(path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

struct Parsed {
    findings: Vec<ReportedFinding>,
    scanned: Vec<Target>,
    summary: Summary,
}

impl Parsed {
    fn find(&self, pred: impl Fn(&ReportedFinding) -> bool) -> &ReportedFinding {
        self.findings
            .iter()
            .find(|f| pred(f))
            .expect("finding not found")
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

fn load_bytes(format: Format, data: &[u8]) -> Parsed {
    let (items, summary) =
        parse_all(format, &mut BufReader::new(data)).unwrap_or_else(|e| panic!("{format}: {e}"));
    let mut findings = Vec::new();
    let mut scanned = Vec::new();
    for item in items {
        match item {
            ReportItem::Finding(f) => findings.push(*f),
            ReportItem::Scanned(s) => scanned.push(s.target),
        }
    }
    assert_eq!(summary.findings as usize, findings.len());
    assert_eq!(summary.targets as usize, scanned.len());
    for f in &findings {
        assert!(!f.title.trim().is_empty(), "{format}: untitled finding");
        assert!(
            f.seen_at.as_deref().is_none_or(|t| t.ends_with('Z')),
            "{format}: {:?}",
            f.seen_at
        );
        assert!(f.cvss3.as_deref().is_none_or(|v| v.starts_with("CVSS:3.")));
        assert!(f
            .cvss4
            .as_deref()
            .is_none_or(|v| v.starts_with("CVSS:4.0/")));
        if format != Format::Template {
            assert_eq!(f.method.as_deref(), Some("scan"));
        }
    }
    Parsed {
        findings,
        scanned,
        summary,
    }
}

fn load(format: Format, rel: &str) -> Parsed {
    load_bytes(format, &bytes(rel))
}

fn counts(p: &Parsed) -> (usize, usize) {
    (p.findings.len(), p.scanned.len())
}

#[test]
fn nessus_with_cvssv3() {
    let p = load(Format::Nessus, "nessus/nessus_with_cvssv3.nessus");
    // 49 ReportItems; 19506 "Nessus Scan Information" (family Settings) is about the scan.
    assert_eq!(counts(&p), (48, 1));
    assert_eq!(p.summary.skipped.len(), 1);
    assert!(p.summary.skipped[0].starts_with("Nessus plugin 19506"));
    assert_eq!(
        p.summary.scanned_at.as_deref(),
        Some("2022-03-23T13:31:51Z")
    );
    assert_eq!(
        [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical
        ]
        .map(|s| p.count(s)),
        [22, 1, 13, 10, 2]
    );
    let host = &p.scanned[0];
    assert_eq!(host.ip.as_deref(), Some("44.228.249.3"));
    assert_eq!(host.hostname.as_deref(), Some("testphp.vulnweb.com"));
    assert_eq!(host.os.as_deref(), Some("Linux Kernel 2.6"));
    assert!(host.cpe.contains(&"cpe:/a:nginx:nginx:1.19.0".to_string()));

    let f = p.find(|f| f.check_id.as_deref() == Some("58988"));
    assert_eq!(
        f.title,
        "PHP < 5.3.12 / 5.4.2 CGI Query String Code Execution"
    );
    assert_eq!(f.target.ip.as_deref(), Some("44.228.249.3"));
    assert_eq!(f.target.hostname.as_deref(), Some("testphp.vulnweb.com"));
    assert_eq!(
        (f.target.port, f.target.protocol.as_deref()),
        (Some(80), Some("tcp"))
    );
    assert_eq!(f.target.service.as_deref(), Some("www"));
    assert_eq!(f.cves, ["CVE-2012-1823"]);
    assert_eq!(f.cvss2.as_deref(), Some("AV:N/AC:L/Au:N/C:P/I:P/A:P"));
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.severity_raw.as_deref(), Some("3"));
    assert!(f.known_exploited);
    assert_eq!(f.seen_at.as_deref(), Some("2022-03-23T14:07:52Z"));
    assert!(f
        .solution
        .as_deref()
        .unwrap()
        .starts_with("Upgrade to PHP version 5.3.12 / 5.4.2"));
    assert!(f
        .evidence
        .as_deref()
        .unwrap()
        .contains("Installed version : 5.1.6"));
    assert_eq!(f.references.len(), 5);
    assert_eq!(f.category.as_deref(), Some("application"));

    let f = p.find(|f| f.check_id.as_deref() == Some("17797"));
    assert_eq!(
        f.cvss3.as_deref(),
        Some("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N")
    );
    let f = p.find(|f| f.check_id.as_deref() == Some("26194"));
    assert_eq!(
        f.cwes,
        ["CWE-522", "CWE-523", "CWE-718", "CWE-724", "CWE-928", "CWE-930"]
    );
    assert_eq!(f.severity, Severity::Low);
    let f = p.find(|f| f.check_id.as_deref() == Some("10114"));
    assert_eq!(f.target.port, None);
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(p.findings.iter().filter(|f| f.known_exploited).count(), 2);
}

#[test]
fn nessus_many_vuln() {
    let p = load(Format::Nessus, "nessus/nessus_many_vuln.xml");
    assert_eq!(counts(&p), (6, 1));
    assert_eq!(p.count(Severity::Info), 6);
    // No *_TIMESTAMP tags: the display times, read as UTC.
    assert_eq!(
        p.summary.scanned_at.as_deref(),
        Some("2013-06-25T10:32:42Z")
    );
    let f = p.find(|f| f.target.port == Some(264));
    assert_eq!(f.title, "Nessus SYN scanner");
    assert_eq!(f.target.ip.as_deref(), Some("12.233.108.201"));
    assert_eq!(
        f.target.hostname.as_deref(),
        Some("preprod.boardvantage.net")
    );
    assert_eq!(f.target.os.as_deref(), Some("CISCO PIX 7.0"));
    assert_eq!(f.target.service.as_deref(), Some("fw1-topology-download"));
    assert_eq!(f.seen_at.as_deref(), Some("2013-06-25T10:39:42Z"));
}

#[test]
fn openvas_xml() {
    let p = load(Format::OpenvasXml, "openvas/many_vuln.xml");
    assert_eq!(counts(&p), (44, 1));
    assert_eq!(
        [Severity::Medium, Severity::High, Severity::Critical].map(|s| p.count(s)),
        [25, 11, 8]
    );
    // The anonymised export's address is kept as written; the ledger decides.
    assert_eq!(p.scanned[0].ip.as_deref(), Some("192.168.1.1001"));
    assert_eq!(p.scanned[0].hostname.as_deref(), Some("b6b9f466d63"));
    let f = p.find(|f| f.check_id.as_deref() == Some("1.3.6.1.4.1.25623.1.0.800320"));
    assert_eq!(f.title, "TWiki XSS and Command Execution Vulnerabilities");
    assert_eq!(
        (f.target.port, f.target.protocol.as_deref()),
        (Some(80), Some("tcp"))
    );
    assert_eq!(f.cves, ["CVE-2008-5304", "CVE-2008-5305"]);
    assert_eq!(f.references.len(), 4);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.severity_raw.as_deref(), Some("10.0"));
    assert_eq!(
        f.solution.as_deref(),
        Some("Upgrade to version 4.2.4 or\nlater.")
    );
    assert!(f
        .evidence
        .as_deref()
        .unwrap()
        .starts_with("Installed version: 01.Feb.2003"));
    assert_eq!(f.category.as_deref(), Some("application"));
    assert_eq!(f.seen_at.as_deref(), Some("2023-09-26T10:50:34Z"));
    let f = p.find(|f| f.target.port.is_none());
    assert_eq!(f.target.protocol, None, "general/tcp is the host itself");

    let p = load(Format::OpenvasXml, "openvas/one_vuln.xml");
    assert_eq!(counts(&p), (1, 1));
    let f = &p.findings[0];
    assert_eq!(
        f.title,
        "Mozilla Firefox Security Update (mfsa_2023-32_2023-36) - Windows"
    );
    assert_eq!(f.target.ip.as_deref(), Some("10.0.101.2"));
    assert_eq!(f.cves.len(), 12);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.seen_at.as_deref(), Some("2023-09-28T14:48:02Z"));
    let d = f.description.as_deref().unwrap();
    assert!(d.starts_with("Mozilla Firefox is prone to multiple vulnerabilities."));
    assert!(!d.contains("qodType"), "{d}");

    let p = load(Format::OpenvasXml, "openvas/no_vuln.xml");
    assert_eq!(counts(&p), (0, 0));
    assert_eq!(
        p.summary.scanned_at.as_deref(),
        Some("2023-09-25T10:46:09Z")
    );
}

#[test]
fn openvas_csv() {
    let p = load(Format::OpenvasCsv, "openvas/many_vuln.csv");
    assert_eq!(counts(&p), (4, 1));
    assert_eq!(p.scanned[0].hostname.as_deref(), Some("LOGSRV"));
    let f = p.find(|f| f.check_id.as_deref() == Some("1.3.6.1.4.1.25623.1.0.117274"));
    assert_eq!(f.target.ip.as_deref(), Some("192.168.118.212"));
    assert_eq!(
        (f.target.port, f.target.protocol.as_deref()),
        (Some(9200), Some("tcp"))
    );
    assert_eq!(f.cves, ["CVE-2011-3389", "CVE-2015-0204"]);
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.severity_raw.as_deref(), Some("4.3"));
    assert_eq!(f.seen_at.as_deref(), Some("2021-05-26T20:50:18Z"));
    let f = p.find(|f| f.title == "TCP timestamps");
    assert_eq!((f.target.port, f.severity), (None, Severity::Low));
    assert!(f.evidence.as_deref().unwrap().contains("Packet 1: 2323572"));
}

#[test]
fn qualys() {
    let p = load(Format::QualysXml, "qualys/Qualys_Sample_Report.xml");
    // 301 VULN_INFO on 7 hosts, and 64.41.200.248 under NO_RESULTS.
    assert_eq!(counts(&p), (301, 8));
    assert_eq!(
        [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical
        ]
        .map(|s| p.count(s)),
        [217, 39, 32, 6, 7]
    );
    assert!(p
        .scanned
        .iter()
        .any(|t| t.ip.as_deref() == Some("64.41.200.248")));
    assert_eq!(p.findings.iter().filter(|f| f.known_exploited).count(), 20);
    let f = p.find(|f| f.check_id.as_deref() == Some("370876"));
    assert_eq!(
        f.title,
        "AMD Processors Multiple Security Vulnerabilities (RYZENFALL/MASTERKEY/CHIMERA-FW/FALLOUT)"
    );
    assert_eq!(
        f.cvss3.as_deref(),
        Some("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H")
    );
    assert_eq!(f.cvss2.as_deref(), Some("AV:N/AC:M/Au:N/C:C/I:C/A:C"));
    assert_eq!(f.cves.len(), 7);
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.severity_raw.as_deref(), Some("4 (Practice)"));
    assert!(f
        .description
        .as_deref()
        .unwrap()
        .contains("CVE-2018-8936: The AMD EPYC"));
    assert!(!f.description.as_deref().unwrap().contains("<BR>"));
    let f = p.find(|f| f.check_id.as_deref() == Some("38738"));
    assert_eq!(
        (f.target.port, f.target.protocol.as_deref()),
        (Some(22), Some("tcp"))
    );
    assert_eq!(f.target.service.as_deref(), Some("ssh"));
    assert_eq!(f.seen_at.as_deref(), Some("2019-07-31T21:57:48Z"));
    let host = p.find(|f| f.target.ip.as_deref() == Some("64.41.200.247"));
    assert_eq!(
        host.target.hostname.as_deref(),
        Some("trn-win7.trn.qualys.com")
    );
    assert_eq!(host.target.os.as_deref(), Some("Windows 2008 R2/7"));
}

#[test]
fn nexpose() {
    let p = load(Format::NexposeXml, "nexpose/many_vulns.xml");
    // 162 tests with a vulnerable-* status across 8 nodes.
    assert_eq!(counts(&p), (162, 8));
    assert_eq!(
        [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical
        ]
        .map(|s| p.count(s)),
        [14, 8, 139, 1]
    );
    assert_eq!(
        p.summary.scanned_at.as_deref(),
        Some("2013-11-27T05:02:42Z")
    );
    let named = p
        .scanned
        .iter()
        .find(|t| t.ip.as_deref() == Some("192.168.1.37"))
        .unwrap();
    assert_eq!(named.hostname.as_deref(), Some("MACBOOKPRO-C9A7"));
    let f = p.find(|f| f.check_id.as_deref() == Some("telnet-open-port"));
    assert_eq!(f.title, "Unencrypted Telnet Service Available");
    assert_eq!(f.target.ip.as_deref(), Some("192.168.1.1"));
    assert_eq!(
        (f.target.port, f.target.service.as_deref()),
        (Some(23), Some("telnet"))
    );
    assert_eq!(f.cvss2.as_deref(), Some("AV:A/AC:M/Au:N/C:P/I:N/A:N"));
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(f.seen_at.as_deref(), Some("2013-11-27T11:55:13Z"));
    assert_eq!(
        f.evidence.as_deref(),
        Some("Test status: vulnerable-version\nRunning vulnerable Telnet service.")
    );
    let f = p.find(|f| f.check_id.as_deref() == Some("ntpd-crypto-recv-buffer-overflow"));
    assert_eq!(
        f.title,
        "NTP 'ntpd' Autokey Stack Buffer Overflow Vulnerability"
    );
    assert_eq!(f.cves, ["CVE-2009-1252"]);
    assert_eq!(
        (f.target.port, f.target.protocol.as_deref()),
        (Some(123), Some("udp"))
    );
    assert_eq!(f.severity, Severity::High);
    assert_eq!(
        f.solution.as_deref().unwrap().lines().next(),
        Some("- Download and apply the upgrade from: http://www.eecis.udel.edu/~ntp/ntp_spool/ntp4/ntp-4.2/ntp-4.2.4p7.tar.gz")
    );
}

#[test]
fn nmap() {
    let p = load(Format::NmapXml, "nmap/nmap_0port.xml");
    assert_eq!(counts(&p), (0, 1));
    assert_eq!(p.scanned[0].ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        p.scanned[0].hostname.as_deref(),
        Some("localhost.localdomain")
    );

    let p = load(Format::NmapXml, "nmap/nmap_multiple_port.xml");
    assert_eq!(counts(&p), (13, 1));
    assert_eq!(p.count(Severity::Info), 13);
    let f = p.find(|f| f.target.port == Some(3306));
    assert_eq!(f.title, "Open port 3306/tcp (mysql)");
    assert_eq!(f.check_id.as_deref(), Some("port:3306/tcp"));
    assert_eq!(f.target.ip.as_deref(), Some("198.38.82.159"));
    assert_eq!(f.target.hostname.as_deref(), Some("joaquinlp.me"));
    assert_eq!(f.seen_at.as_deref(), Some("2016-05-16T17:57:31Z"));

    let p = load(Format::NmapXml, "nmap/nmap_script_vulners.xml");
    assert_eq!(counts(&p), (3, 1));
    let f = p.find(|f| f.cves == ["CVE-2018-15919"]);
    assert_eq!(f.title, "CVE-2018-15919 in OpenSSH 7.4");
    assert_eq!(
        (f.target.port, f.target.service.as_deref()),
        (Some(5022), Some("ssh"))
    );
    assert_eq!(f.target.cpe, ["cpe:/a:openbsd:openssh:7.4"]);
    assert_eq!(
        (f.severity, f.severity_raw.as_deref()),
        (Severity::Medium, Some("5.0"))
    );
    assert!(!f.known_exploited);
    assert_eq!(f.seen_at.as_deref(), Some("2020-02-17T09:07:35Z"));
    let port = p.find(|f| f.check_id.as_deref() == Some("port:5022/tcp"));
    assert!(port
        .description
        .as_deref()
        .unwrap()
        .contains("OpenSSH 7.4 (protocol 2.0)"));
}

#[test]
fn masscan() {
    let p = load(Format::MasscanJson, "masscan/masscan_many_vuln.json");
    assert_eq!(counts(&p), (4, 1));
    let f = p.find(|f| f.target.port == Some(8443));
    assert_eq!(f.title, "Open port 8443/tcp");
    assert_eq!(f.target.ip.as_deref(), Some("172.29.0.3"));
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.seen_at.as_deref(), Some("2026-07-31T18:20:37Z"));
}

#[test]
fn trivy() {
    let p = load(Format::TrivyJson, "trivy/scheme_2_many_vulns.json");
    assert_eq!(counts(&p), (5, 1));
    assert_eq!(p.scanned[0].image.as_deref(), Some("teamdojo:latest"));
    assert_eq!(p.scanned[0].os.as_deref(), Some("alpine 3.9.4"));
    let f = p.find(|f| f.check_id.as_deref() == Some("CVE-2020-15999"));
    assert_eq!(
        f.title,
        "CVE-2020-15999: freetype: Heap-based buffer overflow due to integer truncation in Load_SBit_Png"
    );
    let pkg = f.target.package.as_ref().unwrap();
    assert_eq!(
        (
            pkg.name.as_str(),
            pkg.installed_version.as_deref(),
            pkg.fixed_version.as_deref()
        ),
        ("freetype", Some("2.9.1-r2"), Some("2.9.1-r3"))
    );
    // NVD's vector, not Red Hat's.
    assert_eq!(
        f.cvss3.as_deref(),
        Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H")
    );
    assert_eq!(f.cwes, ["CWE-787"]);
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.category.as_deref(), Some("system_software"));
    let jar = p.find(|f| f.category.as_deref() == Some("application"));
    assert_eq!(
        jar.target.location.as_deref(),
        Some("app/libs/commons-compress-1.14")
    );

    let p = load(Format::TrivyJson, "trivy/legacy_many_vulns.json");
    assert_eq!(counts(&p), (93, 1));
    assert_eq!(
        [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High
        ]
        .map(|s| p.count(s)),
        [1, 65, 9, 18]
    );
    // The legacy form names no image: the caller assigns the asset.
    assert!(p.scanned[0].is_anonymous());
    assert_eq!(p.scanned[0].os.as_deref(), Some("debian 10.8"));
    let f = p.find(|f| f.check_id.as_deref() == Some("CVE-2011-3374"));
    assert_eq!(f.title, "CVE-2011-3374 in apt 1.8.2.2");
    assert_eq!(f.cvss2.as_deref(), Some("AV:N/AC:M/Au:N/C:N/I:P/A:N"));
    assert_eq!(f.severity, Severity::Low);
}

#[test]
fn nuclei() {
    let p = load(Format::NucleiJson, "nuclei/many_findings.json");
    assert_eq!(counts(&p), (18, 2));
    assert_eq!(
        [Severity::Info, Severity::Low, Severity::Medium].map(|s| p.count(s)),
        [16, 1, 1]
    );
    let f = p.find(|f| f.check_id.as_deref() == Some("phpmyadmin-setup"));
    assert_eq!(f.title, "phpMyAdmin setup page");
    assert_eq!(f.target.ip.as_deref(), Some("178.21.15.56"));
    assert_eq!(f.target.hostname.as_deref(), Some("nuclei-example.com"));
    assert_eq!(
        f.target.location.as_deref(),
        Some("https://nuclei-example.com/phpmyadmin/setup/index.php")
    );
    assert_eq!(f.target.port, Some(443));
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.seen_at.as_deref(), Some("2021-05-20T08:11:07Z"));
    let f = p.find(|f| {
        f.check_id.as_deref() == Some("tech-detect:bootstrap") && f.target.port == Some(9090)
    });
    assert_eq!(f.target.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(f.target.hostname, None);
    let f = p.find(|f| f.check_id.as_deref() == Some("openssh5.3-detect"));
    assert_eq!(f.references.len(), 3);
    assert_eq!(f.target.port, Some(22));
}

#[test]
fn sarif() {
    let p = load(Format::Sarif, "sarif/appendix_k.sarif");
    assert_eq!(counts(&p), (1, 1));
    let f = &p.findings[0];
    assert_eq!(f.source, "codescanner");
    assert_eq!(f.check_id.as_deref(), Some("C2001"));
    assert_eq!(f.title, "A variable was used without being initialized.");
    assert_eq!(
        f.target.repository.as_deref(),
        Some("https://github.com/example-corp/browser")
    );
    assert_eq!(f.target.location.as_deref(), Some("collections/list.h:15"));
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.severity_raw.as_deref(), Some("error"));
    assert_eq!(f.seen_at.as_deref(), Some("2016-07-16T14:20:42Z"));
    assert_eq!(
        f.evidence.as_deref(),
        Some("add_core(ptr, offset, val);\n    return;")
    );
    assert!(f
        .description
        .as_deref()
        .unwrap()
        .starts_with("Variable \"ptr\" was used without being initialized."));
    assert_eq!(f.category.as_deref(), Some("application"));
}

#[test]
fn wazuh() {
    let p = load(Format::WazuhJson, "wazuh/v4-8_many_findings.json");
    assert_eq!(counts(&p), (10, 2));
    assert_eq!(p.count(Severity::Critical), 10);
    let f =
        p.find(|f| f.target.hostname.as_deref() == Some("myhost1") && f.cves == ["CVE-2022-44640"]);
    let pkg = f.target.package.as_ref().unwrap();
    assert_eq!(pkg.name, "libheimbase1t64-heimdal");
    assert_eq!(
        f.target.os.as_deref(),
        Some("Ubuntu 24.04.1 LTS (Noble Numbat)")
    );
    assert_eq!(f.severity_raw.as_deref(), Some("Critical (CVSS 3.1 9.8)"));
    assert!(f.seen_at.as_deref().unwrap().starts_with("2025-"));
    assert_eq!(f.references.len(), 3);
}

#[test]
fn the_shipped_template() {
    let p = load_bytes(Format::Template, &std::fs::read(TEMPLATE).unwrap());
    assert_eq!(counts(&p), (5, 0));
    let f = p.find(|f| f.check_id.as_deref() == Some("PT-2025-003"));
    assert_eq!(f.title, "OpenSSH 远程代码执行漏洞（regreSSHion）");
    assert_eq!(f.target.ip.as_deref(), Some("10.20.1.30"));
    assert_eq!(f.target.hostname.as_deref(), Some("gov-jump01"));
    assert_eq!(
        (f.target.port, f.target.protocol.as_deref()),
        (Some(22), Some("tcp"))
    );
    assert_eq!(f.cves, ["CVE-2024-6387"]);
    assert_eq!(
        f.cvss3.as_deref(),
        Some("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H")
    );
    assert!(f
        .cvss4
        .as_deref()
        .unwrap()
        .starts_with("CVSS:4.0/AV:N/AC:H/AT:N"));
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.method.as_deref(), Some("penetration_test"));
    assert_eq!(f.seen_at.as_deref(), Some("2025-03-15T00:00:00Z"));
    assert_eq!(f.references.len(), 2);
    let q = p.find(|f| f.method.as_deref() == Some("questionnaire"));
    assert_eq!(q.title, "未制定数据备份与恢复管理制度");
    assert_eq!(q.category.as_deref(), Some("technical_management"));
    assert_eq!(q.severity, Severity::Medium);
    assert_eq!(q.target.port, None);
    assert!(p.findings.iter().all(|f| f.source == "manual"));
}

#[test]
fn sniff_recognises_every_fixture() {
    for (rel, format) in ALL {
        let data = bytes(rel);
        let head = &data[..data.len().min(64 * 1024)];
        let name = rel.rsplit('/').next().unwrap();
        assert_eq!(sniff(name, head), Some(*format), "{rel}");
    }
    let template = std::fs::read(TEMPLATE).unwrap();
    assert_eq!(
        sniff("manual-findings.csv", &template),
        Some(Format::Template)
    );
}

fn invalid(format: Format, data: &[u8]) -> (String, String) {
    match parse_all(format, &mut BufReader::new(data)) {
        Err(ParseError::Invalid {
            format: f,
            position,
            reason,
        }) => {
            assert_eq!(f, format);
            (position, reason)
        }
        Err(ParseError::Sink(_)) => unreachable!(),
        Ok((_, s)) => panic!("{format}: accepted ({s:?})"),
    }
}

#[test]
fn truncated_files_are_rejected() {
    let mut seen = Vec::new();
    for (rel, format) in ALL {
        let data = bytes(rel);
        let half = &data[..data.len() / 2];
        let (position, reason) = invalid(*format, half);
        assert!(!position.is_empty() && !reason.is_empty(), "{rel}");
        seen.push(*format);
    }
    let template = std::fs::read(TEMPLATE).unwrap();
    invalid(Format::Template, &template[..template.len() / 2]);
    seen.push(Format::Template);
    for f in Format::ALL {
        assert!(seen.contains(&f), "{f} has no truncation test");
    }
    let (_, reason) = invalid(
        Format::Nessus,
        &bytes("nessus/nessus_with_cvssv3.nessus")[..900_000],
    );
    assert!(
        reason.contains("truncated") || reason.contains("malformed"),
        "{reason}"
    );
}

#[test]
fn files_of_another_format_are_rejected() {
    let trivy = bytes("trivy/scheme_2_many_vulns.json");
    let nessus = bytes("nessus/nessus_many_vuln.xml");
    let nmap = bytes("nmap/nmap_multiple_port.xml");
    let csv = bytes("openvas/many_vuln.csv");
    let sarif = bytes("sarif/appendix_k.sarif");
    let cases: &[(Format, &[u8])] = &[
        (Format::Nessus, &trivy),
        (Format::OpenvasXml, &nessus),
        (Format::QualysXml, &nmap),
        (Format::NexposeXml, &nessus),
        (Format::NmapXml, &nessus),
        (Format::MasscanJson, &trivy),
        (Format::TrivyJson, &nessus),
        (Format::TrivyJson, &sarif),
        (Format::NucleiJson, &trivy),
        (Format::Sarif, &trivy),
        (Format::WazuhJson, &trivy),
        (Format::OpenvasCsv, &nessus),
        (Format::Template, &csv),
    ];
    for (format, data) in cases {
        invalid(*format, data);
    }
    let (_, reason) = invalid(Format::Nessus, &nmap);
    assert!(reason.contains("root element is <nmaprun>"), "{reason}");
}

#[test]
fn garbage_is_rejected() {
    let garbage: &[u8] = b"\x00\x9f\x92\x96 not a report \xff\xfe";
    for f in Format::ALL {
        invalid(f, garbage);
    }
    for f in Format::ALL.into_iter().filter(|f| *f != Format::NucleiJson) {
        // An empty file is not an empty report, except for line-delimited JSON.
        invalid(f, b"");
    }
}

#[test]
fn a_template_with_two_bad_lines_names_both() {
    let csv = "ip,hostname,title,severity,category,found_on\n\
               10.20.1.15,web01,弱口令,高危,application,2025-03-14\n\
               not-an-ip,,SQL注入,high,application,2025-03-14\n\
               10.20.1.16,web02,目录遍历,medium,application,2025-03-14\n\
               10.20.1.17,,,severe,apps,14/03/2025\n";
    let (position, reason) = invalid(Format::Template, csv.as_bytes());
    assert_eq!(position, "lines 3, 5");
    let lines: Vec<&str> = reason.lines().collect();
    assert_eq!(lines[0], "2 bad lines:");
    assert!(
        lines[1].starts_with("line 3: ip \"not-an-ip\" is not an IP address"),
        "{reason}"
    );
    assert!(
        lines[2].starts_with("line 5: severity \"severe\""),
        "{reason}"
    );
    assert!(lines[2].contains("category \"apps\""), "{reason}");
    assert!(lines[2].contains("found_on"), "{reason}");
    assert!(lines[2].contains("title is empty"), "{reason}");
}

#[test]
fn a_sink_error_stops_the_parse() {
    for (rel, format) in ALL {
        let data = bytes(rel);
        let mut seen = 0;
        let result = parse(*format, &mut BufReader::new(&data[..]), &mut |_| {
            seen += 1;
            if seen == 2 {
                Err("store is full".to_string())
            } else {
                Ok(())
            }
        });
        if rel.contains("no_vuln") || rel.contains("0port") {
            assert!(result.is_ok(), "{rel}");
            continue;
        }
        match result {
            Err(ParseError::Sink(e)) => assert_eq!(e, "store is full"),
            other => panic!("{rel}: {other:?}"),
        }
        assert_eq!(seen, 2, "{rel}: the parse went on after the sink failed");
    }
}
