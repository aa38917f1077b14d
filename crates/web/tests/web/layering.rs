//! The crate's module graph has no cycles: for the crate's top-level modules and for the host
//! side's modules, a module that names another (`crate::x`, `super::x`) is never named back,
//! directly or through others. (A child naming its parent, `super::HostSide`, is fine: the
//! graph is over siblings.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name → the sibling modules its source names, read from `dir`.
fn graph(dir: &Path, prefix: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = if path.is_dir() {
            path.file_name().unwrap().to_string_lossy().into_owned()
        } else if path.extension().is_some_and(|e| e == "rs") {
            path.file_stem().unwrap().to_string_lossy().into_owned()
        } else {
            continue;
        };
        let mut text = String::new();
        if path.is_dir() {
            for inner in walk(&path) {
                text.push_str(&std::fs::read_to_string(inner).unwrap());
            }
        } else {
            text = std::fs::read_to_string(&path).unwrap();
        }
        files
            .entry(name)
            .or_insert_with(String::new)
            .push_str(&text);
    }
    let names: BTreeSet<String> = files.keys().cloned().collect();
    files
        .iter()
        .filter(|(name, _)| !["lib", "mod", "main"].contains(&name.as_str()))
        .map(|(name, text)| {
            let code: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let named = names
                .iter()
                .filter(|other| *other != name)
                .filter(|other| {
                    let needle = format!("{prefix}{other}");
                    code.match_indices(&needle).any(|(i, _)| {
                        !code[i + needle.len()..]
                            .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                    })
                })
                .cloned()
                .collect();
            (name.clone(), named)
        })
        .collect()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// A cycle in `graph`, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_crate_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let top = graph(&src, "crate::");
    assert!(
        top["openapi"].contains("api"),
        "the scan sees imports: {top:?}"
    );
    assert_eq!(cycle(&top), None, "{top:?}");
}

#[test]
fn the_host_modules_form_no_cycle() {
    let host = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/host");
    let graph = graph(&host, "super::");
    assert!(
        graph["calendar"].contains("extract"),
        "the scan sees imports: {graph:?}"
    );
    assert_eq!(cycle(&graph), None, "{graph:?}");
}

#[test]
fn a_cycle_is_found() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
