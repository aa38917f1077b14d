//! Log lines carry terminal colour codes only on a terminal, and never with `NO_COLOR`.

use std::process::Command;

use super::{slotkeeper, tempdir};

const ESC: char = '\u{1b}';

#[test]
fn logs_are_coloured_on_a_terminal_only_and_never_with_no_color() {
    let dir = tempdir("colours");
    // A first command on a fresh file logs the migrations it applied: a log line to look at.
    let piped = slotkeeper(&dir).args(["host", "list"]).output().unwrap();
    assert!(piped.status.success());
    let log = String::from_utf8_lossy(&piped.stderr);
    assert!(log.contains("applied migrations"), "{log}");
    assert!(!log.contains(ESC), "colour codes in a pipe: {log:?}");

    // On a terminal (a pseudo-terminal from util-linux `script`), with a fresh file each time
    // so there is a line to log.
    let on_terminal = |name: &str, no_color: Option<&str>| {
        let mut cmd = Command::new("script");
        cmd.args([
            "-qec",
            &format!("{} host list", env!("CARGO_BIN_EXE_slotkeeper")),
            "/dev/null",
        ])
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("RUST_LOG", "info")
        .env("DATABASE_URL", format!("sqlite://{name}.db"));
        if let Some(value) = no_color {
            cmd.env("NO_COLOR", value);
        }
        let out = cmd
            .output()
            .expect("util-linux `script` runs the binary on a terminal");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_terminal("tty", None);
    assert!(coloured.contains("applied migrations"), "{coloured}");
    assert!(
        coloured.contains(ESC),
        "a terminal gets colours: {coloured:?}"
    );
    let plain = on_terminal("no-color", Some("1"));
    assert!(plain.contains("applied migrations"), "{plain}");
    assert!(!plain.contains(ESC), "NO_COLOR: {plain:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
