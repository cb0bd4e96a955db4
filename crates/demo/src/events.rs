//! A day of logs for each demo organisation, as its systems would send them: SSH logins and
//! a brute-force attempt, sudo, portal access logs with a SQL-injection scanner, firewall
//! drops, Suricata alerts, auditd, MariaDB and PostgreSQL audit lines through syslog, NetFlow
//! records of the border router, and the brute-forcer's failed logons on the domain controller
//! as winlogbeat sends them. Hosts and addresses are the demo ledger's, so search pivots and
//! asset enrichment work. Deterministic for a given end time.

use crate::assets::Pick;
use chrono::{DateTime, Duration, Utc};
use yunshou_model::asset::Asset;

/// Events per organisation and day.
pub const EVENTS_PER_DAY: usize = 2000;

const OPS: [&str; 4] = ["deploy", "ops.zhang", "ops.li", "backup"];
const CLIENTS: [&str; 8] = [
    "101.230.14.7",
    "112.64.51.19",
    "117.136.8.44",
    "180.163.2.90",
    "36.110.44.8",
    "58.246.3.71",
    "223.104.9.12",
    "120.244.17.3",
];
const PAGES: [&str; 8] = [
    "/",
    "/index.html",
    "/api/v1/items?page=1",
    "/static/app.js",
    "/login",
    "/api/v1/certificates/query",
    "/service/guide",
    "/favicon.ico",
];
const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
/// The scanner and the brute-forcer of the day (documentation ranges).
const SCANNER: &str = "203.0.113.66";
const BRUTE: &str = "198.51.100.23";

fn ip(a: &Asset) -> &str {
    a.fields
        .ips
        .first()
        .map(String::as_str)
        .unwrap_or("10.0.0.1")
}

fn bsd(t: DateTime<Utc>) -> String {
    t.format("%b %e %H:%M:%S").to_string()
}

