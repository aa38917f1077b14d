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
    // Phone numbers to E.164 against libphonenumber's metadata: pure data and parsing.
    "phonenumber",
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

/// Pure crates adapters share (rendering, row shapes): of our crates they use booking-core
/// only, and adapters may use them.
const SHARED: &[&str] = &["store-common", "invite-ics"];

/// Adapters by name: the ones we have and the families to come.
const ADAPTERS: &[&str] = &["mailer-smtp", "webhooks-out"];
const ADAPTER_FAMILIES: &[&str] = &["store-", "calendar-", "sms-"];

/// Inner crates that reach the outside world only through booking-core's ports.
const ON_PORTS_ONLY: &[&str] = &["dispatch", "web"];

/// Where a crate of ours sits in the layering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Core,
    Shared,
    Adapter,
    OnPorts,
    /// `app` and `xtask`: they may know every crate.
    Outer,
}

fn layer_of(name: &str) -> Layer {
    if name == "booking-core" {
        Layer::Core
    } else if SHARED.contains(&name) {
        Layer::Shared
    } else if ADAPTERS.contains(&name) || ADAPTER_FAMILIES.iter().any(|f| name.starts_with(f)) {
        Layer::Adapter
    } else if ON_PORTS_ONLY.contains(&name) {
        Layer::OnPorts
    } else {
        Layer::Outer
    }
}

/// Why `from` may not have `to` (both crates of ours) in its `[dependencies]`, if it may not.
/// Dev-dependencies are free: tests may wire real adapters.
fn layering_violation(from: &str, to: &str) -> Option<String> {
    let allowed = match (layer_of(from), layer_of(to)) {
        (Layer::Outer, _) | (_, Layer::Core) => true,
        (Layer::Core, _) => false,
        (Layer::Shared, _) => false,
        (Layer::Adapter, target) => target == Layer::Shared,
        (Layer::OnPorts, target) => target == Layer::Shared,
    };
    (!allowed).then(|| {
        let why = match layer_of(from) {
            Layer::Core => "booking-core depends on no crate of ours",
            Layer::Shared => "a shared pure crate depends on booking-core only",
            Layer::Adapter => {
                "an adapter depends on booking-core and shared pure crates only, never on another adapter, app, web or dispatch"
            }
            Layer::OnPorts | Layer::Outer => {
                "dispatch and web reach adapters only through booking-core's ports (the binary wires them)"
            }
        };
        format!("crate `{from}` must not depend on `{to}`: {why}")
    })
}

/// Every problem found, or `Ok` when the tree follows its rules.
pub fn check(root: &Path) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    core_dependencies(root, &mut problems);
    core_purity(root, &mut problems);
    core_chrono_has_no_clock(root, &mut problems);
    layering(root, &mut problems);
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

/// The package name of a manifest.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if in_package
            && let Some(("name", value)) = line.split_once('=').map(|(k, v)| (k.trim(), v))
        {
            return Some(value.trim().trim_matches('"').to_owned());
        }
    }
    None
}

/// Every crate under `crates/`: its package name and the names in its `[dependencies]`.
fn workspace_crates(root: &Path) -> Vec<(String, Vec<String>)> {
    let mut crates = Vec::new();
    let Ok(entries) = fs::read_dir(root.join("crates")) else {
        return crates;
    };
    for entry in entries.flatten() {
        let Ok(manifest) = fs::read_to_string(entry.path().join("Cargo.toml")) else {
            continue;
        };
        if let Some(name) = package_name(&manifest) {
            crates.push((name, dependency_names(&manifest)));
        }
    }
    crates.sort();
    crates
}

fn layering(root: &Path, problems: &mut Vec<String>) {
    let crates = workspace_crates(root);
    let ours: Vec<&str> = crates.iter().map(|(name, _)| name.as_str()).collect();
    for (name, deps) in &crates {
        for dep in deps.iter().filter(|d| ours.contains(&d.as_str())) {
            if let Some(problem) = layering_violation(name, dep) {
                problems.push(problem);
            }
        }
    }
}

