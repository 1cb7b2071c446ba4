//! The socket scenarios: many signed-in WebSockets (`graphql-transport-ws`), each subscribed
//! to its viewer's event stream. `idle` measures the server's memory per socket; `fanout`
//! sends messages to a large group and times each delivery.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::client::Client;

/// The subscription every socket runs: the viewer-wide event stream, from now.
pub const EVENTS: &str = "subscription { events { cursor kind message { id seq } } }";

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A message receipt: which message, when.
type Receipt = (String, Instant);

/// Open, subscribed sockets.
pub struct Fleet {
    /// How many are open.
    pub open: usize,
    receipts: Arc<Mutex<Vec<Receipt>>>,
    stop: watch::Sender<bool>,
    /// Sockets that closed or failed after subscribing.
    pub dropped: Arc<std::sync::atomic::AtomicU64>,
    /// Sockets whose subscription ended with `LAGGED` or an error payload.
    pub lagged: Arc<std::sync::atomic::AtomicU64>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn connect(addr: SocketAddr, token: &str) -> anyhow::Result<Socket> {
    let mut request = format!("ws://{addr}/graphql/ws").into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    // Small buffers: ten thousand sockets share the load generator's memory.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    send(
        &mut socket,
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}}),
    )
    .await?;
    match next_json(&mut socket, Duration::from_secs(10)).await? {
        Some(v) if v["type"] == "connection_ack" => {}
        other => bail!("no connection_ack: {other:?}"),
    }
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}),
    )
    .await?;
    Ok(socket)
}

async fn send(socket: &mut Socket, frame: Value) -> anyhow::Result<()> {
    socket.send(Message::Text(frame.to_string().into())).await?;
    Ok(())
}

/// The next JSON frame, `None` on close; errors on timeout.
async fn next_json(socket: &mut Socket, wait: Duration) -> anyhow::Result<Option<Value>> {
    loop {
        let frame = tokio::time::timeout(wait, socket.next())
            .await
            .context("timed out waiting for a frame")?;
        match frame {
            Some(Ok(Message::Text(text))) => return Ok(Some(serde_json::from_str(&text)?)),
            Some(Ok(Message::Close(_))) | None => return Ok(None),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(_)) => continue,
        }
    }
}

/// Whether the server has the subscription: one socket subscribes, and the server must
/// neither refuse it nor answer with an error within a second and a half. `Err` carries the
/// reason it is not available.
pub async fn probe(addr: SocketAddr, token: &str) -> Result<(), String> {
    let mut socket = connect(addr, token).await.map_err(|e| format!("{e:#}"))?;
    match next_json(&mut socket, Duration::from_millis(1500)).await {
        // Silence: the subscription is running.
        Err(_) => Ok(()),
        // A subscription the schema lacks is answered with errors (then `complete`).
        Ok(Some(v)) if v["type"] == "next" && v["payload"]["errors"].is_null() => Ok(()),
        Ok(Some(v)) => Err(format!("the server answered the subscription with {v}")),
        Ok(None) => Err("the server closed the socket after subscribe".into()),
    }
}

impl Fleet {
    /// Opens one subscribed socket for each token (user number = index + 1), at most 256
    /// handshakes at a time.
    pub async fn open(addr: SocketAddr, tokens: &[String]) -> anyhow::Result<Self> {
        let receipts = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = watch::channel(false);
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let lagged = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let gate = Arc::new(Semaphore::new(256));
        let mut ready = Vec::new();
        for token in tokens {
            let (tx, rx) = oneshot::channel::<anyhow::Result<()>>();
            ready.push(rx);
            let (token, gate, receipts, dropped, lagged) = (
                token.clone(),
                gate.clone(),
                receipts.clone(),
                dropped.clone(),
                lagged.clone(),
            );
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let permit = gate.acquire_owned().await;
                let mut socket = match connect(addr, &token).await {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                drop(permit);
                let _ = tx.send(Ok(()));
                loop {
                    tokio::select! {
                        _ = stopped.changed() => break,
                        frame = socket.next() => match frame {
                            Some(Ok(Message::Text(text))) => {
                                let at = Instant::now();
                                if let Some(id) = message_created(&text) {
                                    if let Ok(mut r) = receipts.lock() {
                                        r.push((id, at));
                                    }
                                } else if text.contains("\"ping\"") {
                                    let _ = send(&mut socket, json!({"type": "pong"})).await;
                                } else if text.contains("LAGGED")
                                    || text.contains("\"errors\"")
                                    || text.contains("\"error\"")
                                {
                                    lagged.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                }
                            }
                            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                                dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                break;
                            }
                            Some(Ok(_)) => {}
                        },
                    }
                }
                let _ = socket.close(None).await;
            });
        }
        let mut open = 0;
        let mut first_error = None;
        for rx in ready {
            match rx.await {
                Ok(Ok(())) => open += 1,
                Ok(Err(e)) => {
                    first_error.get_or_insert(format!("{e:#}"));
                }
                Err(_) => {}
            }
        }
        if let Some(e) = first_error {
            eprintln!(
                "  {} of {} sockets failed to open: {e}",
                tokens.len() - open,
                tokens.len()
            );
        }
        Ok(Self {
            open,
            receipts,
            stop,
            dropped,
            lagged,
        })
    }

    /// Takes the receipts gathered so far.
    fn take_receipts(&self) -> Vec<Receipt> {
        self.receipts
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }
}

/// The message id of a `MESSAGE_CREATED` event frame.
fn message_created(text: &str) -> Option<String> {
    if !text.contains("MESSAGE_CREATED") {
        return None;
    }
    let v: Value = serde_json::from_str(text).ok()?;
    v["payload"]["data"]["events"]["message"]["id"]
        .as_str()
        .map(str::to_owned)
}

