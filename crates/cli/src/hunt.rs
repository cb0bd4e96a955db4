//! `yunshou hunt`: Sigma rules over event files (EVTX, JSON, JSONL), matches out as JSONL or a
//! table. Reading files is here; matching is `yunshou_detect`.

use anyhow::{bail, Context, Result};
use serde_json::json;
use serde_json::value::RawValue;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use yunshou_detect::hunt::{EventRef, Finding, Hunter};
use yunshou_detect::sigma::{load_dir, load_text, Loaded};
use yunshou_detect::{Engine, Mapping};

/// How matches are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// One JSON object per match.
    Jsonl,
    /// An aligned table for reading.
    Table,
}

/// Arguments of `yunshou hunt`.
#[derive(clap::Args)]
pub struct HuntArgs {
    /// A rule directory (searched recursively) or rule file; repeat for more.
    #[arg(long = "rules", required = true)]
    rules: Vec<PathBuf>,
    /// A mapping file (log sources, field names, placeholders), added to the shipped ECS and
    /// Windows mappings; repeat for more.
    #[arg(long = "mapping")]
    mapping: Vec<PathBuf>,
    /// Use only the `--mapping` files, not the shipped ones.
    #[arg(long)]
    no_builtin_mapping: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    output: Output,
    /// Print counts and speed at the end (to standard error).
    #[arg(long)]
    stats: bool,
    /// Event files or directories: `.evtx`, `.json` (one document, an array, or several
    /// documents), `.jsonl`/`.ndjson` (one event per line).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

/// The device and inode of standard output when it is a regular file.
fn stdout_file() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fd = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    meta.is_file().then(|| (meta.dev(), meta.ino()))
}

fn event_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    use std::os::unix::fs::MetadataExt;
    // Matches carry their events: hunting through our own output would feed on itself.
    let output = stdout_file();
    let is_output = |p: &PathBuf| {
        output.is_some_and(|o| std::fs::metadata(p).is_ok_and(|m| (m.dev(), m.ino()) == o))
    };
    let mut out = vec![];
    for input in inputs {
        let meta = std::fs::metadata(input).with_context(|| format!("{}", input.display()))?;
        if !meta.is_dir() {
            out.push(input.clone());
            continue;
        }
        let mut found = vec![];
        let mut stack = vec![input.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
                let p = entry?.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    ["evtx", "json", "jsonl", "ndjson"].contains(&e.to_ascii_lowercase().as_str())
                }) {
                    found.push(p);
                }
            }
        }
        found.sort();
        out.extend(found);
    }
    out.retain(|p| {
        let skip = is_output(p);
        if skip {
            eprintln!("skipped {}: it is the output", p.display());
        }
        !skip
    });
    Ok(out)
}

fn load_rules(paths: &[PathBuf]) -> Result<Loaded> {
    let mut all = Loaded::default();
    for p in paths {
        let l = if p.is_dir() {
            load_dir(p).with_context(|| format!("{}", p.display()))?
        } else {
            let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
            let mut l = Loaded::default();
            load_text(p, &text, &mut l);
            l
        };
        all.rules.extend(l.rules);
        all.correlations.extend(l.correlations);
        all.filters.extend(l.filters);
        all.errors.extend(l.errors);
    }
    Ok(all)
}

struct Printer<W: Write> {
    out: W,
    format: Output,
    sources: Vec<String>,
    /// A rule's JSONL prefix (`{"rule_id":…,"author":…,`), serialised once per rule.
    prefixes: std::collections::HashMap<String, String>,
}

fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

