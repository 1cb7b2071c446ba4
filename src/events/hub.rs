//! The per-server hub: the pump that reads the event log in order and routes each event to
//! the subscriptions of its session's members (not to every open socket),
//! subscriptions, sign-out notices for open sockets, typing, and socket accounting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::{Notify, broadcast, mpsc, watch};
use uuid::Uuid;

use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::events::bus::{BusMessage, RedisBus};
use crate::events::{Event, Memberships, Stored};
use crate::models::event::{self as event_model, Position};

/// Events read per pump query.
const PUMP_BATCH: i64 = 1000;

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
        }
    }
}

/// One item of the live feed.
#[derive(Debug, Clone)]
pub enum LiveItem {
    /// An event from the log.
    Stored(Arc<Stored>),
    /// Someone is typing (never stored).
    Typing {
        /// The conversation.
        session_id: Uuid,
        /// Who types.
        user_id: Uuid,
        /// When.
        at: DateTime<Utc>,
    },
}

/// Sockets to close: a deactivated user's, or a revoked sign-in's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kick {
    /// Every socket of this user.
    User(Uuid),
    /// Every socket signed in with this token family.
    Family(Uuid),
}

/// The hub of one server. Cheap to clone.
#[derive(Clone)]
pub struct Hub(Arc<Inner>);

/// The hub's shared state (the bus holds a weak reference to it).
pub(crate) struct Inner {
    pool: DbPool,
    config: HubConfig,
    routes: Mutex<Routes>,
    next_route: AtomicU64,
    kicks: broadcast::Sender<Kick>,
    position: watch::Sender<Position>,
    poke: Notify,
    shutdown: watch::Sender<bool>,
    bus: Option<RedisBus>,
    sockets: Mutex<HashMap<Uuid, usize>>,
    open_connections: watch::Sender<usize>,
    subscriptions_started: watch::Sender<u64>,
    typing: Mutex<HashMap<Uuid, (Instant, u32)>>,
}

impl Hub {
    /// Starts the hub's tasks: the pump, retention, and the Redis bus when configured.
    pub fn start(pool: DbPool, config: HubConfig) -> Self {
        let (kicks, _) = broadcast::channel(256);
        let (position, _) = watch::channel(Position::default());
        let (shutdown, _) = watch::channel(false);
        let hub = Self(Arc::new_cyclic(|weak| {
            // The bus's tasks hold a weak reference and wait for it to become usable.
            let bus = config
                .redis_url
                .clone()
                .map(|url| RedisBus::start(url, config.redis_channel.clone(), weak.clone()));
            Inner {
                pool,
                config,
                routes: Mutex::new(Routes::default()),
                next_route: AtomicU64::new(0),
                kicks,
                position,
                poke: Notify::new(),
                shutdown,
                bus,
                sockets: Mutex::new(HashMap::new()),
                open_connections: watch::channel(0).0,
                subscriptions_started: watch::channel(0).0,
                typing: Mutex::new(HashMap::new()),
            }
        }));
        tokio::spawn(pump(Arc::downgrade(&hub.0)));
        tokio::spawn(retention(Arc::downgrade(&hub.0)));
        hub
    }

    /// Says that events were committed: this server's pump looks now, others via the bus.
    pub fn poke(&self) {
        self.0.poke.notify_one();
        if let Some(bus) = &self.0.bus {
            bus.publish(BusMessage::Poke);
        }
    }

    /// Registers a queue for `user_id`'s events about `sessions` (and about the user), and
    /// returns it with the position the pump has reached: events up to it will not come
    /// through the queue, every later one will. Membership changes read by the pump update
    /// the routes, in order.
    pub fn subscribe(&self, user_id: Uuid, sessions: &HashSet<Uuid>) -> (LiveQueue, Position) {
        let (tx, rx) = mpsc::channel(self.0.config.buffer.max(1));
        let lagged = Arc::new(AtomicBool::new(false));
        let id = self.0.next_route.fetch_add(1, Ordering::Relaxed);
        let mut routes = lock(&self.0.routes);
        routes.add(
            Route {
                id,
                tx,
                lagged: lagged.clone(),
            },
            user_id,
            sessions,
        );
        let position = *self.0.position.borrow();
        (
            LiveQueue {
                rx,
                lagged,
                id,
                user_id,
                hub: Arc::downgrade(&self.0),
            },
            position,
        )
    }

