//! Every line parser, through the dispatcher: the first byte picks the format (`auto` tries
//! them all by shape), the rest is the line. Nothing may panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

const FORMATS: &[&str] = &[
    "auto",
    "json",
    "syslog",
    "cef",
    "nginx",
    "auditd",
    "mysql",
    "postgresql",
    "openstack",
    "raw",
];

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let format = FORMATS[*first as usize % FORMATS.len()];
    let line = String::from_utf8_lossy(rest);
    let now = chrono::DateTime::from_timestamp(1_764_057_600, 0).expect("valid time");
    let _ = yunshou_ingest::normalise::parse(&line, format, now);
});
