//! CPU time and memory of processes, from `/proc`: the server, the load generator itself,
//! its pgbench children, and PostgreSQL's processes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn ticks_per_second() -> f64 {
    rustix::param::clock_ticks_per_second() as f64
}

/// Fields 14–17 of `/proc/<pid>/stat` (utime, stime, cutime, cstime), in seconds.
fn stat_times(path: &str) -> Option<[f64; 4]> {
    let text = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = ticks_per_second();
    let f = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .map(|t| t / tick)
    };
    Some([f(11)?, f(12)?, f(13)?, f(14)?])
}

/// CPU seconds (user + system) a process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    stat_times(&format!("/proc/{pid}/stat")).map(|t| t[0] + t[1])
}

/// CPU time a process has used so far, in nanoseconds (`/proc/<pid>/schedstat`: the
/// scheduler's own account, finer than `stat`'s clock ticks).
pub fn cpu_ns(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU seconds of this process, and of its children that have been waited for (pgbench).
pub fn self_and_children_cpu() -> (f64, f64) {
    stat_times("/proc/self/stat")
        .map(|t| (t[0] + t[1], t[2] + t[3]))
        .unwrap_or((0.0, 0.0))
}

/// Resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Samples the CPU time of every `postgres` process every 200 ms, so the work of backends
/// that come and go (pgbench's) is counted up to their last sample.
#[derive(Clone, Default)]
pub struct PostgresCpu {
    latest: Arc<Mutex<HashMap<u32, f64>>>,
}

impl PostgresCpu {
    /// Starts sampling in the background.
    pub fn start() -> Self {
        let this = Self::default();
        let sampler = this.clone();
        tokio::spawn(async move {
            loop {
                sampler.sample();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        this
    }

    fn sample(&self) {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return;
        };
        let mut now = HashMap::new();
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let is_postgres = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres");
            if is_postgres && let Some(cpu) = cpu_seconds(pid) {
                now.insert(pid, cpu);
            }
        }
        if let Ok(mut latest) = self.latest.lock() {
            // Keep exited processes' last values: their CPU was spent.
            latest.extend(now);
        }
    }

    /// A snapshot of every process's CPU seconds seen so far.
    pub fn snapshot(&self) -> HashMap<u32, f64> {
        self.sample();
        self.latest.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// CPU seconds spent between two snapshots (processes born in between count whole).
    pub fn between(before: &HashMap<u32, f64>, after: &HashMap<u32, f64>) -> f64 {
        after
            .iter()
            .map(|(pid, cpu)| cpu - before.get(pid).copied().unwrap_or(0.0))
            .filter(|d| *d > 0.0)
            .sum()
    }
}
