//! `migrate` says what it did, on a fresh SQLite file and a fresh Postgres database; a
//! Postgres that cannot be reached fails within the connect timeout with a message naming the
//! server, never the password.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use super::{run_ok, slotkeeper, tempdir};

/// The migration files of one store, as `migrate` names them.
fn migration_names(dialect: &str) -> Vec<String> {
    let dir = format!("{}/../../migrations/{dialect}", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".sql").map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn assert_migrate_reports(dir: &std::path::Path, env: &[(&str, &str)], dialect: &str) {
    let names = migration_names(dialect);
    let first = run_ok(dir, env, &["migrate"]);
    assert_eq!(
        first,
        format!("applied {} migrations ({})", names.len(), names.join(", "))
    );
    let second = run_ok(dir, env, &["migrate"]);
    assert_eq!(
        second,
        format!("database is up to date ({} migrations)", names.len())
    );
}

#[test]
fn migrate_on_a_fresh_sqlite_file_lists_what_it_applied_then_says_up_to_date() {
    let dir = tempdir("migrate-sqlite");
    assert_migrate_reports(&dir, &[], "sqlite");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn migrate_on_a_fresh_postgres_database_lists_what_it_applied_then_says_up_to_date() {
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .expect("TEST_DATABASE_URL must name a Postgres admin URL (cargo xtask test provides one)");
    let name = format!("slotkeeper_cli_migrate_{}", std::process::id());
    let admin = |sql: String| {
        let url = admin_url.clone();
        async move {
            let options = PgConnectOptions::from_str(&url).expect("a Postgres URL");
            let mut conn = PgConnection::connect_with(&options).await.expect("admin");
            conn.execute(AssertSqlSafe(sql.clone()))
                .await
                .expect("admin sql");
            conn.close().await.ok();
        }
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(admin(format!(
        "drop database if exists {name} with (force)"
    )));
    runtime.block_on(admin(format!("create database {name}")));
    let server = admin_url
        .split('?')
        .next()
        .and_then(|u| u.rsplit_once('/'))
        .map_or(admin_url.as_str(), |(server, _)| server);
    let url = format!("{server}/{name}");
    let dir = tempdir("migrate-postgres");
    assert_migrate_reports(&dir, &[("DATABASE_URL", &url)], "postgres");
    runtime.block_on(admin(format!(
        "drop database if exists {name} with (force)"
    )));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The error of `host list` against `url` with a connect timeout of one second.
fn unreachable(name: &str, url: &str) -> String {
    let dir = tempdir(name);
    let out = slotkeeper(&dir)
        .env("DATABASE_URL", url)
        .env("DATABASE_CONNECT_TIMEOUT_SECONDS", "1")
        .args(["host", "list"])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!out.status.success(), "{url} worked");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_silent_postgres_fails_at_the_connect_timeout_naming_the_server() {
    // Accepts TCP connections (the kernel does, from the backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let stderr = unreachable(
        "silent",
        &format!("postgres://booker:pw-never-shown@127.0.0.1:{port}/bookings"),
    );
    for expected in [
        &format!(
            "could not connect to Postgres at 127.0.0.1:{port} (user booker, database bookings)"
        ),
        "no connection within 1 s",
        "check that the server is running",
        "DATABASE_CONNECT_TIMEOUT_SECONDS",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    assert!(!stderr.contains("pw-never-shown"), "{stderr}");
    drop(silent);
}

#[test]
fn a_refusing_postgres_fails_at_the_connect_timeout_with_the_refusal() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let stderr = unreachable(
        "refusing",
        &format!("postgres://booker:pw-never-shown@127.0.0.1:{closed}/bookings"),
    );
    assert!(stderr.contains(&format!("127.0.0.1:{closed}")), "{stderr}");
    assert!(stderr.contains("no connection within 1 s"), "{stderr}");
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
    assert!(!stderr.contains("pw-never-shown"), "{stderr}");
}

#[test]
fn a_bad_connect_timeout_is_reported() {
    let dir = tempdir("connect-timeout");
    for value in ["0", "601", "soon"] {
        let out = slotkeeper(&dir)
            .env("DATABASE_CONNECT_TIMEOUT_SECONDS", value)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{value}");
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("DATABASE_CONNECT_TIMEOUT_SECONDS must be a number from 1 to 600"),
            "{value}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
