//! The instances under test: `slotkeeper serve` processes on one database, each on its own
//! port, started, `kill -9`ed and restarted on the same port; and the binary's CLI for the
//! setup (hosts, links, webhook subscriptions).

use std::fs::{File, OpenOptions};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::http::{Reply, request};

/// How the instances are started: the binary, the environment they share, and where their
/// logs go.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub(crate) exe: PathBuf,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) dir: PathBuf,
}

impl Launch {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a CLI subcommand to completion; its standard output, trimmed.
    pub(crate) fn cli(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .command()
            .args(args)
            .output()
            .map_err(|e| format!("slotkeeper {}: {e}", args.join(" ")))?;
        if !out.status.success() {
            return Err(format!(
                "slotkeeper {} failed: {}",
                args.first().unwrap_or(&""),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

/// Running `serve` processes, one per port. Dropping it kills them all.
#[derive(Debug)]
pub(crate) struct Fleet {
    launch: Launch,
    ports: Vec<u16>,
    children: Vec<Mutex<Option<Child>>>,
}

/// Ports nobody listens on right now.
pub(crate) fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}")))
        .collect::<Result<_, _>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()).map_err(|e| e.to_string()))
        .collect()
}

impl Fleet {
    /// Starts one instance per port and waits until each answers `/healthz`.
    pub(crate) fn start(launch: Launch, ports: Vec<u16>) -> Result<Self, String> {
        let fleet = Self {
            children: ports.iter().map(|_| Mutex::new(None)).collect(),
            launch,
            ports,
        };
        for i in 0..fleet.ports.len() {
            fleet.restart(i)?;
        }
        Ok(fleet)
    }

    pub(crate) fn ports(&self) -> &[u16] {
        &self.ports
    }

    fn log_file(&self, i: usize) -> Result<File, String> {
        let path = self.launch.dir.join(format!("instance-{i}.log"));
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Starts instance `i` (again) and waits until it answers.
    pub(crate) fn restart(&self, i: usize) -> Result<(), String> {
        let log = self.log_file(i)?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = self
            .launch
            .command()
            .arg("serve")
            .env("BIND", format!("127.0.0.1:{}", self.ports[i]))
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("starting slotkeeper serve: {e}"))?;
        *self.children[i].lock().expect("fleet") = Some(child);
        wait_ready(self.ports[i], &self.launch.dir)
    }

    /// `kill -9` of instance `i` (std's `Child::kill` is SIGKILL), reaped at once.
    pub(crate) fn kill(&self, i: usize) {
        if let Some(mut child) = self.children[i].lock().expect("fleet").take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

fn wait_ready(port: u16, dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Reply::Answer(a) = request(port, "GET", "/healthz", &[], "")
            && a.status == 200
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "the instance on port {port} did not answer /healthz within 60 s; see {}",
        dir.display()
    ))
}
