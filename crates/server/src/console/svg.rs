//! Charts drawn as SVG on the server: no script, nothing the CSP must allow.

use std::fmt::Write;

/// One bar of a stacked bar chart.
pub struct Bar {
    /// Label under the bar.
    pub label: String,
    /// Lower segment.
    pub good: i64,
    /// Upper segment.
    pub bad: i64,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A stacked bar chart (success below, failure above), 640×200, with a title for screen readers.
pub fn stacked_bars(title: &str, bars: &[Bar]) -> String {
    const W: f64 = 640.0;
    const H: f64 = 200.0;
    const TOP: f64 = 10.0;
    const BOTTOM: f64 = 30.0;
    const LEFT: f64 = 36.0;
    let max = bars
        .iter()
        .map(|b| b.good + b.bad)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = bars.len().max(1) as f64;
    let slot = (W - LEFT) / n;
    let scale = (H - TOP - BOTTOM) / max;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = esc(title)
    );
    for frac in [0.0, 0.5, 1.0] {
        let y = H - BOTTOM - frac * max * scale;
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{W}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{x}" y="{ty:.1}" text-anchor="end">{v}</text>"#,
            x = LEFT - 4.0,
            ty = y + 4.0,
            v = (frac * max).round() as i64
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let x = LEFT + i as f64 * slot + slot * 0.15;
        let w = slot * 0.7;
        let good_h = b.good as f64 * scale;
        let bad_h = b.bad as f64 * scale;
        let base = H - BOTTOM;
        let _ = write!(
            s,
            r#"<g><title>{label}: {g} / {bd}</title><rect class="ok" x="{x:.1}" y="{gy:.1}" width="{w:.1}" height="{good_h:.1}"/><rect class="bad" x="{x:.1}" y="{by:.1}" width="{w:.1}" height="{bad_h:.1}"/></g><text class="axis" x="{cx:.1}" y="{ly}" text-anchor="middle">{label}</text>"#,
            label = esc(&b.label),
            g = b.good,
            bd = b.bad,
            gy = base - good_h,
            by = base - good_h - bad_h,
            cx = x + w / 2.0,
            ly = H - 10.0,
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_drawn() {
        let svg = stacked_bars(
            "<t>",
            &[Bar {
                label: "<b>".into(),
                good: 3,
                bad: 1,
            }],
        );
        assert!(svg.contains("&lt;t&gt;"));
        assert!(!svg.contains("<b>"));
        assert_eq!(svg.matches("<rect").count(), 2);
    }
}