    /// Waits (up to five seconds) until the pump has read every event committed so far
    /// (tests and shutdown use it to flush).
    pub async fn settle(&self) -> AppResult<()> {
        let target = {
            let mut conn = self.0.pool.get().await?;
            event_model::committed_head(&mut conn).await?
        };
        let mut position = self.0.position.subscribe();
        self.0.poke.notify_one();
        let wait = position.wait_for(|p| *p >= target);
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .map_err(|_| AppError::Unavailable("event pump did not settle".into()))?
            .map_err(|_| AppError::Unavailable("event pump stopped".into()))?;
        Ok(())
    }

    /// Notices to close sockets.
    pub fn kicks(&self) -> broadcast::Receiver<Kick> {
        self.0.kicks.subscribe()
    }

    /// Closes the sockets a kick names, on every server.
    pub fn kick(&self, kick: Kick) {
        let _ = self.0.kicks.send(kick.clone());
        if let Some(bus) = &self.0.bus {
            bus.publish(BusMessage::Kick(kick));
        }
    }

    /// Tells the members of a session that `user_id` is typing. `RATE_LIMITED` past the
    /// configured number per minute.
    pub fn typing(&self, session_id: Uuid, user_id: Uuid) -> AppResult<()> {
        {
            let mut limits = self
                .0
                .typing
                .lock()
                .map_err(|_| AppError::internal(anyhow::anyhow!("typing limiter poisoned")))?;
            let now = Instant::now();
            if limits.len() > 100_000 {
                limits.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
            }
            let entry = limits.entry(user_id).or_insert((now, 0));
            if now.duration_since(entry.0) >= Duration::from_secs(60) {
                *entry = (now, 0);
            }
            if entry.1 >= self.0.config.typing_per_minute {
                return Err(AppError::RateLimited(format!(
                    "at most {} typing notices a minute",
                    self.0.config.typing_per_minute
                )));
            }
            entry.1 += 1;
        }
        let at = Utc::now();
        self.deliver_typing(session_id, user_id, at);
        if let Some(bus) = &self.0.bus {
            bus.publish(BusMessage::Typing {
                session_id,
                user_id,
                at,
            });
        }
        Ok(())
    }

    fn deliver_typing(&self, session_id: Uuid, user_id: Uuid, at: DateTime<Utc>) {
        lock(&self.0.routes).dispatch(
            session_id,
            &LiveItem::Typing {
                session_id,
                user_id,
                at,
            },
        );
    }

    /// Counts a socket of `user_id` on this server, if under `max`; the guard uncounts it.
    pub fn open_socket(&self, user_id: Uuid, max: usize) -> Option<SocketGuard> {
        let mut sockets = self.0.sockets.lock().ok()?;
        let count = sockets.entry(user_id).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(SocketGuard {
            hub: self.clone(),
            user_id,
        })
    }

    /// Counts an open WebSocket connection until the guard drops (shutdown waits for them).
    pub fn connection(&self) -> ConnectionGuard {
        self.0.open_connections.send_modify(|n| *n += 1);
        ConnectionGuard { hub: self.clone() }
    }

    /// Waits until every WebSocket connection has closed, at most `limit`.
    pub async fn sockets_closed(&self, limit: Duration) {
        let mut open = self.0.open_connections.subscribe();
        let _ = tokio::time::timeout(limit, open.wait_for(|n| *n == 0)).await;
    }

    /// Counts a subscription whose starting point is set (a metric; tests wait on it).
    pub fn subscription_started(&self) {
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

    /// The database pool (for replays).
    pub fn pool(&self) -> &DbPool {
        &self.0.pool
    }

    /// Whether a position is older than what the log still holds.
    pub async fn is_pruned(&self, cursor: Position) -> AppResult<bool> {
        let mut conn = self.0.pool.get().await?;
        Ok(
            cursor <= event_model::pruned_through(&mut conn).await?
                && cursor != Position::default(),
        )
    }
}

/// Uncounts an open connection when dropped.
pub struct ConnectionGuard {
    hub: Hub,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.hub
            .0
            .open_connections
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Uncounts a socket when dropped.
pub struct SocketGuard {
    hub: Hub,
    user_id: Uuid,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        if let Ok(mut sockets) = self.hub.0.sockets.lock()
            && let Some(count) = sockets.get_mut(&self.user_id)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                sockets.remove(&self.user_id);
            }
        }
    }
}

