//! Charts drawn as SVG on the server: no script, nothing the CSP must allow.

use std::fmt::Write;
use yunshou_identify::graph::{short_label, Layout};
use yunshou_model::relation::RelationKind;

/// One bar of a stacked bar chart.
pub struct Bar {
    /// Label under the bar.
    pub label: String,
    /// Lower segment.
    pub good: i64,
    /// Upper segment.
    pub bad: i64,
}

/// Escapes text for HTML and SVG (content and quoted attributes).
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
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

/// One series of a line chart.
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// CSS class of the line (`line-a`, `line-b`).
    pub class: &'a str,
    /// One value per label.
    pub values: Vec<i64>,
}

/// A line chart over `labels` (e.g. days), 640×200, first and last labels on the axis.
pub fn line_chart(title: &str, labels: &[String], series: &[Series]) -> String {
    const W: f64 = 640.0;
    const H: f64 = 200.0;
    const TOP: f64 = 24.0;
    const BOTTOM: f64 = 24.0;
    const LEFT: f64 = 40.0;
    const RIGHT: f64 = 10.0;
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = labels.len().max(2) as f64;
    let x_of = |i: usize| LEFT + (W - LEFT - RIGHT) * i as f64 / (n - 1.0);
    let y_of = |v: i64| H - BOTTOM - (H - TOP - BOTTOM) * v as f64 / max;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = esc(title)
    );
    for frac in [0.0, 0.5, 1.0] {
        let v = (frac * max).round() as i64;
        let y = y_of(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{x}" y="{ty:.1}" text-anchor="end">{v}</text>"#,
            x2 = W - RIGHT,
            x = LEFT - 4.0,
            ty = y + 4.0,
        );
    }
    if let (Some(first), Some(last)) = (labels.first(), labels.last()) {
        let _ = write!(
            s,
            r#"<text class="axis" x="{LEFT}" y="{y}">{a}</text><text class="axis" x="{x}" y="{y}" text-anchor="end">{b}</text>"#,
            y = H - 6.0,
            x = W - RIGHT,
            a = esc(first),
            b = esc(last)
        );
    }
    for (k, series) in series.iter().enumerate() {
        let points: Vec<String> = series
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x_of(i), y_of(*v)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="{c}" fill="none" points="{p}"/><rect class="{c}" x="{lx}" y="6" width="10" height="10"/><text class="axis" x="{tx}" y="15">{name} {last}</text>"#,
            c = esc(series.class),
            p = points.join(" "),
            lx = LEFT + 160.0 * k as f64,
            tx = LEFT + 14.0 + 160.0 * k as f64,
            name = esc(series.name),
            last = series.values.last().copied().unwrap_or(0)
        );
    }
    s.push_str("</svg>");
    s
}

/// A 5×5 risk heat map (GB/T 20984): likelihood up the side, loss along the bottom, each
/// cell coloured by the level it stands for and labelled with its count.
pub fn heat_map(
    title: &str,
    likelihood: &str,
    loss: &str,
    cells: &[[i64; 5]; 5],
    levels: &[[u8; 5]; 5],
) -> String {
    const CELL: f64 = 56.0;
    const LEFT: f64 = 48.0;
    const TOP: f64 = 8.0;
    let w = LEFT + 5.0 * CELL + 8.0;
    let h = TOP + 5.0 * CELL + 40.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart heatmap" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = esc(title)
    );
    for l in 1..=5usize {
        let y = TOP + (5 - l) as f64 * CELL;
        let _ = write!(
            s,
            r#"<text class="axis" x="{x}" y="{ty:.1}" text-anchor="end">{l}</text>"#,
            x = LEFT - 6.0,
            ty = y + CELL / 2.0 + 4.0
        );
        for f in 1..=5usize {
            let x = LEFT + (f - 1) as f64 * CELL;
            let n = cells[l - 1][f - 1];
            let _ = write!(
                s,
                r#"<g class="heat-cell" data-l="{l}" data-f="{f}" data-count="{n}"><title>L{l} × F{f}: {n}</title><rect class="heat-l{lv}" x="{x:.1}" y="{y:.1}" width="{c:.1}" height="{c:.1}"/><text class="heat-n" x="{cx:.1}" y="{cy:.1}" text-anchor="middle">{label}</text></g>"#,
                lv = levels[l - 1][f - 1].clamp(1, 5),
                c = CELL - 2.0,
                cx = x + CELL / 2.0,
                cy = y + CELL / 2.0 + 5.0,
                label = if n == 0 { String::new() } else { n.to_string() },
            );
        }
    }
    for f in 1..=5usize {
        let _ = write!(
            s,
            r#"<text class="axis" x="{x:.1}" y="{y:.1}" text-anchor="middle">{f}</text>"#,
            x = LEFT + (f - 1) as f64 * CELL + CELL / 2.0,
            y = TOP + 5.0 * CELL + 14.0
        );
    }
    let _ = write!(
        s,
        r#"<text class="axis" x="{x:.1}" y="{y:.1}" text-anchor="middle">{loss} →</text><text class="axis" x="12" y="{ly:.1}" transform="rotate(-90 12 {ly:.1})" text-anchor="middle">{likelihood} →</text></svg>"#,
        x = LEFT + 2.5 * CELL,
        y = TOP + 5.0 * CELL + 32.0,
        ly = TOP + 2.5 * CELL,
        loss = esc(loss),
        likelihood = esc(likelihood),
    );
    s
}