impl<W: Write> Printer<W> {
    fn print(&mut self, f: Finding) -> std::io::Result<()> {
        let src = |r: &EventRef, s: &[String]| s.get(r.input).cloned().unwrap_or_default();
        match (self.format, f) {
            (Output::Jsonl, Finding::Rule { rule, at, event }) => {
                // Matches are many and their rules few: the rule's part of the line is
                // serialised once, and the event is copied as it was read.
                if !self.prefixes.contains_key(rule.rule_id) {
                    let whole = serde_json::to_string(&rule).expect("rule info serialises");
                    let prefix = format!("{},", &whole[..whole.len() - 1]);
                    self.prefixes.insert(rule.rule_id.to_string(), prefix);
                }
                let prefix = &self.prefixes[rule.rule_id];
                self.out.write_all(prefix.as_bytes())?;
                let source = self.sources.get(at.input).map_or("", String::as_str);
                self.out.write_all(b"\"source\":")?;
                serde_json::to_writer(&mut self.out, source)?;
                write!(self.out, ",\"record\":{},\"event\":", at.record)?;
                if memchr::memchr2(b'\n', b'\r', event.as_bytes()).is_some() {
                    // Pretty-printed input (a `.json` file): one line per match all the same.
                    let v: serde_json::Value =
                        serde_json::from_str(event).map_err(std::io::Error::other)?;
                    serde_json::to_writer(&mut self.out, &v)?;
                } else {
                    self.out.write_all(event.as_bytes())?;
                }
                self.out.write_all(b"}\n")
            }
            (
                Output::Jsonl,
                Finding::Correlation {
                    rule,
                    kind,
                    group,
                    value,
                    first,
                    last,
                    events,
                },
            ) => {
                let events: Vec<_> = events
                    .iter()
                    .map(|e| json!({"source": src(e, &self.sources), "record": e.record}))
                    .collect();
                let line = json!({
                    "rule_id": rule.rule_id, "rule_title": rule.rule_title, "level": rule.level,
                    "tags": rule.tags, "author": rule.author, "correlation": kind,
                    "group": group, "value": value, "first": time_text(first),
                    "last": time_text(last), "events": events,
                });
                writeln!(self.out, "{line}")
            }
            (Output::Table, Finding::Rule { rule, at, .. }) => writeln!(
                self.out,
                "{:<13} {:<60} {:<30} {}:{}",
                rule.level.unwrap_or("-"),
                clip(rule.rule_title, 60),
                clip(rule.author.unwrap_or("-"), 30),
                src(&at, &self.sources),
                at.record
            ),
            (
                Output::Table,
                Finding::Correlation {
                    rule,
                    kind,
                    group,
                    value,
                    ..
                },
            ) => writeln!(
                self.out,
                "{:<13} {:<60} {:<30} {kind} {} = {value}",
                rule.level.unwrap_or("-"),
                clip(rule.rule_title, 60),
                clip(rule.author.unwrap_or("-"), 30),
                group.join(",")
            ),
        }
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// Problems with input events printed one by one up to this many, then only counted.
const MAX_REPORTED: u64 = 100;

/// Runs `yunshou hunt`.
pub fn hunt(args: HuntArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let mut mapping = if args.no_builtin_mapping {
        Mapping::default()
    } else {
        Mapping::builtin()
    };
    for m in &args.mapping {
        mapping.add_file(m).map_err(anyhow::Error::msg)?;
    }
    let loaded = load_rules(&args.rules)?;
    let engine = Engine::build(loaded, &mapping);
    for e in &engine.errors {
        eprintln!(
            "rule not loaded: {}#{}: {}",
            e.file.display(),
            e.document,
            e.reason
        );
    }
    if engine.rules().is_empty() {
        bail!("no rule could be loaded from {:?}", args.rules);
    }
    let files = event_files(&args.inputs)?;
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = crate::import::bar(
        total,
        "{spinner} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
    );
    let stdout = std::io::stdout();
    let mut printer = Printer {
        out: std::io::BufWriter::with_capacity(1 << 16, stdout.lock()),
        format: args.output,
        sources: files.iter().map(|f| f.display().to_string()).collect(),
        prefixes: Default::default(),
    };
    if args.output == Output::Table {
        writeln!(
            printer.out,
            "{:<13} {:<60} {:<30} SOURCE",
            "LEVEL", "RULE", "AUTHOR"
        )?;
    }
    let mut hunter = Hunter::new(&engine);
    let mut write_error = None;
    let mut problems = 0u64;
    let mut problem = |what: String| {
        problems += 1;
        if problems <= MAX_REPORTED {
            eprintln!("{what}");
        }
    };
    for (input, file) in files.iter().enumerate() {
        let mut emit = |f: Finding| {
            if write_error.is_none() {
                if let Err(e) = printer.print(f) {
                    write_error = Some(e);
                }
            }
        };
        if yunshou_ingest::evtx::is_evtx(file) {
            let records = match yunshou_ingest::evtx::read(file) {
                Ok(r) => r,
                Err(e) => {
                    problem(e);
                    continue;
                }
            };
            for (i, rec) in records.iter().enumerate() {
                let at = EventRef {
                    input,
                    record: i as u64 + 1,
                };
                match rec {
                    Ok(text) => {
                        if let Err(e) = hunter.feed(at, text, &mut emit) {
                            problem(format!("{}: record {}: {e}", file.display(), i + 1));
                        }
                    }
                    Err(e) => problem(format!("{}: record {}: {e}", file.display(), i + 1)),
                }
            }
            bar.inc(std::fs::metadata(file).map(|m| m.len()).unwrap_or(0));
        } else if file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            let text =
                std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
            let docs: Vec<&RawValue> = match serde_json::from_str::<Vec<&RawValue>>(&text) {
                Ok(list) => list,
                Err(_) => serde_json::Deserializer::from_str(&text)
                    .into_iter::<&RawValue>()
                    .collect::<Result<_, _>>()
                    .map_err(|e| anyhow::anyhow!("{}: not JSON: {e}", file.display()))?,
            };
            for (i, raw) in docs.into_iter().enumerate() {
                let at = EventRef {
                    input,
                    record: i as u64 + 1,
                };
                if let Err(e) = hunter.feed(at, raw.get(), &mut emit) {
                    problem(format!("{}: document {}: {e}", file.display(), i + 1));
                }
            }
            bar.inc(text.len() as u64);
        } else {
            let f = std::fs::File::open(file).with_context(|| format!("{}", file.display()))?;
            let mut reader = BufReader::with_capacity(1 << 20, f);
            let mut line = String::new();
            let mut number = 0u64;
            loop {
                line.clear();
                let n = reader
                    .read_line(&mut line)
                    .with_context(|| format!("{}: line {}", file.display(), number + 1))?;
                if n == 0 {
                    break;
                }
                number += 1;
                bar.inc(n as u64);
                let text = line.trim_end();
                if text.is_empty() {
                    continue;
                }
                let at = EventRef {
                    input,
                    record: number,
                };
                // The line is parsed once, as it is flattened for matching.
                if let Err(e) = hunter.feed(at, text, &mut emit) {
                    let what = if e.is_syntax() || e.is_eof() {
                        "not JSON: "
                    } else {
                        ""
                    };
                    problem(format!("{}: line {number}: {what}{e}", file.display()));
                }
            }
        }
        if let Some(e) = write_error.take() {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(e.into());
        }
    }
    hunter.finish(&mut |f| {
        let _ = printer.print(f);
    });
    printer.out.flush()?;
    bar.finish_and_clear();
    if problems > MAX_REPORTED {
        eprintln!(
            "… {} more unreadable events not shown",
            problems - MAX_REPORTED
        );
    }
    if args.stats {
        let secs = started.elapsed().as_secs_f64();
        let s = hunter.stats;
        eprintln!(
            "events {}  unreadable {}  rules loaded {} (prefiltered {}, correlations {}, filters {})  rules failed {}  matches {}  correlation results {}  {:.2} s  {:.0} events/s",
            s.events,
            s.unreadable,
            engine.stats.rules,
            engine.stats.prefiltered,
            engine.stats.correlations,
            engine.stats.filters,
            engine.stats.failed,
            s.matches,
            s.correlations,
            secs,
            s.events as f64 / secs.max(1e-9)
        );
    }
    Ok(if problems > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdefgh", 5), "abcd…");
    }
}