/// Applies a message from another server.
pub(crate) fn receive_from_bus(inner: &std::sync::Weak<Inner>, message: BusMessage) {
    let Some(inner) = inner.upgrade() else {
        return;
    };
    let hub = Hub(inner);
    match message {
        BusMessage::Poke => {
            tracing::debug!("poked through the bus");
            hub.0.poke.notify_one()
        }
        BusMessage::Typing {
            session_id,
            user_id,
            at,
        } => hub.deliver_typing(session_id, user_id, at),
        BusMessage::Kick(kick) => {
            let _ = hub.0.kicks.send(kick);
        }
    }
}

/// Reads the log in order and broadcasts it, on every poke and every poll interval.
async fn pump(weak: std::sync::Weak<Inner>) {
    let mut position = None;
    let mut pending = false;
    let mut shutdown = match weak.upgrade() {
        Some(inner) => inner.shutdown.subscribe(),
        None => return,
    };
    loop {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        if *shutdown.borrow() {
            // Read what has committed, so that it reaches sockets before they close.
            if let Some(pos) = position {
                finish(&inner, pos).await;
            }
            return;
        }
        let pos = match position {
            Some(pos) => pos,
            None => match start_position(&inner).await {
                Ok(pos) => {
                    inner.position.send_replace(pos);
                    pos
                }
                Err(e) => {
                    tracing::warn!(error = %e, "event pump: database unavailable");
                    drop(inner);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            },
        };
        // Committed events that are not stable yet (an older transaction, of any database of
        // the cluster, still runs) keep the pump looking every few milliseconds until they
        // are; otherwise it waits for a poke, or polls.
        let wait = if pending {
            Duration::from_millis(5)
        } else {
            inner.config.poll
        };
        let poked = {
            let notified = inner.poke.notified();
            tokio::select! {
                _ = notified => true,
                _ = tokio::time::sleep(wait) => false,
                _ = shutdown.changed() => false,
            }
        };
        let new_pos = match drain(&inner, pos).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "event pump: reading the log failed");
                pos
            }
        };
        if poked || pending {
            pending = match inner.pool.get().await {
                Ok(mut conn) => event_model::committed_head(&mut conn)
                    .await
                    .is_ok_and(|head| head > new_pos),
                Err(_) => false,
            };
        }
        position = Some(new_pos);
    }
}