/// The lines of one organisation's last 24 hours before `end`.
pub fn day(ledger: &[Asset], seed: u64, end: DateTime<Utc>) -> Vec<String> {
    let mut pick = Pick(seed);
    let webs: Vec<&Asset> = ledger
        .iter()
        .filter(|a| a.fields.name.contains("-web-") && a.lifecycle.in_use())
        .collect();
    let apps: Vec<&Asset> = ledger
        .iter()
        .filter(|a| a.fields.name.contains("-app-") && a.lifecycle.in_use())
        .collect();
    let db = ledger
        .iter()
        .find(|a| a.fields.name.contains("-db-") && a.lifecycle.in_use());
    let firewall = ledger
        .iter()
        .find(|a| a.fields.name.starts_with("sec-ngfw"))
        .map(|a| a.fields.name.as_str())
        .unwrap_or("ngfw-01");
    let ids = ledger
        .iter()
        .find(|a| a.fields.name.starts_with("sec-ids"))
        .map(|a| a.fields.name.as_str())
        .unwrap_or("ids-01");
    if webs.is_empty() || apps.is_empty() {
        return vec![];
    }
    let start = end - Duration::hours(24);
    let mut out = Vec::with_capacity(EVENTS_PER_DAY);
    for i in 0..EVENTS_PER_DAY {
        let t = start + Duration::milliseconds((i as i64) * 86_400_000 / EVENTS_PER_DAY as i64);
        let web = *pick.of(&webs);
        let app = *pick.of(&apps);
        // The attacks happen in the small hours: brute force 02:00–03:00, scanning 03:00–04:00.
        let hour_of_day = (t - start).num_hours();
        let line = match pick.next() % 100 {
            // The same brute-forcer tries the domain controller's RDP/SMB logons (winlogbeat).
            _ if (2..3).contains(&hour_of_day) && i % 6 == 0 => format!(
                r#"{{"@timestamp":"{}","event":{{"code":"4625"}},"host":{{"name":"ad-dc-01.gov.local"}},"winlog":{{"channel":"Security","event_id":4625,"provider_name":"Microsoft-Windows-Security-Auditing","computer_name":"ad-dc-01.gov.local","record_id":{},"event_data":{{"TargetUserName":"{}","TargetDomainName":"GOV","LogonType":"3","IpAddress":"{BRUTE}","IpPort":"{}","Status":"0xc000006d","SubStatus":"0xc000006a","WorkstationName":"-"}}}},"message":"An account failed to log on."}}"#,
                t.to_rfc3339(),
                880_000 + i,
                pick.of(&["administrator", "admin", "svc_backup", "guest"]),
                40000 + pick.next() % 20000
            ),
            _ if (2..3).contains(&hour_of_day) && pick.chance(70) => format!(
                "<38>{} {} sshd[{}]: Failed password for {}{} from {BRUTE} port {} ssh2",
                bsd(t),
                app.fields.name,
                20000 + pick.next() % 9000,
                if pick.chance(30) { "invalid user " } else { "" },
                pick.of(&["root", "admin", "oracle", "test", "ubuntu"]),
                40000 + pick.next() % 20000
            ),
            _ if (3..4).contains(&hour_of_day) && pick.chance(60) => {
                let probe = pick.of(&[
                    "/login?id=1%27%20OR%20%271%27=%271",
                    "/api/v1/items?page=1%20UNION%20SELECT%20NULL--",
                    "/admin/",
                    "/.env",
                    "/phpmyadmin/index.php",
                ]);
                if pick.chance(25) {
                    format!(
                        r#"{{"timestamp":"{}","flow_id":{},"in_iface":"eth1","event_type":"alert","src_ip":"{SCANNER}","src_port":{},"dest_ip":"{}","dest_port":443,"proto":"TCP","alert":{{"action":"allowed","gid":1,"signature_id":2006446,"rev":13,"signature":"ET WEB_SERVER Possible SQL Injection Attempt UNION SELECT","category":"Web Application Attack","severity":1}},"host":"{ids}"}}"#,
                        t.format("%Y-%m-%dT%H:%M:%S%.6f+0000"),
                        pick.next(),
                        50000 + pick.next() % 10000,
                        ip(web)
                    )
                } else {
                    format!(
                        r#"{SCANNER} - - [{}] "GET {probe} HTTP/1.1" {} {} "-" "sqlmap/1.7.2#stable (https://sqlmap.org)""#,
                        t.format("%d/%b/%Y:%H:%M:%S +0000"),
                        pick.of(&[403, 404, 500]),
                        100 + pick.next() % 400
                    )
                }
            }
            0..=54 => format!(
                r#"{} - - [{}] "GET {} HTTP/1.1" {} {} "-" "{UA}""#,
                pick.of(&CLIENTS),
                t.format("%d/%b/%Y:%H:%M:%S +0000"),
                pick.of(&PAGES),
                if pick.chance(97) { 200 } else { 404 },
                500 + pick.next() % 40000
            ),
            55..=64 => format!(
                "<86>{} {} sshd[{}]: Accepted publickey for {} from 10.{}.250.{} port {} ssh2: ED25519 SHA256:Kq3x",
                bsd(t),
                app.fields.name,
                10000 + pick.next() % 9000,
                pick.of(&OPS),
                ip(app).split('.').nth(1).unwrap_or("20"),
                16 + pick.next() % 4,
                50000 + pick.next() % 9000
            ),
            65..=71 => format!(
                "<85>{} {} sudo: {} : TTY=pts/{} ; PWD=/home/{} ; USER=root ; COMMAND={}",
                bsd(t),
                app.fields.name,
                pick.of(&OPS[..3]),
                pick.next() % 4,
                pick.of(&OPS[..3]),
                pick.of(&[
                    "/usr/bin/systemctl restart nginx",
                    "/usr/bin/journalctl -u app --since today",
                    "/bin/df -h",
                    "/usr/bin/tail -n 200 /var/log/app/app.log",
                ])
            ),
            72..=89 => format!(
                "<4>{} {firewall} kernel: NGFW-DROP: IN=eth0 OUT=eth1 MAC=00:1b:21:3a:4f:10 SRC={} DST={} LEN=60 TOS=0x00 PREC=0x00 TTL={} ID={} DF PROTO=TCP SPT={} DPT={} WINDOW=64240 RES=0x00 SYN URGP=0",
                bsd(t),
                pick.of(&["45.155.205.233", "194.26.29.113", "80.94.95.81", "141.98.11.25", BRUTE]),
                ip(web),
                40 + pick.next() % 20,
                pick.next() % 65000,
                30000 + pick.next() % 30000,
                pick.of(&[22, 23, 3389, 445, 6379, 1433])
            ),
            90..=91 => format!(
                "<110>{} {} audispd: type=EXECVE msg=audit({}.{:03}:{}): argc=3 a0=\"/usr/bin/curl\" a1=\"-s\" a2=\"http://10.20.0.8/health\"",
                bsd(t),
                app.fields.name,
                t.timestamp(),
                t.timestamp_subsec_millis(),
                100_000 + i
            ),
            92..=93 => format!(
                "<110>{} {} mysql-server_auditing: {},{},{},{},{},QUERY,gov_service,'SELECT id, status FROM applications WHERE applicant_id = {}',0",
                bsd(t),
                db.map_or("db-01", |d| d.fields.name.as_str()),
                db.map_or("db-01", |d| d.fields.name.as_str()),
                pick.of(&["app_rw", "app_ro", "report"]),
                ip(app),
                200 + pick.next() % 50,
                pick.next() % 100_000,
                pick.next() % 900_000
            ),
            94..=95 => format!(
                "<134>{} {} postgres[{}]: [{}-1] {}@gov_archive LOG:  duration: {}.{:03} ms  statement: SELECT count(*) FROM archive_files WHERE year = 2026",
                bsd(t),
                db.map_or("db-02", |d| d.fields.name.as_str()),
                7000 + pick.next() % 500,
                1 + pick.next() % 9,
                pick.of(&["archive", "report"]),
                pick.next() % 900,
                pick.next() % 1000
            ),
            96..=97 => {
                // What the border router's NetFlow v9 export becomes in the collector.
                let (src, dst) = (pick.of(&CLIENTS).to_string(), ip(web).to_string());
                let (bytes, packets) = (2_000 + pick.next() % 400_000, 10 + pick.next() % 300);
                let sport = 30_000 + pick.next() % 30_000;
                format!(
                    r#"{{"@timestamp":"{}","event":{{"dataset":"netflow.v9","kind":"event","category":["network"],"type":["connection"],"start":"{}","end":"{}"}},"source":{{"ip":"{src}","port":{sport},"bytes":{bytes},"packets":{packets}}},"destination":{{"ip":"{dst}","port":443}},"network":{{"transport":"tcp","iana_number":6,"bytes":{bytes},"packets":{packets}}},"observer":{{"ip":"10.0.0.1"}},"netflow":{{"tcp_flags":27,"input_interface":1,"output_interface":2}},"message":"{src}:{sport} -> {dst}:443 tcp {bytes} bytes {packets} packets"}}"#,
                    t.to_rfc3339(),
                    (t - Duration::seconds(30)).to_rfc3339(),
                    t.to_rfc3339(),
                )
            }
            _ => format!(
                "<30>{} {} app[{}]: 业务请求处理完成 接口=/api/v1/items 耗时={}ms 结果=成功",
                bsd(t),
                app.fields.name,
                3000 + pick.next() % 100,
                5 + pick.next() % 300
            ),
        };
        out.push(line);
    }
    out
}
