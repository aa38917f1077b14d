//! Finds or starts a Postgres server the tests may create databases on, so `cargo xtask test`
//! passes on a fresh machine.
//!
//! In order: `TEST_DATABASE_URL` if set; a server on 127.0.0.1:5432 (user `postgres`, trust
//! authentication) if one answers; a throwaway cluster under `target/pg` started with
//! `initdb`/`pg_ctl` (reused by later runs while it still answers); as root, Debian's
//! `postgresql` package installed first and then the throwaway cluster; else an error saying
//! what to install. `SLOTKEEPER_PG_SKIP_LOCAL=1` skips the 5432 probe (to test the fallback).

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The system user that owns the throwaway cluster when xtask runs as root (initdb refuses
/// to run as root).
const CLUSTER_USER: &str = "postgres";

/// An admin URL of a Postgres where tests may `CREATE DATABASE`.
///
/// # Errors
/// A message saying what failed and what to install.
pub fn ensure_postgres(target_dir: &Path) -> Result<String, String> {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL")
        && !url.is_empty()
    {
        return Ok(url);
    }
    if std::env::var("SLOTKEEPER_PG_SKIP_LOCAL").map_or(true, |v| v != "1") && answers(5432) {
        return Ok(url_for(5432));
    }
    let root = target_dir.join("pg");
    if let Some(port) = running_cluster(&root) {
        return Ok(url_for(port));
    }
    let bin = match find_binaries() {
        Some(bin) => bin,
        None if is_root() => {
            install_postgres()?;
            find_binaries().ok_or("installed the postgresql package but found no initdb/pg_ctl")?
        }
        None => {
            return Err("no Postgres found: set TEST_DATABASE_URL, run a server on 127.0.0.1:5432 (user postgres, \
                 trust auth), or install PostgreSQL so that initdb and pg_ctl are on PATH or under \
                 /usr/lib/postgresql/*/bin (Debian/Ubuntu: `sudo apt-get install postgresql`; \
                 macOS: `brew install postgresql`)"
                .to_owned());
        }
    };
    start_cluster(&bin, &root).map(url_for)
}

fn url_for(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

/// A server on `port` accepts TCP and, where `psql` is installed, a trusted login as
/// `postgres`.
fn answers(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        return false;
    }
    let probe = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-w",
            "-tAc",
            "select 1",
        ])
        .env("PGCONNECT_TIMEOUT", "3")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match probe {
        Ok(status) => status.success(),
        // No psql to ask: something answers, and the tests will say if it is not usable.
        Err(_) => true,
    }
}

/// The port of a cluster a previous run left under `root`, if it still answers.
fn running_cluster(root: &Path) -> Option<u16> {
    let port: u16 = fs::read_to_string(root.join("port"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    answers(port).then_some(port)
}

/// The directory holding `initdb` and `pg_ctl`: on PATH, else the newest
/// `/usr/lib/postgresql/*/bin`.
fn find_binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    if on_path.is_some() {
        return on_path;
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .is_some_and(|uid| uid.trim() == "0")
}

fn install_postgres() -> Result<(), String> {
    eprintln!("xtask: no Postgres binaries found; installing Debian's postgresql package");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
    };
    if install().is_ok_and(|s| s.success()) {
        return Ok(());
    }
    // A fresh machine may not have package lists yet.
    let updated = Command::new("apt-get")
        .arg("update")
        .status()
        .is_ok_and(|s| s.success());
    if updated && install().is_ok_and(|s| s.success()) {
        return Ok(());
    }
    Err(
        "`apt-get install postgresql` failed; install PostgreSQL by hand or set TEST_DATABASE_URL"
            .to_owned(),
    )
}

/// A port nobody listens on right now.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Runs a Postgres binary, as [`CLUSTER_USER`] when we are root.
fn pg_command(bin: &Path, tool: &str, as_other_user: bool) -> Command {
    let program = bin.join(tool);
    if as_other_user {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", CLUSTER_USER, "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// Initialises (if needed) and starts a trust-auth cluster under `root` on a free port.
fn start_cluster(bin: &Path, root: &Path) -> Result<u16, String> {
    let as_other_user = is_root();
    let data = root.join("data");
    fs::create_dir_all(root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    if as_other_user {
        ensure_cluster_user()?;
        chown(root)?;
    }
    if !data.join("PG_VERSION").is_file() {
        // A half-made directory from an interrupted run would make initdb refuse.
        if data.exists() {
            fs::remove_dir_all(&data)
                .map_err(|e| format!("cannot clear {}: {e}", data.display()))?;
        }
        eprintln!(
            "xtask: creating a throwaway Postgres cluster in {}",
            data.display()
        );
        let status = pg_command(bin, "initdb", as_other_user)
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale"])
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !status.success() {
            return Err(format!("initdb failed ({status}) for {}", data.display()));
        }
    }
    // A server left running from an earlier run on a port we no longer know of.
    let _ = pg_command(bin, "pg_ctl", as_other_user)
        .arg("-D")
        .arg(&data)
        .args(["-m", "immediate", "-w", "stop"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let port = free_port()?;
    let options = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c max_connections=200 -c fsync=off",
        root.display()
    );
    eprintln!("xtask: starting it on 127.0.0.1:{port}");
    let status = pg_command(bin, "pg_ctl", as_other_user)
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(root.join("server.log"))
        .args(["-o", &options, "-w", "-t", "60", "start"])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
    if !status.success() {
        return Err(format!(
            "pg_ctl start failed ({status}); see {}",
            root.join("server.log").display()
        ));
    }
    fs::write(root.join("port"), port.to_string())
        .map_err(|e| format!("cannot record the port: {e}"))?;
    if !answers(port) {
        return Err(format!(
            "the throwaway cluster on port {port} does not answer; see {}",
            root.join("server.log").display()
        ));
    }
    Ok(port)
}

fn ensure_cluster_user() -> Result<(), String> {
    let exists = Command::new("id")
        .arg(CLUSTER_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if exists.is_ok_and(|s| s.success()) {
        return Ok(());
    }
    let status = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            CLUSTER_USER,
        ])
        .status()
        .map_err(|e| format!("cannot run useradd: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("useradd {CLUSTER_USER} failed ({status})"))
    }
}

fn chown(dir: &Path) -> Result<(), String> {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{CLUSTER_USER}:"))
        .arg(dir)
        .status()
        .map_err(|e| format!("cannot run chown: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("chown of {} failed ({status})", dir.display()))
    }
}
