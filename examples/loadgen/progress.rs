//! A textual progress bar on stderr, one line per phase.

use std::io::Write;
use std::time::Instant;

/// The progress of one phase.
#[derive(Debug)]
pub struct Progress {
    label: &'static str,
    total: u64,
    done: u64,
    started: Instant,
}

impl Progress {
    /// Starts a phase of `total` steps and draws the empty bar.
    pub fn new(label: &'static str, total: u64) -> Self {
        let p = Self {
            label,
            total: total.max(1),
            done: 0,
            started: Instant::now(),
        };
        p.draw(false);
        p
    }

    /// Sets the number of steps done.
    pub fn set(&mut self, done: u64) {
        self.done = done.min(self.total);
        self.draw(false);
    }

    /// One more step done.
    pub fn step(&mut self) {
        self.set(self.done + 1);
    }

    /// Completes the bar and ends its line.
    pub fn finish(&mut self) {
        self.done = self.total;
        self.draw(true);
    }

    fn draw(&self, last: bool) {
        use std::io::IsTerminal;
        // Redrawn bars are for people: a log (or the smoke test under `cargo test`) gets
        // only each phase's last line.
        if !last && !std::io::stderr().is_terminal() {
            return;
        }
        const WIDTH: u64 = 30;
        let filled = (self.done * WIDTH / self.total) as usize;
        let bar = format!(
            "{}{}",
            "#".repeat(filled),
            ".".repeat(WIDTH as usize - filled)
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{:<10} [{bar}] {:>3}% {:>9}/{:<9} {:>6.1} s{}",
            self.label,
            self.done * 100 / self.total,
            self.done,
            self.total,
            self.started.elapsed().as_secs_f64(),
            if last { "\n" } else { "" }
        );
        let _ = err.flush();
    }
}
