//! The tree's own rules, checked by `cargo xtask tidy` and by this crate's tests.

use std::fs;
use std::path::{Path, PathBuf};

/// What booking-core may depend on: pure crates only — no database, HTTP, mail, runtime or
/// randomness. `proptest` is optional, behind the `testkit` feature.
const CORE_ALLOWED: &[&str] = &[
    "async-trait",
    "chrono",
    "chrono-tz",
    "thiserror",
    "uuid",
    "sha2",
    "proptest",
];

/// Calls that would make booking-core read the clock or the OS's randomness itself.
const CORE_FORBIDDEN_CALLS: &[&str] = &[
    "Utc::now",
    "Local::now",
    "SystemTime::now",
    "Instant::now",
    "thread_rng",
    "getrandom",
    "OsRng",
];

/// Every problem found, or `Ok` when the tree follows its rules.
pub fn check(root: &Path) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    core_dependencies(root, &mut problems);
    core_purity(root, &mut problems);
    file_headers(root, &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The names in the `[dependencies]` table of a manifest.
fn dependency_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps
            && !line.starts_with('#')
            && let Some((name, _)) = line.split_once('=')
        {
            names.push(name.trim().split('.').next().unwrap_or_default().to_owned());
        }
    }
    names
}

fn core_dependencies(root: &Path, problems: &mut Vec<String>) {
    let path = root.join("crates/booking-core/Cargo.toml");
    let Ok(manifest) = fs::read_to_string(&path) else {
        problems.push(format!("{} is missing", path.display()));
        return;
    };
    for name in dependency_names(&manifest) {
        if !CORE_ALLOWED.contains(&name.as_str()) {
            problems.push(format!("booking-core must stay pure: dependency `{name}` is not on the allow-list in xtask/src/tidy.rs"));
        }
    }
}

fn core_purity(root: &Path, problems: &mut Vec<String>) {
    for file in rust_files(&root.join("crates/booking-core/src")) {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        for call in CORE_FORBIDDEN_CALLS {
            if text.contains(call) {
                problems.push(format!(
                    "{}: booking-core must not call `{call}`; use the Clock/TokenSource ports",
                    file.display()
                ));
            }
        }
    }
}

fn file_headers(root: &Path, problems: &mut Vec<String>) {
    let mut files = rust_files(&root.join("crates"));
    files.extend(rust_files(&root.join("xtask")));
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        if !text.starts_with("//!") {
            problems.push(format!(
                "{}: every Rust file starts with a `//!` line saying what it is for",
                file.display()
            ));
        }
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                found.extend(rust_files(&path));
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_follows_its_rules() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        if let Err(problems) = check(root) {
            panic!("tidy found problems:\n{}", problems.join("\n"));
        }
    }

    #[test]
    fn a_forbidden_dependency_is_reported() {
        let names = dependency_names(
            "[package]\nname = \"x\"\n[dependencies]\nsqlx = \"0.9\"\nchrono.workspace = true\n[dev-dependencies]\ntokio = \"1\"\n",
        );
        assert_eq!(names, ["sqlx", "chrono"]);
        assert!(!CORE_ALLOWED.contains(&"sqlx"));
    }
}
