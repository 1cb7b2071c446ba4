//! The raw-SQL floor: runs a `bench/pgbench/<scenario>.sql` script with pgbench on the same
//! database at the same concurrency, and reads its throughput and latencies.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::dataset::Dataset;
use crate::procstat::{PostgresCpu, self_and_children_cpu};

/// What pgbench measured.
#[derive(Debug, Clone, Serialize)]
pub struct Floor {
    /// The script.
    pub script: String,
    /// Concurrent connections.
    pub clients: usize,
    /// Transactions per second (without connection time).
    pub tps: f64,
    /// Median transaction latency, ms (from the per-transaction log).
    pub p50_ms: f64,
    /// 99th percentile transaction latency, ms.
    pub p99_ms: f64,
    /// Transactions done.
    pub transactions: u64,
    /// Failed transactions.
    pub failed: u64,
    /// pgbench's own CPU, in cores (1.0 = one core busy).
    pub pgbench_cores: f64,
    /// PostgreSQL's CPU, in cores.
    pub postgres_cores: f64,
    /// PostgreSQL CPU per transaction, µs.
    pub postgres_us_per_tx: f64,
    /// Average latency of each statement, ms, in script order.
    pub statements: Vec<(f64, String)>,
    /// Every transaction's latency, µs, sorted (for [`Floor::merge`]).
    #[serde(skip)]
    latencies_us: Vec<u64>,
}

impl Floor {
    /// One floor from runs of one script taken in slices of equal length, as if run whole:
    /// throughput over the time pgbench measured, latencies over every transaction, CPU over
    /// the whole time. `None` for no slices.
    pub fn merge(slices: Vec<Floor>) -> Option<Floor> {
        let first = slices.first()?;
        let n = slices.len() as f64;
        // Sums over the slices: the averages are divided out at the end.
        let mut whole = Floor {
            script: first.script.clone(),
            clients: first.clients,
            tps: 0.0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            transactions: 0,
            failed: 0,
            pgbench_cores: 0.0,
            postgres_cores: 0.0,
            postgres_us_per_tx: 0.0,
            statements: first
                .statements
                .iter()
                .map(|(_, sql)| (0.0, sql.clone()))
                .collect(),
            latencies_us: Vec::new(),
        };
        // Seconds of transactions, as pgbench measured them (its tps leaves connecting out).
        let mut time = 0.0;
        for slice in slices {
            let weight = slice.transactions as f64;
            time += weight / slice.tps.max(f64::MIN_POSITIVE);
            whole.postgres_us_per_tx += slice.postgres_us_per_tx * weight;
            for ((sum, _), (ms, _)) in whole.statements.iter_mut().zip(&slice.statements) {
                *sum += ms * weight;
            }
            whole.transactions += slice.transactions;
            whole.failed += slice.failed;
            whole.pgbench_cores += slice.pgbench_cores;
            whole.postgres_cores += slice.postgres_cores;
            whole.latencies_us.extend(slice.latencies_us);
        }
        let transactions = whole.transactions.max(1) as f64;
        whole.tps = whole.transactions as f64 / time.max(f64::MIN_POSITIVE);
        whole.pgbench_cores /= n;
        whole.postgres_cores /= n;
        whole.postgres_us_per_tx /= transactions;
        for (ms, _) in &mut whole.statements {
            *ms /= transactions;
        }
        whole.latencies_us.sort_unstable();
        whole.p50_ms = percentile_ms(&whole.latencies_us, 0.50);
        whole.p99_ms = percentile_ms(&whole.latencies_us, 0.99);
        Some(whole)
    }
}

/// A percentile of sorted latencies in µs, in ms.
pub fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    sorted_us[i] as f64 / 1000.0
}

