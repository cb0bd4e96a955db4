//! The relations graph of an asset's neighbourhood (I.1.b), laid out for drawing.
//!
//! Radial layout: the asset at the centre, its neighbours on rings by hop distance. A ring
//! holds as many nodes as fit at [`SPACING`] along its circumference; a hop level with more
//! nodes spills onto further rings, so 200 nodes stay legible. Labels run outwards along the
//! radius, so neighbours on a ring never overprint each other's labels. Within a level, nodes
//! are ordered by the angle of the node they hang from, which keeps edges short and crossings
//! few.

use std::collections::HashMap;
use yunshou_model::relation::RelationKind;

/// Distance between node centres along a ring, in pixels.
pub const SPACING: f64 = 26.0;
/// Radius of the first ring.
pub const FIRST_RING: f64 = 150.0;
/// Distance between rings: room for a label of [`LABEL_CHARS`] characters.
pub const RING_GAP: f64 = 140.0;
/// Labels are cut to this many characters.
pub const LABEL_CHARS: usize = 12;

/// A node to place.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Asset id.
    pub id: String,
    /// Asset name.
    pub label: String,
    /// Asset kind.
    pub kind: String,
    /// Asset value 1–5, if valued.
    pub value: Option<u8>,
    /// Internet-facing.
    pub internet_facing: bool,
    /// Hops from the centre (0 for the centre).
    pub depth: u32,
}

/// An edge between two placed nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// From asset id.
    pub from: String,
    /// To asset id.
    pub to: String,
    /// Kind.
    pub kind: RelationKind,
}

/// A node with its position; `angle` in radians (0 = east, clockwise in screen terms).
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// The node.
    pub node: Node,
    /// Centre x.
    pub x: f64,
    /// Centre y.
    pub y: f64,
    /// Direction from the centre.
    pub angle: f64,
}

/// A laid-out graph; coordinates are centred on (0, 0) and fit in `-radius..radius`.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Nodes, the centre first.
    pub nodes: Vec<Placed>,
    /// Edges whose two ends are both placed.
    pub edges: Vec<Edge>,
    /// Half the width (and height) needed, labels included.
    pub radius: f64,
}

/// How many nodes fit on a ring of radius `r`.
fn capacity(r: f64) -> usize {
    ((std::f64::consts::TAU * r / SPACING).floor() as usize).max(1)
}

/// Places `nodes` (one of them at depth 0) and keeps the `edges` between them.
pub fn layout(nodes: Vec<Node>, edges: Vec<Edge>) -> Layout {
    let mut by_depth: Vec<Vec<Node>> = Vec::new();
    for n in nodes {
        let d = n.depth as usize;
        if by_depth.len() <= d {
            by_depth.resize(d + 1, Vec::new());
        }
        by_depth[d].push(n);
    }
    let mut angle_of: HashMap<String, f64> = HashMap::new();
    let mut placed = Vec::new();
    let mut ring = 0usize;
    let mut outer = 0.0f64;
    for (depth, mut level) in by_depth.into_iter().enumerate() {
        if depth == 0 {
            for n in level {
                angle_of.insert(n.id.clone(), 0.0);
                placed.push(Placed {
                    node: n,
                    x: 0.0,
                    y: 0.0,
                    angle: 0.0,
                });
            }
            continue;
        }
        // The angle of the nearest already-placed neighbour orders the level.
        let parent_angle = |id: &str| -> f64 {
            edges
                .iter()
                .filter_map(|e| {
                    if e.from == id {
                        angle_of.get(&e.to)
                    } else if e.to == id {
                        angle_of.get(&e.from)
                    } else {
                        None
                    }
                })
                .copied()
                .fold(f64::INFINITY, f64::min)
        };
        let mut keyed: Vec<(f64, Node)> =
            level.drain(..).map(|n| (parent_angle(&n.id), n)).collect();
        keyed.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then_with(|| a.1.kind.cmp(&b.1.kind))
                .then_with(|| a.1.label.cmp(&b.1.label))
        });
        let mut rest = keyed.as_slice();
        while !rest.is_empty() {
            let r = FIRST_RING + RING_GAP * ring as f64;
            let take = capacity(r).min(rest.len());
            // Spread over the whole ring, offset by the first node's parent so a lone child
            // sits near its parent.
            let start = if rest[0].0.is_finite() {
                rest[0].0
            } else {
                0.0
            };
            for (i, (_, n)) in rest[..take].iter().enumerate() {
                let angle = start + std::f64::consts::TAU * i as f64 / take as f64;
                angle_of.insert(n.id.clone(), angle);
                placed.push(Placed {
                    node: n.clone(),
                    x: r * angle.cos(),
                    y: r * angle.sin(),
                    angle,
                });
            }
            rest = &rest[take..];
            outer = r;
            ring += 1;
        }
    }
    let edges = edges
        .into_iter()
        .filter(|e| angle_of.contains_key(&e.from) && angle_of.contains_key(&e.to))
        .collect();
    Layout {
        nodes: placed,
        edges,
        radius: outer + RING_GAP,
    }
}

/// The label as drawn: at most [`LABEL_CHARS`] characters, with an ellipsis when cut.
pub fn short_label(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_string();
    }
    let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: usize, depth: u32) -> Node {
        Node {
            id: format!("n{id}"),
            label: format!("资产-{id:03}"),
            kind: "host".into(),
            value: Some(3),
            internet_facing: false,
            depth,
        }
    }

    #[test]
    fn two_hundred_nodes_keep_their_distance() {
        let mut nodes = vec![node(0, 0)];
        let mut edges = vec![];
        for i in 1..=20 {
            nodes.push(node(i, 1));
            edges.push(Edge {
                from: "n0".into(),
                to: format!("n{i}"),
                kind: RelationKind::DependsOn,
            });
        }
        for i in 21..200 {
            nodes.push(node(i, 2));
            edges.push(Edge {
                from: format!("n{}", 1 + i % 20),
                to: format!("n{i}"),
                kind: RelationKind::RunsOn,
            });
        }
        let g = layout(nodes, edges);
        assert_eq!(g.nodes.len(), 200);
        assert_eq!(g.edges.len(), 199);
        for (i, a) in g.nodes.iter().enumerate() {
            for b in &g.nodes[i + 1..] {
                let d = ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt();
                assert!(
                    d >= SPACING - 0.5,
                    "{} and {} are {d:.1}px apart",
                    a.node.id,
                    b.node.id
                );
            }
            assert!(a.x.abs() < g.radius && a.y.abs() < g.radius);
        }
        // Well under a screen-and-a-half across for 200 nodes.
        assert!(g.radius < 900.0, "radius {}", g.radius);
    }

    #[test]
    fn a_lone_neighbour_sits_beside_the_centre_and_dangling_edges_go() {
        let g = layout(
            vec![node(0, 0), node(1, 1)],
            vec![
                Edge {
                    from: "n1".into(),
                    to: "n0".into(),
                    kind: RelationKind::RunsOn,
                },
                Edge {
                    from: "n1".into(),
                    to: "gone".into(),
                    kind: RelationKind::RunsOn,
                },
            ],
        );
        assert_eq!((g.nodes[0].x, g.nodes[0].y), (0.0, 0.0));
        assert!((g.nodes[1].x - FIRST_RING).abs() < 1e-9);
        assert_eq!(g.edges.len(), 1);
    }

    #[test]
    fn labels_are_cut_by_characters() {
        assert_eq!(
            short_label("政务服务网统一身份认证平台"),
            "政务服务网统一身份认证…"
        );
        assert_eq!(short_label("OA"), "OA");
    }
}
