//! The typing notices' rate limit: at most so many a minute per user, on each server.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::sync::lock;

const WINDOW: Duration = Duration::from_secs(60);

/// Counts each user's typing notices in fixed one-minute windows.
pub(crate) struct TypingLimit {
    per_minute: u32,
    windows: Mutex<HashMap<Uuid, (Instant, u32)>>,
}

impl TypingLimit {
    pub(crate) fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one notice of `user_id`'s, or `RATE_LIMITED` past the limit.
    pub(crate) fn check(&self, user_id: Uuid) -> AppResult<()> {
        let mut windows = lock(&self.windows);
        let now = Instant::now();
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = windows.entry(user_id).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_minute {
            return Err(AppError::rate_limited(
                format!("at most {} typing notices a minute", self.per_minute),
                WINDOW.saturating_sub(now.duration_since(entry.0)),
            ));
        }
        entry.1 += 1;
        Ok(())
    }
}
