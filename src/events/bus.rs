//! The bus between servers: pokes, typing and sign-out notices. It never carries the only
//! copy of anything; when Redis is down, sends still succeed and the pumps' polling keeps
//! delivering, more slowly, until it is back. It knows nothing of the hub: what it receives
//! from other servers comes out of a channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::events::sockets::Kick;

/// What servers tell each other.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum BusMessage {
    /// Events were committed: read the log.
    Poke,
    /// Someone is typing.
    Typing {
        /// The conversation.
        session_id: Uuid,
        /// Who types.
        user_id: Uuid,
        /// When.
        at: DateTime<Utc>,
    },
    /// Close these sockets.
    Kick(Kick),
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    node: Uuid,
    message: BusMessage,
}

/// How a server tells the others of its deployment.
pub trait Bus: Send + Sync {
    /// Tells every other server; never waits, and may drop the notice while the link is
    /// down (the database has every event).
    fn publish(&self, message: BusMessage);

    /// Whether notices from other servers arrive now (`None`: there are no others).
    fn connected(&self) -> Option<bool> {
        None
    }
}

/// A server on its own: there is no one to tell.
pub struct Alone;

impl Bus for Alone {
    fn publish(&self, _: BusMessage) {}
}

/// Redis pub/sub on one channel shared by the servers of a deployment.
pub struct RedisBus {
    outbox: mpsc::Sender<BusMessage>,
    subscriber: tokio::task::AbortHandle,
    subscribed: Arc<AtomicBool>,
}

impl RedisBus {
    /// Starts the publisher and subscriber tasks, which reconnect on their own. What other
    /// servers publish comes out of the returned receiver, and so does a `Poke` each time the
    /// subscription (re)connects: what was missed meanwhile is in the log.
    pub fn start(url: String, channel: String) -> (Self, mpsc::Receiver<BusMessage>) {
        let node = Uuid::now_v7();
        let (outbox, outgoing) = mpsc::channel(10_000);
        let (incoming, inbox) = mpsc::channel(10_000);
        tokio::spawn(publisher(url.clone(), channel.clone(), node, outgoing));
        let subscribed = Arc::new(AtomicBool::new(false));
        let subscriber = tokio::spawn(subscriber(url, channel, node, incoming, subscribed.clone()))
            .abort_handle();
        (
            Self {
                outbox,
                subscriber,
                subscribed,
            },
            inbox,
        )
    }
}

impl Bus for RedisBus {
    /// Queues a message; never waits. When Redis is down the queue fills and the newest
    /// notices are dropped.
    fn publish(&self, message: BusMessage) {
        if self.outbox.try_send(message).is_err() {
            tracing::debug!("bus queue full: dropping a notice");
        }
    }

    fn connected(&self) -> Option<bool> {
        Some(self.subscribed.load(Ordering::Relaxed))
    }
}

impl Drop for RedisBus {
    /// The publisher ends with its queue; the subscriber is stopped here.
    fn drop(&mut self) {
        self.subscriber.abort();
    }
}

/// How long a connection or a publish may take. A Redis that is down refuses at once; this
/// bounds a Redis (or a server) that is merely slow, and is generous so that a busy machine
/// does not lose notices to it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Tries per notice: a publish that fails on a connection that just broke is sent again on a
/// new one, so a Redis restart or a stall does not lose it; while Redis stays down the
/// notice is dropped (the log in PostgreSQL has the events, and pumps poll).
const PUBLISH_TRIES: usize = 2;

async fn publisher(
    url: String,
    channel: String,
    node: Uuid,
    mut inbox: mpsc::Receiver<BusMessage>,
) {
    let client = match redis::Client::open(url.as_str()) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "REDIS_URL is not usable: cross-server delivery falls back to polling");
            return;
        }
    };
    let mut conn: Option<redis::aio::MultiplexedConnection> = None;
    let mut down = false;
    while let Some(message) = inbox.recv().await {
        let Ok(payload) = serde_json::to_string(&Envelope { node, message }) else {
            continue;
        };
        for _ in 0..PUBLISH_TRIES {
            if conn.is_none() {
                let connect = client.get_multiplexed_async_connection();
                match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
                    Ok(Ok(c)) => {
                        if down {
                            tracing::info!("Redis reachable again for publishing");
                            down = false;
                        }
                        conn = Some(c);
                    }
                    _ => {
                        if !down {
                            tracing::warn!(
                                "Redis unreachable: publishing paused, delivery falls back to polling"
                            );
                            down = true;
                        }
                        break;
                    }
                }
            }
            let Some(c) = conn.as_mut() else {
                break;
            };
            let mut publish = redis::cmd("PUBLISH");
            publish.arg(&channel).arg(&payload);
            let sent = tokio::time::timeout(CONNECT_TIMEOUT, publish.query_async::<i64>(c)).await;
            if matches!(sent, Ok(Ok(_))) {
                break;
            }
            tracing::warn!("publishing to Redis failed: reconnecting");
            conn = None;
        }
    }
}

async fn subscriber(
    url: String,
    channel: String,
    node: Uuid,
    incoming: mpsc::Sender<BusMessage>,
    subscribed: Arc<AtomicBool>,
) {
    let Ok(client) = redis::Client::open(url.as_str()) else {
        return;
    };
    let mut backoff = Duration::from_millis(200);
    loop {
        let connected = tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub()).await;
        let mut pubsub = match connected {
            Ok(Ok(p)) => p,
            _ => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if pubsub.subscribe(&channel).await.is_err() {
            tokio::time::sleep(backoff).await;
            continue;
        }
        backoff = Duration::from_millis(200);
        subscribed.store(true, Ordering::Relaxed);
        tracing::info!(%node, "subscribed to the Redis bus");
        // Whatever was missed while disconnected is in the log: read it now.
        if incoming.send(BusMessage::Poke).await.is_err() {
            return;
        }
        let mut messages = pubsub.into_on_message();
        while let Some(msg) = messages.next().await {
            let Ok(payload) = msg.get_payload::<String>() else {
                continue;
            };
            let Ok(envelope) = serde_json::from_str::<Envelope>(&payload) else {
                continue;
            };
            if envelope.node != node && incoming.send(envelope.message).await.is_err() {
                return;
            }
        }
        subscribed.store(false, Ordering::Relaxed);
        tracing::warn!(%node, "lost the Redis bus: reconnecting");
    }
}
