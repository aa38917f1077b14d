//! pgbench runs of the write load's SQL scripts (`xtask/load/*.sql`): the same statements a
//! booking, a reschedule and a cancel send, with 16 clients and prepared statements, as the
//! bar the HTTP figures are measured against. Throughput comes from pgbench's summary, the
//! p99 from its per-transaction log.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::driver::quantile_ms;

/// Clients and threads of every run, as the HTTP load's.
const CLIENTS: &str = "16";
const THREADS: &str = "2";

/// What one script's run measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bench {
    pub(crate) tps: f64,
    pub(crate) transactions: u64,
    pub(crate) failed: u64,
    pub(crate) p99_ms: f64,
}

/// Runs `script` against `url` for `seconds`, with `-D` variables `vars`; its per-transaction
/// logs go to `logs`.
pub(crate) fn run(
    url: &str,
    script: &Path,
    seconds: u64,
    vars: &[(&str, String)],
    logs: &Path,
) -> Result<Bench, String> {
    let name = script
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("script");
    let _ = std::fs::remove_dir_all(logs);
    std::fs::create_dir_all(logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    let mut cmd = Command::new("pgbench");
    cmd.args(["-n", "-M", "prepared", "-c", CLIENTS, "-j", THREADS, "-l"])
        .arg("-T")
        .arg(seconds.to_string())
        .arg(format!("--log-prefix={}", logs.join(name).display()))
        .arg("-f")
        .arg(script);
    for (var, value) in vars {
        cmd.arg("-D").arg(format!("{var}={value}"));
    }
    let out = cmd
        .arg(url)
        .output()
        .map_err(|e| format!("pgbench (install postgresql-client): {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "pgbench {name} failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let summary = summary(&text).ok_or_else(|| format!("no pgbench summary in:\n{text}"))?;
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(logs).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let log = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        latencies.extend(log.lines().filter_map(latency));
    }
    latencies.sort_unstable();
    Ok(Bench {
        p99_ms: quantile_ms(&latencies, 0.99),
        ..summary
    })
}

/// tps, processed and failed transactions from pgbench's summary (p99 left 0).
fn summary(text: &str) -> Option<Bench> {
    let after = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
    };
    Some(Bench {
        tps: after("tps =")?.parse().ok()?,
        transactions: after("number of transactions actually processed:")?
            .parse()
            .ok()?,
        failed: after("number of failed transactions:").map_or(Some(0), |n| n.parse().ok())?,
        p99_ms: 0.0,
    })
}

/// A transaction's latency from a line of pgbench's log (`client transaction µs script
/// epoch µs-of-epoch`); `None` for a failed one or another line.
fn latency(line: &str) -> Option<Duration> {
    let micros = line.split_whitespace().nth(2)?.parse().ok()?;
    Some(Duration::from_micros(micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "transaction type: xtask/load/book.sql
scaling factor: 1
query mode: prepared
number of clients: 16
number of threads: 2
maximum number of tries: 1
duration: 8 s
number of transactions actually processed: 23071
number of failed transactions: 0 (0.000%)
latency average = 5.548 ms
initial connection time = 12.409 ms
tps = 2883.842113 (without initial connection time)
";

    #[test]
    fn the_summary_gives_tps_and_transactions() {
        let bench = summary(OUTPUT).unwrap();
        assert!((bench.tps - 2_883.842_113).abs() < 1e-6);
        assert_eq!((bench.transactions, bench.failed), (23071, 0));
        let older = OUTPUT.replace("number of failed transactions: 0 (0.000%)\n", "");
        assert_eq!(summary(&older).unwrap().failed, 0);
        assert!(summary("pgbench: error: connection refused").is_none());
    }

    #[test]
    fn log_lines_give_latencies() {
        assert_eq!(
            latency("3 118 5120 0 1796066400 123456"),
            Some(Duration::from_micros(5120))
        );
        assert_eq!(latency("3 119 failed 0 1796066400 123999"), None);
        assert_eq!(latency(""), None);
    }
}
