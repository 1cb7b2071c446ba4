//! The hub of one server: what the server's sockets and subscriptions talk to. It owns the
//! pump ([`crate::events::pump`]) and the routes it fills, the socket accounting, typing, and
//! the bus to the other servers, and wires them together.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, broadcast, mpsc, watch};
use uuid::Uuid;

use crate::db::DbPool;
use crate::error::AppResult;
use crate::events::bus::{Alone, Bus, BusMessage, RedisBus};
use crate::events::pump::Log;
use crate::events::routes::{LiveItem, LiveQueue, Routes};
use crate::events::sockets::{ConnectionGuard, Kick, SocketGuard, Sockets};
use crate::events::typing::TypingLimit;
use crate::metrics::EventMetrics;
use crate::models::event::{self as event_model, Position};
use crate::sync::lock;

/// Tunables of the hub.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Events a subscriber may fall behind before it is told it lagged.
    pub buffer: usize,
    /// How often the pump looks at the log without being poked.
    pub poll: Duration,
    /// How long events are kept for replay.
    pub retention: Duration,
    /// Typing notices a user may send per minute.
    pub typing_per_minute: u32,
    /// Redis URL for fan-out across servers.
    pub redis_url: Option<String>,
    /// Redis channel (servers of one deployment share it).
    pub redis_channel: String,
    /// Where the hub records its figures.
    pub metrics: EventMetrics,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            buffer: 4096,
            poll: Duration::from_millis(250),
            retention: Duration::from_secs(7 * 24 * 3600),
            typing_per_minute: 30,
            redis_url: None,
            redis_channel: "messenger:events".into(),
            metrics: EventMetrics::default(),
        }
    }
}

/// The hub of one server. Cheap to clone.
#[derive(Clone)]
pub struct Hub(Arc<Inner>);

struct Inner {
    log: Arc<Log>,
    buffer: usize,
    bus: Box<dyn Bus>,
    kicks: broadcast::Sender<Kick>,
    shutdown: watch::Sender<bool>,
    sockets: Arc<Sockets>,
    typing: TypingLimit,
    subscriptions_started: watch::Sender<u64>,
    metrics: EventMetrics,
}

impl Hub {
    /// Starts the hub's tasks: the pump, pruning, and the Redis bus when configured.
    pub fn start(pool: DbPool, config: HubConfig) -> Self {
        let (shutdown, _) = watch::channel(false);
        let log = Log {
            pool,
            poll: config.poll,
            retention: config.retention,
            routes: Arc::new(Mutex::new(Routes::default())),
            position: watch::channel(Position::default()).0,
            started: watch::channel(false).0,
            poke: Notify::new(),
            metrics: config.metrics.clone(),
        }
        .start(shutdown.subscribe());
        let (bus, inbox): (Box<dyn Bus>, _) = match config.redis_url {
            Some(url) => {
                let (bus, inbox) = RedisBus::start(url, config.redis_channel);
                (Box::new(bus), Some(inbox))
            }
            None => (Box::new(Alone), None),
        };
        let hub = Self(Arc::new(Inner {
            log,
            buffer: config.buffer,
            bus,
            kicks: broadcast::channel(256).0,
            shutdown,
            sockets: Sockets::new(),
            typing: TypingLimit::new(config.typing_per_minute),
            subscriptions_started: watch::channel(0).0,
            metrics: config.metrics,
        }));
        if let Some(inbox) = inbox {
            tokio::spawn(receive(Arc::downgrade(&hub.0), inbox));
        }
        hub
    }

    /// Says that events were committed: this server's pump looks now, others via the bus.
    pub fn poke(&self) {
        self.0.log.poke.notify_one();
        self.0.bus.publish(BusMessage::Poke);
    }

    /// Waits until the pump knows where it reads from (a server that has just started may
    /// not yet); `UNAVAILABLE` if it cannot within ten seconds. [`Hub::subscribe`]'s position
    /// means something only after this.
    pub async fn started(&self) -> AppResult<()> {
        self.0.log.started().await
    }

    /// Registers a queue for `user_id`'s events about `sessions` (and about the user), and
    /// returns it with the position the pump has reached: events up to it will not come
    /// through the queue, every later one will. Membership changes read by the pump update
    /// the routes, in order.
    pub fn subscribe(&self, user_id: Uuid, sessions: &HashSet<Uuid>) -> (LiveQueue, Position) {
        let shared = &self.0.log.routes;
        let mut routes = lock(shared);
        let queue = routes.add(shared, user_id, sessions, self.0.buffer);
        let position = *self.0.log.position.borrow();
        (queue, position)
    }

