//! Each server's pump: reads the event log in order, below the oldest running writer, and
//! routes every event to the subscriptions here; and the hourly pruning of old events.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{Notify, watch};

use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::events::Event;
use crate::events::routes::Routes;
use crate::metrics::EventMetrics;
use crate::models::event::{self as event_model, Position};
use crate::sync::lock;

/// Events read per query.
const BATCH: i64 = 1000;

/// What the pump shares with the hub: the log, the routes it fills, how far it has read.
pub(crate) struct Log {
    pub(crate) pool: DbPool,
    /// How often to look at the log without being poked.
    pub(crate) poll: Duration,
    /// How long events are kept for replay.
    pub(crate) retention: Duration,
    /// The subscriptions' queues.
    pub(crate) routes: Arc<Mutex<Routes>>,
    /// The newest position routed (moves under the routes' lock).
    pub(crate) position: watch::Sender<Position>,
    /// Whether the pump has found where to start: before that, `position` is not where it
    /// reads from, so no subscription may take it as its seam.
    pub(crate) started: watch::Sender<bool>,
    /// Wakes the pump: events were committed.
    pub(crate) poke: Notify,
    /// Where the pump records how long events waited for it.
    pub(crate) metrics: EventMetrics,
}

impl Log {
    /// Starts the pump and the pruning; both stop when the log is dropped. At `shutdown` the
    /// pump reads what has committed, so that it reaches sockets before they close.
    pub(crate) fn start(self, shutdown: watch::Receiver<bool>) -> Arc<Self> {
        let log = Arc::new(self);
        tokio::spawn(pump(Arc::downgrade(&log), shutdown));
        tokio::spawn(prune(Arc::downgrade(&log)));
        log
    }

    /// Waits (up to ten seconds) until the pump knows where it reads from.
    pub(crate) async fn started(&self) -> AppResult<()> {
        let mut started = self.started.subscribe();
        tokio::time::timeout(Duration::from_secs(10), started.wait_for(|s| *s))
            .await
            .map_err(|_| AppError::Unavailable("event pump did not start".into()))?
            .map_err(|_| AppError::Unavailable("event pump stopped".into()))?;
        Ok(())
    }

    /// Waits (up to five seconds) until the pump has read every event committed so far.
    pub(crate) async fn settle(&self) -> AppResult<()> {
        let target = {
            let conn = self.pool.get().await?;
            event_model::committed_head(&conn).await?
        };
        let mut position = self.position.subscribe();
        self.poke.notify_one();
        let wait = position.wait_for(|p| *p >= target);
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .map_err(|_| AppError::Unavailable("event pump did not settle".into()))?
            .map_err(|_| AppError::Unavailable("event pump stopped".into()))?;
        Ok(())
    }

    /// Routes every readable event after `from`; returns the new position.
    async fn drain(&self, from: Position) -> anyhow::Result<Position> {
        let mut conn = self.pool.get().await?;
        let mut pos = from;
        loop {
            let rows = event_model::stable_after(&mut conn, pos, BATCH).await?;
            let full = rows.len() as i64 == BATCH;
            if !rows.is_empty() {
                tracing::debug!(events = rows.len(), "pump read events");
                // Routing and the position move together under the routes' lock, so a new
                // subscription sees either both or neither.
                let mut routes = lock(&self.routes);
                let now = Utc::now();
                for row in rows {
                    pos = row.position();
                    let waited = (now - row.created_at).to_std().unwrap_or_default();
                    self.metrics.pump_delay.observe(waited.as_secs_f64());
                    match Event::from_row(&row) {
                        Some(stored) => routes.route_stored(Arc::new(stored)),
                        None => {
                            tracing::warn!(id = row.id, kind = %row.kind, "skipping an unreadable event")
                        }
                    }
                }
                self.position.send_replace(pos);
            }
            if !full {
                return Ok(pos);
            }
        }
    }

    /// Whether committed events wait beyond `pos` (a writer older than them still runs).
    async fn behind(&self, pos: Position) -> bool {
        match self.pool.get().await {
            Ok(conn) => event_model::committed_head(&conn)
                .await
                .is_ok_and(|head| head > pos),
            Err(_) => false,
        }
    }

    /// The last reads at shutdown: until everything committed is read, for up to three
    /// seconds.
    async fn finish(&self, mut pos: Position) {
        let deadline = Instant::now() + Duration::from_secs(3);
        let target = match self.pool.get().await {
            Ok(conn) => event_model::committed_head(&conn).await.unwrap_or(pos),
            Err(_) => return,
        };
        while pos < target && Instant::now() < deadline {
            match self.drain(pos).await {
                Ok(p) => pos = p,
                Err(_) => return,
            }
            if pos < target {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

/// Reads the log in order and routes it, on every poke and every poll interval.
async fn pump(weak: Weak<Log>, mut shutdown: watch::Receiver<bool>) {
    let mut position = None;
    let mut pending = false;
    loop {
        let Some(log) = weak.upgrade() else {
            return;
        };
        if *shutdown.borrow() {
            if let Some(pos) = position {
                log.finish(pos).await;
            }
            return;
        }
        let pos = match position {
            Some(pos) => pos,
            None => {
                let start = async {
                    let conn = log.pool.get().await?;
                    anyhow::Ok(event_model::stable_head(&conn).await?)
                };
                match start.await {
                    Ok(pos) => {
                        log.position.send_replace(pos);
                        log.started.send_replace(true);
                        pos
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "event pump: database unavailable");
                        drop(log);
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                }
            }
        };
        // Committed events that are not readable yet (one of our writers with an older
        // transaction id still runs) keep the pump looking every few milliseconds until they
        // are; otherwise it waits for a poke, or polls.
        let wait = if pending {
            Duration::from_millis(5)
        } else {
            log.poll
        };
        let poked = tokio::select! {
            _ = log.poke.notified() => true,
            _ = tokio::time::sleep(wait) => false,
            _ = shutdown.changed() => false,
        };
        let new_pos = match log.drain(pos).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "event pump: reading the log failed");
                pos
            }
        };
        if poked || pending {
            pending = log.behind(new_pos).await;
        }
        position = Some(new_pos);
    }
}

/// Deletes events older than the retention period, hourly.
async fn prune(weak: Weak<Log>) {
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let Some(log) = weak.upgrade() else {
            return;
        };
        let Ok(before) = chrono::Duration::from_std(log.retention) else {
            continue;
        };
        let result = async {
            let mut conn = log.pool.get().await?;
            anyhow::Ok(event_model::prune(&mut conn, Utc::now() - before).await?)
        }
        .await;
        match result {
            Ok(n) if n > 0 => tracing::info!(events = n, "pruned old events"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning events failed"),
        }
    }
}
