//! Socket accounting: how many sockets each user holds on this server (to cap them), how
//! many are open at all (shutdown waits for them), and the notices that close them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

use crate::sync::lock;

/// Sockets to close: a deactivated user's, or a revoked sign-in's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kick {
    /// Every socket of this user.
    User(Uuid),
    /// Every socket signed in with this token family.
    Family(Uuid),
}

/// The open sockets of one server.
pub(crate) struct Sockets {
    per_user: Mutex<HashMap<Uuid, usize>>,
    open: watch::Sender<usize>,
}

impl Sockets {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            per_user: Mutex::new(HashMap::new()),
            open: watch::channel(0).0,
        })
    }

    /// Counts a socket of `user_id`, if under `max`; the guard uncounts it.
    pub(crate) fn open_socket(self: &Arc<Self>, user_id: Uuid, max: usize) -> Option<SocketGuard> {
        let mut per_user = lock(&self.per_user);
        let count = per_user.entry(user_id).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(SocketGuard {
            sockets: self.clone(),
            user_id,
        })
    }

    /// Counts an open connection until the guard drops.
    pub(crate) fn connection(self: &Arc<Self>) -> ConnectionGuard {
        self.open.send_modify(|n| *n += 1);
        ConnectionGuard {
            sockets: self.clone(),
        }
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        *self.open.borrow()
    }

    /// Waits until every connection has closed, at most `limit`.
    pub(crate) async fn all_closed(&self, limit: Duration) {
        let mut open = self.open.subscribe();
        let _ = tokio::time::timeout(limit, open.wait_for(|n| *n == 0)).await;
    }
}

/// Uncounts an open connection when dropped.
pub struct ConnectionGuard {
    sockets: Arc<Sockets>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.sockets.open.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Uncounts a user's socket when dropped.
pub struct SocketGuard {
    sockets: Arc<Sockets>,
    user_id: Uuid,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let mut per_user = lock(&self.sockets.per_user);
        if let Some(count) = per_user.get_mut(&self.user_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                per_user.remove(&self.user_id);
            }
        }
    }
}