/// The variables every script gets: the data set's sizes and the ranking inverse.
pub fn defines(d: &Dataset) -> Vec<(String, String)> {
    [
        ("users", d.users),
        ("sessions", d.sessions),
        ("groups", d.groups),
        ("c0", d.c0),
        ("busy", d.busy),
        ("pinv", d.rank_inverse()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect()
}

/// Runs one script for `seconds` with `clients` connections and two threads.
pub async fn run(
    database_url: &str,
    script: &Path,
    clients: usize,
    seconds: u64,
    defines: &[(String, String)],
    pg: &PostgresCpu,
) -> anyhow::Result<Floor> {
    let log_dir = std::env::temp_dir().join(format!("loadgen-pgbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&log_dir);
    std::fs::create_dir_all(&log_dir)?;
    let prefix: PathBuf = log_dir.join("tx");
    let mut cmd = tokio::process::Command::new("pgbench");
    cmd.args(["-n", "-M", "prepared", "-r", "-l"])
        .arg(format!("--log-prefix={}", prefix.display()))
        .arg(format!("-c{clients}"))
        .arg(format!("-j{}", clients.min(2)))
        .arg(format!("-T{seconds}"))
        .arg("-f")
        .arg(script);
    for (k, v) in defines {
        cmd.arg("-D").arg(format!("{k}={v}"));
    }
    cmd.arg(database_url);
    let children_before = self_and_children_cpu().1;
    let pg_before = pg.snapshot();
    let output = tokio::time::timeout(Duration::from_secs(seconds + 60), cmd.output())
        .await
        .context("pgbench did not finish in time")?
        .context("running pgbench (is it installed? apt-get install postgresql-contrib)")?;
    let pg_after = pg.snapshot();
    let children_after = self_and_children_cpu().1;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "pgbench {} failed: {}\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stderr),
            stdout
        );
    }
    let tps = find_number(&stdout, "tps = ").context("no tps in pgbench output")?;
    let transactions =
        find_number(&stdout, "number of transactions actually processed: ").unwrap_or(0.0) as u64;
    let failed = find_number(&stdout, "number of failed transactions: ").unwrap_or(0.0) as u64;
    let mut statements = Vec::new();
    if let Some(after) = stdout.split("statement latencies in milliseconds").nth(1) {
        for line in after.lines().skip(1) {
            let mut parts = line.split_whitespace();
            let (Some(ms), Some(_failures)) = (parts.next(), parts.next()) else {
                continue;
            };
            if let Ok(ms) = ms.parse::<f64>() {
                let text: Vec<&str> = parts.collect();
                statements.push((ms, text.join(" ")));
            }
        }
    }
    let mut latencies_us = Vec::new();
    for entry in std::fs::read_dir(&log_dir)?.flatten() {
        let text = std::fs::read_to_string(entry.path())?;
        for line in text.lines() {
            // client_id transaction_no time_us script_no epoch epoch_us
            if let Some(us) = line
                .split_whitespace()
                .nth(2)
                .and_then(|v| v.parse::<u64>().ok())
            {
                latencies_us.push(us);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&log_dir);
    latencies_us.sort_unstable();
    let postgres_cpu = PostgresCpu::between(&pg_before, &pg_after);
    let secs = seconds as f64;
    Ok(Floor {
        script: script.display().to_string(),
        clients,
        tps,
        p50_ms: percentile_ms(&latencies_us, 0.50),
        p99_ms: percentile_ms(&latencies_us, 0.99),
        transactions,
        failed,
        pgbench_cores: (children_after - children_before) / secs,
        postgres_cores: postgres_cpu / secs,
        postgres_us_per_tx: if transactions > 0 {
            postgres_cpu * 1e6 / transactions as f64
        } else {
            0.0
        },
        statements,
        latencies_us,
    })
}

fn find_number(text: &str, key: &str) -> Option<f64> {
    let start = text.find(key)? + key.len();
    let rest = &text[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(transactions: u64, tps: f64, postgres_us_per_tx: f64, latency_us: u64) -> Floor {
        Floor {
            script: "history.sql".into(),
            clients: 16,
            tps,
            p50_ms: latency_us as f64 / 1000.0,
            p99_ms: latency_us as f64 / 1000.0,
            transactions,
            failed: 0,
            pgbench_cores: 0.4,
            postgres_cores: 1.6,
            postgres_us_per_tx,
            statements: vec![(latency_us as f64 / 1000.0, "SELECT 1".into())],
            latencies_us: vec![latency_us; transactions as usize],
        }
    }

    #[test]
    fn slices_merge_into_the_floor_of_their_whole_time() {
        // 3 s at 1,000/s, then 3 s at 3,000/s: 12,000 in 6 s.
        let whole = Floor::merge(vec![
            slice(3_000, 1_000.0, 300.0, 4_000),
            slice(9_000, 3_000.0, 200.0, 1_000),
        ])
        .expect("a floor");
        assert_eq!(whole.transactions, 12_000);
        assert!((whole.tps - 2_000.0).abs() < 1e-9, "{}", whole.tps);
        assert!((whole.postgres_us_per_tx - 225.0).abs() < 1e-9);
        assert!((whole.statements[0].0 - 1.75).abs() < 1e-9);
        assert_eq!((whole.p50_ms, whole.p99_ms), (1.0, 4.0));
        assert!(Floor::merge(Vec::new()).is_none());
    }
}