    /// Waits (up to five seconds) until the pump has read every event committed so far
    /// (tests and shutdown use it to flush).
    pub async fn settle(&self) -> AppResult<()> {
        self.0.log.settle().await
    }

    /// Notices to close sockets.
    pub fn kicks(&self) -> broadcast::Receiver<Kick> {
        self.0.kicks.subscribe()
    }

    /// Closes the sockets a kick names, on every server.
    pub fn kick(&self, kick: Kick) {
        let _ = self.0.kicks.send(kick.clone());
        self.0.bus.publish(BusMessage::Kick(kick));
    }

    /// Tells the members of a session that `user_id` is typing. `RATE_LIMITED` past the
    /// configured number per minute.
    pub fn typing(&self, session_id: Uuid, user_id: Uuid) -> AppResult<()> {
        self.0.typing.check(user_id)?;
        let at = Utc::now();
        self.0.deliver_typing(session_id, user_id, at);
        self.0.bus.publish(BusMessage::Typing {
            session_id,
            user_id,
            at,
        });
        Ok(())
    }

    /// Counts a socket of `user_id` on this server, if under `max`; the guard uncounts it.
    pub fn open_socket(&self, user_id: Uuid, max: usize) -> Option<SocketGuard> {
        self.0.sockets.open_socket(user_id, max)
    }

    /// Counts an open WebSocket connection until the guard drops (shutdown waits for them).
    pub fn connection(&self) -> ConnectionGuard {
        self.0.sockets.connection()
    }

    /// Waits until every WebSocket connection has closed, at most `limit`.
    pub async fn sockets_closed(&self, limit: Duration) {
        self.0.sockets.all_closed(limit).await
    }

    /// Counts a subscription whose starting point is set (a metric; tests wait on it).
    pub fn subscription_started(&self) {
        self.0.metrics.subscriptions_started.inc();
        self.0.subscriptions_started.send_modify(|n| *n += 1);
    }

    /// Subscriptions started on this server so far.
    pub fn subscriptions_started(&self) -> watch::Receiver<u64> {
        self.0.subscriptions_started.subscribe()
    }

    /// Fires when the server shuts down.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.0.shutdown.subscribe()
    }

    /// Starts the shutdown: sockets flush and close with "going away".
    pub fn shutdown(&self) {
        self.0.shutdown.send_replace(true);
    }

    /// Where the hub records its figures (subscriptions add `LAGGED` and `RESYNC` there).
    pub fn metrics(&self) -> &EventMetrics {
        &self.0.metrics
    }

    /// WebSocket connections open on this server.
    pub fn open_sockets(&self) -> usize {
        self.0.sockets.open()
    }

    /// Live subscriptions on this server.
    pub fn live_subscriptions(&self) -> usize {
        lock(&self.0.log.routes).subscriptions()
    }

    /// Whether the bus is subscribed to Redis (`None`: this server is alone).
    pub fn redis_connected(&self) -> Option<bool> {
        self.0.bus.connected()
    }

    /// The database pool (for replays).
    pub fn pool(&self) -> &DbPool {
        &self.0.log.pool
    }

    /// Whether a position is older than what the log still holds.
    pub async fn is_pruned(&self, cursor: Position) -> AppResult<bool> {
        let mut conn = self.0.log.pool.get().await?;
        Ok(
            cursor <= event_model::pruned_through(&mut conn).await?
                && cursor != Position::default(),
        )
    }
}

impl Inner {
    fn deliver_typing(&self, session_id: Uuid, user_id: Uuid, at: DateTime<Utc>) {
        let typing = LiveItem::Typing {
            session_id,
            user_id,
            at,
        };
        lock(&self.log.routes).dispatch(session_id, &typing);
    }
}

/// Applies what other servers say, until the hub or the bus is gone.
async fn receive(hub: Weak<Inner>, mut inbox: mpsc::Receiver<BusMessage>) {
    while let Some(message) = inbox.recv().await {
        let Some(inner) = hub.upgrade() else {
            return;
        };
        match message {
            BusMessage::Poke => {
                tracing::debug!("poked through the bus");
                inner.log.poke.notify_one();
            }
            BusMessage::Typing {
                session_id,
                user_id,
                at,
            } => inner.deliver_typing(session_id, user_id, at),
            BusMessage::Kick(kick) => {
                let _ = inner.kicks.send(kick);
            }
        }
    }
}