/// One bar of a chart against targets: a value (none when nothing was measured) and the
/// target it is held to.
pub struct TargetBar {
    /// Label under the bar.
    pub label: String,
    /// The measured value (e.g. median minutes).
    pub value: Option<f64>,
    /// The target (a tick across the bar's slot).
    pub target: Option<f64>,
    /// The value as text, shown over the bar and in its tooltip.
    pub value_text: String,
    /// The target as text, for the tooltip.
    pub target_text: String,
}

/// Bars against targets, 640×200: a bar over its target is drawn `bad`, within it `ok`; each
/// target is a dashed tick across its slot. Labels are escaped.
pub fn target_bars(title: &str, bars: &[TargetBar]) -> String {
    const W: f64 = 640.0;
    const H: f64 = 200.0;
    const TOP: f64 = 18.0;
    const BOTTOM: f64 = 30.0;
    const LEFT: f64 = 12.0;
    let max = bars
        .iter()
        .flat_map(|b| [b.value, b.target])
        .flatten()
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let n = bars.len().max(1) as f64;
    let slot = (W - LEFT) / n;
    let scale = (H - TOP - BOTTOM) / max;
    let base = H - BOTTOM;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart targets" viewBox="0 0 {W} {H}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><line class="grid" x1="{LEFT}" x2="{W}" y1="{base}" y2="{base}"/>"#,
        t = esc(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let x = LEFT + i as f64 * slot + slot * 0.2;
        let w = slot * 0.6;
        let _ = write!(
            s,
            r#"<g class="target-bar"><title>{label}: {v} / {tt}</title>"#,
            label = esc(&b.label),
            v = esc(&b.value_text),
            tt = esc(&b.target_text),
        );
        if let Some(v) = b.value {
            let h = v * scale;
            let over = b.target.is_some_and(|t| v > t);
            let _ = write!(
                s,
                r#"<rect class="{c}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}"/><text class="axis" x="{cx:.1}" y="{ty:.1}" text-anchor="middle">{v}</text>"#,
                c = if over { "bad" } else { "ok" },
                y = base - h,
                cx = x + w / 2.0,
                ty = (base - h - 4.0).max(10.0),
                v = esc(&b.value_text),
            );
        }
        if let Some(t) = b.target {
            let y = base - t * scale;
            let _ = write!(
                s,
                r#"<line class="target" x1="{x1:.1}" x2="{x2:.1}" y1="{y:.1}" y2="{y:.1}"/>"#,
                x1 = x - slot * 0.1,
                x2 = x + w + slot * 0.1,
            );
        }
        let _ = write!(
            s,
            r#"</g><text class="axis" x="{cx:.1}" y="{ly}" text-anchor="middle">{label}</text>"#,
            cx = x + w / 2.0,
            ly = H - 10.0,
            label = esc(&b.label),
        );
    }
    s.push_str("</svg>");
    s
}

/// Texts of the relations graph, in the reader's language.
pub struct GraphTexts<'a> {
    /// Title for screen readers.
    pub title: &'a str,
    /// Legend entry per relation kind, in [`RelationKind::ALL`] order.
    pub kinds: [&'a str; 4],
    /// Legend of the node colours ("asset value").
    pub value: &'a str,
}

fn value_class(value: Option<u8>) -> &'static str {
    match value {
        Some(5) => "v5",
        Some(4) => "v4",
        Some(3) => "v3",
        Some(2) => "v2",
        Some(_) => "v1",
        None => "v0",
    }
}

