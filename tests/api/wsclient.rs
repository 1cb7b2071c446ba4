//! A WebSocket client that speaks the GraphQL protocols frame by frame, for tests.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use messenger::events::Hub;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// What the server sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A JSON text frame.
    Json(Value),
    /// A close frame (code, reason), or the connection dropped (`None`).
    Closed(Option<u16>, String),
}

/// One client socket.
pub struct WsClient {
    socket: Socket,
}

impl WsClient {
    /// Connects with a subprotocol (`graphql-transport-ws` or `graphql-ws`).
    pub async fn connect(addr: std::net::SocketAddr, protocol: &str) -> Self {
        Self::connect_with(addr, protocol, None).await
    }

    /// Connects with a small receive buffer (to be a slow reader).
    pub async fn connect_with(
        addr: std::net::SocketAddr,
        protocol: &str,
        recv_buffer: Option<u32>,
    ) -> Self {
        Self::try_connect_with(addr, protocol, recv_buffer)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`WsClient::connect_with`], but a failure to connect or upgrade (within ten
    /// seconds each) is returned, for tests where servers come and go.
    pub async fn try_connect_with(
        addr: std::net::SocketAddr,
        protocol: &str,
        recv_buffer: Option<u32>,
    ) -> Result<Self, String> {
        let socket = tokio::net::TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
        if let Some(size) = recv_buffer {
            socket
                .set_recv_buffer_size(size)
                .map_err(|e| format!("buffer size: {e}"))?;
        }
        let stream = tokio::time::timeout(Duration::from_secs(10), socket.connect(addr))
            .await
            .map_err(|_| "not connected within 10 s".to_owned())?
            .map_err(|e| format!("connecting: {e}"))?;
        let mut request = format!("ws://{addr}/graphql/ws")
            .into_client_request()
            .map_err(|e| format!("request: {e}"))?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(protocol).map_err(|e| format!("header: {e}"))?,
        );
        let upgrade = tokio_tungstenite::client_async(request, stream);
        let (socket, response) = tokio::time::timeout(Duration::from_secs(10), upgrade)
            .await
            .map_err(|_| "not upgraded within 10 s".to_owned())?
            .map_err(|e| format!("upgrading: {e}"))?;
        let agreed = response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok());
        if agreed != Some(protocol) {
            return Err(format!("the server agreed to {agreed:?}, not {protocol}"));
        }
        Ok(Self { socket })
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, frame: Value) {
        self.send_text(&frame.to_string()).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        let _ = self
            .socket
            .send(Message::Text(text.to_owned().into()))
            .await;
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        let _ = self.socket.send(Message::Binary(bytes.into())).await;
    }

    /// The next frame within `wait`, skipping WebSocket pings; `None` if nothing came.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Frame> {
        loop {
            let frame = tokio::time::timeout(wait, self.socket.next()).await.ok()?;
            return Some(match frame {
                Some(Ok(Message::Text(text))) => {
                    Frame::Json(serde_json::from_str(&text).expect("JSON frame"))
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(frame))) => Frame::Closed(
                    frame.as_ref().map(|f| u16::from(f.code)),
                    frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                ),
                None | Some(Err(_)) => Frame::Closed(None, String::new()),
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            });
        }
    }

    /// The text of the next text frame within ten seconds, as sent (key order included),
    /// skipping WebSocket pings.
    pub async fn next_text(&mut self) -> String {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("a frame within 10 s");
            match frame {
                Some(Ok(Message::Text(text))) => return text.to_string(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next frame within ten seconds.
    pub async fn next(&mut self) -> Frame {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("a frame within 10 s")
    }

    /// The next frame other than the server's keepalive pings (`ping`, legacy `ka`), within
    /// ten seconds in all: a server that only ever pings fails the test, not hangs it.
    async fn next_past_pings(&mut self) -> Frame {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Some(Frame::Json(v)) if v["type"] == "ping" || v["type"] == "ka" => continue,
                Some(frame) => return frame,
                None => panic!("nothing but pings within 10 s"),
            }
        }
    }

    /// Expects the server to close with `code`; returns the reason.
    pub async fn expect_close(&mut self, code: u16) -> String {
        match self.next_past_pings().await {
            Frame::Closed(got, reason) => {
                assert_eq!(got, Some(code), "closed with {got:?} ({reason})");
                reason
            }
            Frame::Json(v) => panic!("expected close {code}, got {v}"),
        }
    }

    /// Sends `connection_init` (with a token if given) and expects the acknowledgement.
    pub async fn init(&mut self, token: Option<&str>) {
        let payload = match token {
            Some(t) => json!({ "authorization": format!("Bearer {t}") }),
            None => json!({}),
        };
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        match self.next().await {
            Frame::Json(v) if v["type"] == "connection_ack" => {}
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    /// Starts an operation.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "type": "subscribe", "id": id, "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// Starts a subscription and waits until the server has set it up (its hub counts it):
    /// only then does "from now" mean after this point, and an event caused next reaches it.
    pub async fn subscribe_live(&mut self, hub: &Hub, id: &str, query: &str, variables: Value) {
        let mut started = hub.subscriptions_started();
        let before = *started.borrow_and_update();
        self.subscribe(id, query, variables).await;
        tokio::time::timeout(Duration::from_secs(10), started.wait_for(|n| *n > before))
            .await
            .expect("the subscription starts within 10 s")
            .expect("hub alive");
    }

    /// The next `next` payload for `id` (skipping pings), within ten seconds.
    pub async fn next_payload(&mut self, id: &str) -> Value {
        match self.next_past_pings().await {
            Frame::Json(v) if v["type"] == "next" && v["id"] == id => v["payload"].clone(),
            other => panic!("expected next for {id}, got {other:?}"),
        }
    }

    /// The `error` that ends operation `id` before it started: the `extensions.code` of its
    /// first error.
    pub async fn next_error_code(&mut self, id: &str) -> String {
        match self.next_past_pings().await {
            Frame::Json(v) if v["type"] == "error" && v["id"] == id => {
                v["payload"][0]["extensions"]["code"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no code in {v}"))
                    .to_owned()
            }
            other => panic!("expected an error for {id}, got {other:?}"),
        }
    }

    /// The next event of subscription `id`: `payload.data.<field>`, resolved without errors.
    pub async fn next_event(&mut self, id: &str, field: &str) -> Value {
        let payload = self.next_payload(id).await;
        assert!(
            payload["errors"].is_null(),
            "an event with errors: {payload}"
        );
        let event = payload["data"][field].clone();
        assert!(event.is_object(), "no event in {payload}");
        event
    }

    /// Asserts nothing arrives for `id` within `wait`.
    pub async fn expect_quiet(&mut self, wait: Duration) {
        if let Some(frame) = self.next_within(wait).await {
            panic!("expected nothing, got {frame:?}");
        }
    }
}
