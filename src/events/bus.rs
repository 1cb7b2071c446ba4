//! The bus between servers: Redis pub/sub carrying pokes, typing and sign-out notices. It
//! never carries the only copy of anything; when Redis is down, sends still succeed and the
//! pumps' polling keeps delivering, more slowly, until it is back.

use std::sync::Weak;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::events::hub::{Inner, Kick, receive_from_bus};

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

/// The Redis side of the bus.
pub struct RedisBus {
    outbox: mpsc::Sender<BusMessage>,
}

impl RedisBus {
    /// Starts the publisher and subscriber tasks; they reconnect on their own.
    pub(crate) fn start(url: String, channel: String, hub: Weak<Inner>) -> Self {
        let node = Uuid::now_v7();
        let (outbox, inbox) = mpsc::channel(10_000);
        tokio::spawn(publisher(url.clone(), channel.clone(), node, inbox));
        tokio::spawn(subscriber(url, channel, node, hub));
        Self { outbox }
    }

    /// Queues a message; never waits. When Redis is down the queue fills and the oldest
    /// notices are dropped: the database still has every event.
    pub fn publish(&self, message: BusMessage) {
        if self.outbox.try_send(message).is_err() {
            tracing::debug!("bus queue full: dropping a notice");
        }
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

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
        if conn.is_none() {
            // Reconnect on demand. While Redis is down each attempt fails fast (or times
            // out) and the notice is dropped: the log in PostgreSQL has the events.
            match tokio::time::timeout(CONNECT_TIMEOUT, client.get_multiplexed_async_connection())
                .await
            {
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
                    continue;
                }
            }
        }
        let Ok(payload) = serde_json::to_string(&Envelope { node, message }) else {
            continue;
        };
        if let Some(c) = conn.as_mut() {
            let sent = tokio::time::timeout(
                CONNECT_TIMEOUT,
                redis::cmd("PUBLISH")
                    .arg(&channel)
                    .arg(payload)
                    .query_async::<i64>(c),
            )
            .await;
            if !matches!(sent, Ok(Ok(_))) {
                tracing::warn!("publishing to Redis failed: reconnecting");
                conn = None;
            }
        }
    }
}

async fn subscriber(url: String, channel: String, node: Uuid, hub: Weak<Inner>) {
    let Ok(client) = redis::Client::open(url.as_str()) else {
        return;
    };
    // The hub is still being built when this task starts: wait until it exists.
    while hub.strong_count() == 0 {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut backoff = Duration::from_millis(200);
    loop {
        if hub.strong_count() == 0 {
            return;
        }
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
        tracing::info!(%node, "subscribed to the Redis bus");
        // Whatever was missed while disconnected is in the log: read it now.
        receive_from_bus(&hub, BusMessage::Poke);
        let mut messages = pubsub.into_on_message();
        while let Some(msg) = messages.next().await {
            let Ok(payload) = msg.get_payload::<String>() else {
                continue;
            };
            let Ok(envelope) = serde_json::from_str::<Envelope>(&payload) else {
                continue;
            };
            if envelope.node != node {
                receive_from_bus(&hub, envelope.message);
            }
        }
        tracing::warn!(%node, "lost the Redis bus: reconnecting");
    }
}