/// What the fan-out measured.
#[derive(Debug, Default)]
pub struct FanoutResult {
    /// Messages sent.
    pub sent: u64,
    /// Deliveries expected (sent × members with a socket).
    pub expected: u64,
    /// Deliveries received.
    pub delivered: u64,
    /// Delivery latencies from the send's response to the receipt, µs, sorted (a receipt
    /// that beats the response counts as 0).
    pub latencies_us: Vec<u64>,
    /// Delivery latencies from the moment the send was written, µs, sorted.
    pub from_request_us: Vec<u64>,
    /// Receipts that arrived before the send's HTTP response.
    pub before_response: u64,
    /// Failed sends.
    pub send_errors: u64,
    /// Per message, the latency (from the response, µs) of its first and of its last
    /// delivery, each sorted: how long the server takes to start delivering, and to finish.
    pub first_us: Vec<u64>,
    /// See `first_us`.
    pub last_us: Vec<u64>,
    /// Member sockets that received the warm-up message (subscribed and in the group).
    pub ready: u64,
    /// Seconds the warm-up took.
    pub warmup_seconds: f64,
}

/// One message to the group: its id, when the request went out and when the response came.
async fn send_one(
    client: &mut Client,
    token: &str,
    group_id: &str,
    tag: &str,
) -> anyhow::Result<(String, Instant, Instant)> {
    let body = json!({
        "query": "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }",
        "variables": {"input": {
            "sessionId": group_id,
            "body": format!("fan-out {tag}"),
            "clientMessageId": format!("fanout-{}-{tag}", std::process::id()),
        }},
    });
    let body = serde_json::to_vec(&body)?;
    let asked = Instant::now();
    let (status, bytes) = client.post(token, body.into()).await?;
    let at = Instant::now();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    match v["data"]["sendMessage"]["id"].as_str() {
        Some(id) if status.is_success() => Ok((id.to_owned(), asked, at)),
        _ => bail!("sendMessage failed: {}", String::from_utf8_lossy(&bytes)),
    }
}

/// Sends one message and waits (up to 30 s) until every member socket has it: afterwards
/// every member's subscription is known to be running. Returns how many got it.
pub async fn warm_up(
    addr: SocketAddr,
    fleet: &Fleet,
    creator_token: &str,
    group_id: &str,
    members_with_socket: u64,
) -> anyhow::Result<u64> {
    let mut client = Client::connect(addr).await?;
    let _ = fleet.take_receipts();
    let (id, _, _) = send_one(&mut client, creator_token, group_id, "warm-up").await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = 0;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        got += fleet
            .take_receipts()
            .iter()
            .filter(|(r, _)| *r == id)
            .count() as u64;
        if got >= members_with_socket {
            break;
        }
    }
    Ok(got)
}

/// Sends `rate` messages a second to the group for `duration` (as its creator, user 1) and
/// matches every receipt to its send.
pub async fn fanout(
    addr: SocketAddr,
    fleet: &Fleet,
    creator_token: &str,
    group_id: &str,
    members_with_socket: u64,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<FanoutResult> {
    let mut client = Client::connect(addr).await?;
    let mut responded: HashMap<String, (Instant, Instant)> = HashMap::new();
    let mut result = FanoutResult::default();
    let _ = fleet.take_receipts();
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let mut n = 0u64;
    while start.elapsed() < duration {
        n += 1;
        match send_one(&mut client, creator_token, group_id, &n.to_string()).await {
            Ok((id, asked, at)) => {
                responded.insert(id, (asked, at));
                result.sent += 1;
            }
            Err(_) => result.send_errors += 1,
        }
        let next = start + interval * n as u32;
        tokio::time::sleep_until(next.into()).await;
    }
    // Stragglers.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut spans: HashMap<String, (u64, u64)> = HashMap::new();
    for (id, at) in fleet.take_receipts() {
        if let Some((asked, sent)) = responded.get(&id) {
            result.delivered += 1;
            let us = at.saturating_duration_since(*sent).as_micros() as u64;
            let span = spans.entry(id.clone()).or_insert((us, us));
            span.0 = span.0.min(us);
            span.1 = span.1.max(us);
            if at < *sent {
                result.before_response += 1;
            }
            result
                .latencies_us
                .push(at.saturating_duration_since(*sent).as_micros() as u64);
            result
                .from_request_us
                .push(at.saturating_duration_since(*asked).as_micros() as u64);
        }
    }
    result.latencies_us.sort_unstable();
    result.from_request_us.sort_unstable();
    result.first_us = spans.values().map(|s| s.0).collect();
    result.last_us = spans.values().map(|s| s.1).collect();
    result.first_us.sort_unstable();
    result.last_us.sort_unstable();
    result.expected = result.sent * members_with_socket;
    Ok(result)
}

/// Creates the fan-out group: user 1 and users 2..=members, through the API.
pub async fn create_group(
    addr: SocketAddr,
    creator_token: &str,
    member_ids: &[String],
) -> anyhow::Result<String> {
    let mut client = Client::connect(addr).await?;
    let body = json!({
        "query": "mutation($input: CreateGroupInput!) { createGroupSession(input: $input) { id } }",
        "variables": {"input": {"title": "loadgen fan-out", "memberIds": member_ids}},
    });
    let (_, bytes) = client
        .post(creator_token, serde_json::to_vec(&body)?.into())
        .await?;
    let v: Value = serde_json::from_slice(&bytes)?;
    v["data"]["createGroupSession"]["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("creating the fan-out group: {v}"))
}
