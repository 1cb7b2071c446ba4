//! Who gets what: each subscription's bounded queue, and for each session the users among
//! its members who have one here. The pump routes every event of the log through
//! `Routes::route_stored`, which applies the one routing rule ([`crate::events::Event::route`]).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::events::{Memberships, Stored};
use crate::sync::lock;

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

/// One subscription's queue of events, filled by the pump. When the subscriber falls more
/// than the buffer behind, the pump drops it and sets `lagged`.
pub struct LiveQueue {
    rx: mpsc::Receiver<LiveItem>,
    lagged: Arc<AtomicBool>,
    id: u64,
    user_id: Uuid,
    routes: Weak<Mutex<Routes>>,
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
        if let Some(routes) = self.routes.upgrade() {
            lock(&routes).remove(self.user_id, self.id);
        }
    }
}

struct Route {
    id: u64,
    tx: mpsc::Sender<LiveItem>,
    lagged: Arc<AtomicBool>,
}

/// The queues of each user with a live subscription here, and for each session the users
/// among its members who have one.
#[derive(Default)]
pub(crate) struct Routes {
    next_id: u64,
    queues: HashMap<Uuid, Vec<Route>>,
    members: HashMap<Uuid, HashSet<Uuid>>,
    sessions_of: HashMap<Uuid, HashSet<Uuid>>,
}

impl Routes {
    /// The subscriptions routed here.
    pub(crate) fn subscriptions(&self) -> usize {
        self.queues.values().map(Vec::len).sum()
    }
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
    /// Registers a queue of `buffer` items for `user`'s events about `sessions` (and about
    /// the user). `shared` is the mutex these routes live in, which the queue leaves on drop.
    pub(crate) fn add(
        &mut self,
        shared: &Arc<Mutex<Routes>>,
        user: Uuid,
        sessions: &HashSet<Uuid>,
        buffer: usize,
    ) -> LiveQueue {
        let (tx, rx) = mpsc::channel(buffer.max(1));
        let lagged = Arc::new(AtomicBool::new(false));
        let id = self.next_id;
        self.next_id += 1;
        self.queues.entry(user).or_default().push(Route {
            id,
            tx,
            lagged: lagged.clone(),
        });
        for session in sessions {
            self.join(*session, user);
        }
        LiveQueue {
            rx,
            lagged,
            id,
            user_id: user,
            routes: Arc::downgrade(shared),
        }
    }

    fn remove(&mut self, user: Uuid, id: u64) {
        let Some(queues) = self.queues.get_mut(&user) else {
            return;
        };
        queues.retain(|r| r.id != id);
        if queues.is_empty() {
            self.forget(user);
        }
    }

    /// Drops a user who has no queue left from every session's members.
    fn forget(&mut self, user: Uuid) {
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

    /// Routes an event from the log to the queues of those who may see it, keeping the
    /// memberships in step with it.
    pub(crate) fn route_stored(&mut self, stored: Arc<Stored>) {
        let to = stored.event.route(self);
        let item = LiveItem::Stored(stored);
        for user in to {
            self.send_to(user, &item);
        }
    }

    /// Sends an item to every queue of the session's members.
    pub(crate) fn dispatch(&mut self, session: Uuid, item: &LiveItem) {
        for user in self.members(session) {
            self.send_to(user, item);
        }
    }

    fn send_to(&mut self, user: Uuid, item: &LiveItem) {
        let Some(queues) = self.queues.get_mut(&user) else {
            return;
        };
        queues.retain(|route| match route.tx.try_send(item.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                // Told, not skipped: the subscription reports LAGGED with its cursor.
                route.lagged.store(true, Ordering::Release);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        if queues.is_empty() {
            self.forget(user);
        }
    }
}