/// The line of `manifest` that declares `dependency` in the table named `table`.
fn dependency_line<'a>(manifest: &'a str, table: &str, dependency: &str) -> Option<&'a str> {
    let mut in_table = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line == table;
            continue;
        }
        if in_table
            && let Some((name, _)) = line.split_once('=')
            && name.trim().split('.').next() == Some(dependency)
        {
            return Some(line);
        }
    }
    None
}

/// booking-core never reads the clock, so its chrono is built without the `clock` feature:
/// neither the workspace entry it inherits nor its own line may turn it on.
fn core_chrono_has_no_clock(root: &Path, problems: &mut Vec<String>) {
    for (manifest, table, what) in [
        (
            "Cargo.toml",
            "[workspace.dependencies]",
            "the workspace's chrono entry",
        ),
        (
            "crates/booking-core/Cargo.toml",
            "[dependencies]",
            "booking-core's chrono",
        ),
    ] {
        let Ok(text) = fs::read_to_string(root.join(manifest)) else {
            problems.push(format!("{manifest} is missing"));
            continue;
        };
        if dependency_line(&text, table, "chrono").is_some_and(|line| line.contains("\"clock\"")) {
            problems.push(format!(
                "{manifest}: {what} must not enable chrono's `clock` feature (booking-core reads time from the Clock port; add `clock` only in crates that need it)"
            ));
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

    #[test]
    fn adapters_depend_on_no_other_adapter_nor_on_inner_crates() {
        for (from, to) in [
            ("mailer-smtp", "webhooks-out"),
            ("webhooks-out", "mailer-smtp"),
            ("store-sqlite", "store-postgres"),
            ("calendar-google", "mailer-smtp"),
            ("sms-twilio", "app"),
            ("mailer-smtp", "web"),
            ("webhooks-out", "dispatch"),
            ("invite-ics", "mailer-smtp"),
            ("store-common", "store-sqlite"),
        ] {
            assert!(layering_violation(from, to).is_some(), "{from} → {to}");
        }
        for (from, to) in [
            ("mailer-smtp", "booking-core"),
            ("mailer-smtp", "invite-ics"),
            ("store-sqlite", "store-common"),
            ("invite-ics", "booking-core"),
        ] {
            assert_eq!(layering_violation(from, to), None, "{from} → {to}");
        }
    }

    #[test]
    fn dispatch_and_web_depend_on_no_adapter() {
        for from in ["dispatch", "web"] {
            for to in [
                "mailer-smtp",
                "webhooks-out",
                "store-sqlite",
                "calendar-google",
                "sms-file",
            ] {
                assert!(layering_violation(from, to).is_some(), "{from} → {to}");
            }
            assert_eq!(layering_violation(from, "booking-core"), None);
        }
        assert_eq!(layering_violation("web", "invite-ics"), None);
        assert!(layering_violation("booking-core", "web").is_some());
        assert_eq!(layering_violation("app", "mailer-smtp"), None);
        assert_eq!(layering_violation("app", "dispatch"), None);
    }

    #[test]
    fn only_the_dependencies_table_counts_for_layering() {
        let manifest = "[package]\nname = \"dispatch\"\n[dependencies]\nbooking-core.workspace = true\n[dev-dependencies]\nmailer-smtp.workspace = true\n";
        assert_eq!(package_name(manifest).as_deref(), Some("dispatch"));
        assert_eq!(dependency_names(manifest), ["booking-core"]);
    }

    #[test]
    fn a_clock_feature_on_chrono_is_found() {
        let with = "[workspace.dependencies]\nchrono = { version = \"0.4\", default-features = false, features = [\"std\", \"clock\"] }\nchrono-tz = \"0.10\"\n";
        let line = dependency_line(with, "[workspace.dependencies]", "chrono").unwrap();
        assert!(line.contains("\"clock\""));
        let core = "[dependencies]\nchrono-tz.workspace = true\nchrono.workspace = true\n[dev-dependencies]\nchrono = { workspace = true, features = [\"clock\"] }\n";
        assert_eq!(
            dependency_line(core, "[dependencies]", "chrono"),
            Some("chrono.workspace = true")
        );
    }
}