/// The last reads at shutdown: until everything committed is read, for up to three seconds.
async fn finish(inner: &Inner, mut pos: Position) {
    let deadline = Instant::now() + Duration::from_secs(3);
    let target = match inner.pool.get().await {
        Ok(mut conn) => event_model::committed_head(&mut conn).await.unwrap_or(pos),
        Err(_) => return,
    };
    while pos < target && Instant::now() < deadline {
        match drain(inner, pos).await {
            Ok(p) => pos = p,
            Err(_) => return,
        }
        if pos < target {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn start_position(inner: &Inner) -> anyhow::Result<Position> {
    let mut conn = inner.pool.get().await?;
    Ok(event_model::stable_head(&mut conn).await?)
}

/// Broadcasts every stable event after `from`; returns the new position.
async fn drain(inner: &Inner, from: Position) -> anyhow::Result<Position> {
    let mut conn = inner.pool.get().await?;
    let mut pos = from;
    loop {
        let rows = event_model::stable_after(&mut conn, pos, PUMP_BATCH).await?;
        let full = rows.len() as i64 == PUMP_BATCH;
        if !rows.is_empty() {
            tracing::debug!(events = rows.len(), "pump read events");
        }
        if !rows.is_empty() {
            // Routing and the position move together under the routes' lock, so a new
            // subscription sees either both or neither.
            let mut routes = lock(&inner.routes);
            for row in rows {
                pos = row.position();
                match Event::from_row(&row) {
                    Some(stored) => routes.route_stored(Arc::new(stored)),
                    None => {
                        tracing::warn!(id = row.id, kind = %row.kind, "skipping an unreadable event")
                    }
                }
            }
            inner.position.send_replace(pos);
        }
        if !full {
            return Ok(pos);
        }
    }
}

/// Deletes events older than the retention period, hourly.
async fn retention(weak: std::sync::Weak<Inner>) {
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let Ok(before) = chrono::Duration::from_std(inner.config.retention) else {
            continue;
        };
        let result = async {
            let mut conn = inner.pool.get().await?;
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One subscription's queue of events, filled by the pump. When the subscriber falls more
/// than the buffer behind, the pump drops it and sets `lagged`.
pub struct LiveQueue {
    rx: mpsc::Receiver<LiveItem>,
    lagged: Arc<AtomicBool>,
    id: u64,
    user_id: Uuid,
    hub: std::sync::Weak<Inner>,
}

/// What a queue yields.
pub enum Received {
    /// The next item.
    Item(LiveItem),
    /// The subscriber fell behind and was dropped: items after the last one are missing.
    Lagged,
    /// The hub is gone.
    Closed,
}

impl LiveQueue {
    /// Whether the pump has already dropped this queue for falling behind.
    pub fn has_lagged(&self) -> bool {
        self.lagged.load(Ordering::Acquire)
    }

    /// The next item, in the log's order.
    pub async fn recv(&mut self) -> Received {
        match self.rx.recv().await {
            Some(item) => Received::Item(item),
            None if self.lagged.load(Ordering::Acquire) => Received::Lagged,
            None => Received::Closed,
        }
    }
}

impl Drop for LiveQueue {
    fn drop(&mut self) {
        if let Some(inner) = self.hub.upgrade() {
            lock(&inner.routes).remove(self.user_id, self.id);
        }
    }
}

struct Route {
    id: u64,
    tx: mpsc::Sender<LiveItem>,
    lagged: Arc<AtomicBool>,
}

/// Who gets what: the queues of each user with a live subscription here, and for each
/// session the users among its members who have one.
#[derive(Default)]
struct Routes {
    queues: HashMap<Uuid, Vec<Route>>,
    members: HashMap<Uuid, HashSet<Uuid>>,
    sessions_of: HashMap<Uuid, HashSet<Uuid>>,
}

/// The members this server routes for: users with a live subscription here.
impl Memberships for Routes {
    fn join(&mut self, session: Uuid, user: Uuid) {
        if self.queues.contains_key(&user) {
            self.members.entry(session).or_default().insert(user);
            self.sessions_of.entry(user).or_default().insert(session);
        }
    }

    fn leave(&mut self, session: Uuid, user: Uuid) {
        if let Some(users) = self.members.get_mut(&session) {
            users.remove(&user);
            if users.is_empty() {
                self.members.remove(&session);
            }
        }
        if let Some(sessions) = self.sessions_of.get_mut(&user) {
            sessions.remove(&session);
        }
    }

    fn members(&self, session: Uuid) -> Vec<Uuid> {
        self.members
            .get(&session)
            .map(|users| users.iter().copied().collect())
            .unwrap_or_default()
    }
}

impl Routes {
    fn add(&mut self, route: Route, user: Uuid, sessions: &HashSet<Uuid>) {
        self.queues.entry(user).or_default().push(route);
        for session in sessions {
            self.join(*session, user);
        }
    }

    fn remove(&mut self, user: Uuid, id: u64) {
        let Some(queues) = self.queues.get_mut(&user) else {
            return;
        };
        queues.retain(|r| r.id != id);
        if queues.is_empty() {
            self.queues.remove(&user);
            for session in self.sessions_of.remove(&user).unwrap_or_default() {
                if let Some(users) = self.members.get_mut(&session) {
                    users.remove(&user);
                    if users.is_empty() {
                        self.members.remove(&session);
                    }
                }
            }
        }
    }

    /// Routes an event from the log to the queues of those who may see it, keeping the
    /// memberships in step with it (the rule is [`Event::route`]).
    fn route_stored(&mut self, stored: Arc<Stored>) {
        let to = stored.event.route(self);
        let item = LiveItem::Stored(stored);
        for user in to {
            self.send_to(user, &item);
        }
    }

    /// Sends an item to every queue of the session's members.
    fn dispatch(&mut self, session: Uuid, item: &LiveItem) {
        for user in self.members(session) {
            self.send_to(user, item);
        }
    }

    fn send_to(&mut self, user: Uuid, item: &LiveItem) {
        let Some(queues) = self.queues.get_mut(&user) else {
            return;
        };
        let mut dropped = false;
        queues.retain(|route| match route.tx.try_send(item.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                // Told, not skipped: the subscription reports LAGGED with its cursor.
                route.lagged.store(true, Ordering::Release);
                dropped = true;
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                dropped = true;
                false
            }
        });
        if dropped && queues.is_empty() {
            self.queues.remove(&user);
            for session in self.sessions_of.remove(&user).unwrap_or_default() {
                if let Some(users) = self.members.get_mut(&session) {
                    users.remove(&user);
                }
            }
        }
    }
}
