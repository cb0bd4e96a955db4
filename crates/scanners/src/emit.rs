//! The sink side of a parse: validation every format shares, scanned-target deduplication,
//! counting, and the bounded list of skipped items.

use std::collections::HashSet;

use yunshou_model::finding::{
    ReportItem, ReportedFinding, ScannedTarget, Target, CATEGORIES, METHODS,
};

use crate::{Format, ParseError, Summary};

/// Distinct skip reasons kept; a 100,000-item report must not grow an unbounded list.
const MAX_SKIP_REASONS: usize = 50;

pub(crate) struct Out<'s, E> {
    pub format: Format,
    sink: &'s mut dyn FnMut(ReportItem) -> Result<(), E>,
    findings: u64,
    targets: u64,
    seen_targets: HashSet<String>,
    skipped: Vec<(String, u64)>,
    skipped_more: u64,
    scanned_at: Option<String>,
}

impl<'s, E> Out<'s, E> {
    pub fn new(format: Format, sink: &'s mut dyn FnMut(ReportItem) -> Result<(), E>) -> Self {
        Out {
            format,
            sink,
            findings: 0,
            targets: 0,
            seen_targets: HashSet::new(),
            skipped: Vec::new(),
            skipped_more: 0,
            scanned_at: None,
        }
    }

    pub fn invalid(&self, position: impl Into<String>, reason: impl Into<String>) -> ParseError<E> {
        ParseError::invalid(self.format, position, reason)
    }

    /// Sends a finding after the checks every format shares. `at` names its position.
    pub fn finding(
        &mut self,
        f: ReportedFinding,
        at: impl FnOnce() -> String,
    ) -> Result<(), ParseError<E>> {
        if f.title.trim().is_empty() {
            return Err(self.invalid(at(), "a finding has no title"));
        }
        // Trivy and SARIF may leave the asset to the caller (see the crate documentation);
        // every other format names the host it scanned.
        let may_be_anonymous = matches!(self.format, Format::TrivyJson | Format::Sarif);
        if !may_be_anonymous && f.target.is_anonymous() {
            return Err(self.invalid(
                at(),
                format!(
                    "finding \"{}\" has no target (no IP address, host name, image or repository)",
                    f.title.trim()
                ),
            ));
        }
        if let Some(e) = f.epss {
            if !(0.0..=1.0).contains(&e) {
                return Err(self.invalid(at(), format!("EPSS {e} is not a probability 0–1")));
            }
        }
        debug_assert!(f
            .category
            .as_deref()
            .is_none_or(|c| CATEGORIES.contains(&c)));
        debug_assert!(f.method.as_deref().is_none_or(|m| METHODS.contains(&m)));
        self.findings += 1;
        (self.sink)(ReportItem::Finding(Box::new(f))).map_err(ParseError::Sink)
    }

    /// Sends a scanned target once, however often the report names it.
    pub fn scanned(&mut self, target: &Target) -> Result<(), ParseError<E>> {
        let t = Target {
            ip: target.ip.clone(),
            hostname: target.hostname.clone(),
            cpe: target.cpe.clone(),
            image: target.image.clone(),
            repository: target.repository.clone(),
            os: target.os.clone(),
            ..Default::default()
        };
        let key = format!(
            "{:?}|{:?}|{:?}|{:?}",
            t.ip, t.hostname, t.image, t.repository
        );
        if !self.seen_targets.insert(key) {
            return Ok(());
        }
        self.targets += 1;
        (self.sink)(ReportItem::Scanned(ScannedTarget { target: t })).map_err(ParseError::Sink)
    }

    /// Records an item left out on purpose.
    pub fn skip(&mut self, why: impl Into<String>) {
        let why = why.into();
        if let Some(entry) = self.skipped.iter_mut().find(|(w, _)| *w == why) {
            entry.1 += 1;
        } else if self.skipped.len() < MAX_SKIP_REASONS {
            self.skipped.push((why, 1));
        } else {
            self.skipped_more += 1;
        }
    }

    /// Keeps the earliest scan time the report gives (RFC 3339 UTC strings order as time).
    pub fn scan_time(&mut self, at: Option<&str>) {
        if let Some(at) = at {
            if self.scanned_at.as_deref().is_none_or(|cur| at < cur) {
                self.scanned_at = Some(at.to_string());
            }
        }
    }

    pub fn finish(self) -> Summary {
        let mut skipped: Vec<String> = self
            .skipped
            .into_iter()
            .map(|(why, n)| if n > 1 { format!("{why} (×{n})") } else { why })
            .collect();
        if self.skipped_more > 0 {
            skipped.push(format!("… and {} more items skipped", self.skipped_more));
        }
        Summary {
            findings: self.findings,
            targets: self.targets,
            skipped,
            scanned_at: self.scanned_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_are_counted_and_bounded() {
        let mut sink = |_: ReportItem| Ok::<(), ()>(());
        let mut out = Out::new(Format::Nessus, &mut sink);
        out.skip("a");
        out.skip("a");
        for i in 0..100 {
            out.skip(format!("r{i}"));
        }
        let s = out.finish();
        assert_eq!(s.skipped[0], "a (×2)");
        assert_eq!(s.skipped.len(), MAX_SKIP_REASONS + 1);
        assert_eq!(s.skipped.last().unwrap(), "… and 51 more items skipped");
    }

    #[test]
    fn a_target_is_scanned_once() {
        let mut n = 0;
        let mut sink = |_: ReportItem| {
            n += 1;
            Ok::<(), ()>(())
        };
        let mut out = Out::new(Format::Nessus, &mut sink);
        let t = Target {
            ip: Some("10.0.0.1".into()),
            port: Some(22),
            ..Default::default()
        };
        out.scanned(&t).unwrap();
        out.scanned(&t).unwrap();
        assert_eq!(out.finish().targets, 1);
        assert_eq!(n, 1);
    }
}