/// Draws a laid-out relations graph. Each node links to its asset page and carries its full
/// name, kind and value as a tooltip; edges are coloured and arrowed by relation kind;
/// internet-facing assets have a heavy outline.
pub fn relation_graph(g: &Layout, t: &GraphTexts) -> String {
    let r = g.radius.max(220.0);
    let size = 2.0 * r;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="graph" viewBox="{x0:.0} {x0:.0} {size:.0} {size:.0}" width="{w:.0}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><defs>"#,
        x0 = -r,
        w = size.min(1400.0),
        t = esc(t.title)
    );
    for kind in RelationKind::ALL {
        let _ = write!(
            s,
            r#"<marker id="arrow-{k}" viewBox="0 0 10 10" refX="18" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path class="edge-{k}" d="M0,0 L10,5 L0,10 z"/></marker>"#,
            k = kind.as_str()
        );
    }
    s.push_str("</defs>");
    for e in &g.edges {
        let (Some(a), Some(b)) = (
            g.nodes.iter().find(|n| n.node.id == e.from),
            g.nodes.iter().find(|n| n.node.id == e.to),
        ) else {
            continue;
        };
        let _ = write!(
            s,
            r#"<line class="edge edge-{k}" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" marker-end="url(#arrow-{k})"/>"#,
            a.x,
            a.y,
            b.x,
            b.y,
            k = e.kind.as_str()
        );
    }
    for (i, p) in g.nodes.iter().enumerate() {
        let centre = i == 0;
        let radius = if centre { 14.0 } else { 8.0 };
        let label = esc(&short_label(&p.node.label));
        let tip = format!(
            "{} ({}{})",
            p.node.label,
            p.node.kind,
            p.node.value.map(|v| format!(", {v}")).unwrap_or_default()
        );
        let _ = write!(
            s,
            r#"<a href="/assets/{id}"><g class="node {vc}{ext}"><title>{tip}</title><circle cx="{x:.1}" cy="{y:.1}" r="{radius}"/>"#,
            id = esc(&p.node.id),
            vc = value_class(p.node.value),
            ext = if p.node.internet_facing {
                " internet"
            } else {
                ""
            },
            tip = esc(&tip),
            x = p.x,
            y = p.y,
        );
        if centre {
            let _ = write!(
                s,
                r#"<text class="label centre" x="{x:.1}" y="{y:.1}" text-anchor="middle">{label}</text>"#,
                x = p.x,
                y = p.y + radius + 14.0
            );
        } else {
            // Labels run outwards along the radius, flipped on the left half to stay upright.
            let deg = p.angle.to_degrees();
            let left = p.angle.cos() < 0.0;
            let (rot, anchor, dx) = if left {
                (deg + 180.0, "end", -(radius + 3.0))
            } else {
                (deg, "start", radius + 3.0)
            };
            let _ = write!(
                s,
                r#"<text class="label" x="{x:.1}" y="{y:.1}" dx="{dx:.1}" dy="4" text-anchor="{anchor}" transform="rotate({rot:.1} {x:.1} {y:.1})">{label}</text>"#,
                x = p.x,
                y = p.y,
            );
        }
        s.push_str("</g></a>");
    }
    // Legend, top left.
    let (lx, ly) = (-r + 12.0, -r + 18.0);
    for (k, kind) in RelationKind::ALL.iter().enumerate() {
        let y = ly + 18.0 * k as f64;
        let _ = write!(
            s,
            r#"<line class="edge edge-{c}" x1="{lx:.1}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}"/><text class="legend" x="{tx:.1}" y="{ty:.1}">{name}</text>"#,
            c = kind.as_str(),
            x2 = lx + 24.0,
            tx = lx + 30.0,
            ty = y + 4.0,
            name = esc(t.kinds[k])
        );
    }
    let y = ly + 18.0 * 4.0 + 6.0;
    let _ = write!(
        s,
        r#"<text class="legend" x="{lx:.1}" y="{y:.1}">{v}</text>"#,
        v = esc(t.value)
    );
    for (k, v) in [None, Some(1), Some(2), Some(3), Some(4), Some(5)]
        .into_iter()
        .enumerate()
    {
        let x = lx + 8.0 + 22.0 * k as f64;
        let _ = write!(
            s,
            r#"<g class="node {c}"><circle cx="{x:.1}" cy="{cy:.1}" r="7"/></g><text class="legend" x="{x:.1}" y="{ty:.1}" text-anchor="middle">{v}</text>"#,
            c = value_class(v),
            cy = y + 14.0,
            ty = y + 34.0,
            v = v.map(|v| v.to_string()).unwrap_or_else(|| "–".into())
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

    #[test]
    fn graph_nodes_link_to_assets_and_escape_names() {
        use yunshou_identify::graph::{layout, Edge, Node};
        let node = |id: &str, label: &str, depth| Node {
            id: id.into(),
            label: label.into(),
            kind: "host".into(),
            value: Some(4),
            internet_facing: depth == 0,
            depth,
        };
        let g = layout(
            vec![node("a", "<script>", 0), node("b", "数据库", 1)],
            vec![Edge {
                from: "a".into(),
                to: "b".into(),
                kind: RelationKind::DependsOn,
            }],
        );
        let svg = relation_graph(
            &g,
            &GraphTexts {
                title: "关系图",
                kinds: ["运行于", "依赖", "连接", "属于"],
                value: "资产价值",
            },
        );
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains(r#"href="/assets/b""#));
        assert_eq!(
            svg.matches("class=\"edge edge-depends_on\"").count(),
            2,
            "edge and legend"
        );
        assert!(svg.contains("node v4 internet"));
    }

    #[test]
    fn line_chart_draws_each_series() {
        let svg = line_chart(
            "t",
            &["2026-11-01".into(), "2026-11-02".into()],
            &[Series {
                name: "资产",
                class: "line-a",
                values: vec![3, 5],
            }],
        );
        assert!(svg.contains("<polyline class=\"line-a\""));
        assert!(svg.contains("资产 5"));
    }
}
