//! Embeds yunshou's own rule pack (`rules/yunshou/**.yml` at the repository root, without its
//! `tests/`) so the server detects with it out of the box.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "tests") {
                collect(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let pack = manifest.join("../../rules/yunshou");
    println!("cargo:rerun-if-changed={}", pack.display());
    let mut files = vec![];
    collect(&pack, &mut files);
    files.sort();
    let mut code = String::from("/// yunshou's rule pack: (path inside the pack, text).\npub static BUILTIN_RULES: &[(&str, &str)] = &[\n");
    for f in &files {
        let rel = f.strip_prefix(&pack).expect("inside the pack");
        code.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            rel.to_string_lossy(),
            f.canonicalize().expect("file exists").to_string_lossy()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("builtin_rules.rs"), code).expect("OUT_DIR is writable");
}
