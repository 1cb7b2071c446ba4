//! The WebSocket face: the graphql-transport-ws protocol exactly (close codes 4400, 4401,
//! 4403, 4408, 4409, 4429; ping and pong both ways), and the legacy `graphql-ws`
//! (subscriptions-transport-ws) protocol for older clients. Queries and mutations run over
//! the socket too.
//!
//! A socket closes with 4403 when its access token expires, its sign-in ends or its user is
//! deactivated (clients reconnect with a fresh token), and with 1001 "going away" when the
//! server shuts down, after flushing the events it already has.

use std::collections::HashMap;
use std::time::Duration;

use async_graphql::{Response, Variables};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::StreamExt;
use futures_util::stream::{AbortHandle, BoxStream, SelectAll};
use serde_json::{Value, json};

use crate::auth::{Auth, presented_token};
use crate::events::Kick;
use crate::graphql::gateway::{Gateway, failed_before_execution};
use crate::services::accounts;
use crate::state::AppState;
use crate::throttle::ClientAddress;

/// The subprotocols we speak, preferred first.
pub const PROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];

/// Which protocol a socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws` (the `graphql-ws` client library).
    TransportWs,
    /// `graphql-ws` (the older subscriptions-transport-ws).
    Legacy,
}

impl Protocol {
    /// The protocol named by the negotiated subprotocol; none means the modern one.
    pub fn from_header(selected: Option<&str>) -> Self {
        match selected {
            Some("graphql-ws") => Self::Legacy,
            _ => Self::TransportWs,
        }
    }

    fn next(self) -> &'static str {
        match self {
            Self::TransportWs => "next",
            Self::Legacy => "data",
        }
    }
}

/// An operation's output, tagged with its id and the generation of that id (a client may
/// complete an operation and reuse its id while the old stream still winds down).
enum OpItem {
    Next(String, u64, Box<Response>, bool),
    Done(String, u64),
}

/// Why a connection ends.
struct Close(u16, String);

impl Close {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        Self(code, reason.into())
    }
}

struct Connection {
    socket: WebSocket,
    protocol: Protocol,
    app: AppState,
    gateway: Gateway,
    auth: Option<Auth>,
    ops: SelectAll<BoxStream<'static, OpItem>>,
    active: HashMap<String, (u64, AbortHandle)>,
    generation: u64,
    _socket_slot: Option<crate::events::SocketGuard>,
    /// The client's address, for the rate limits of what it runs.
    client: ClientAddress,
}

/// Serves one socket until it closes.
pub async fn serve(
    socket: WebSocket,
    protocol: Protocol,
    app: AppState,
    gateway: Gateway,
    client: ClientAddress,
) {
    let _counted = app.hub.connection();
    let mut conn = Connection {
        socket,
        protocol,
        app,
        gateway,
        auth: None,
        ops: SelectAll::new(),
        active: HashMap::new(),
        generation: 0,
        _socket_slot: None,
        client,
    };
    let close = conn.run().await;
    if let Some(Close(code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = conn.socket.send(Message::Close(Some(frame))).await;
    }
}

impl Connection {
    async fn send(&mut self, value: Value) -> Result<(), Close> {
        self.send_text(value.to_string()).await
    }

    async fn send_text(&mut self, text: String) -> Result<(), Close> {
        self.socket
            .send(Message::Text(text.into()))
            .await
            .map_err(|_| Close::new(1006, ""))
    }

    async fn run(&mut self) -> Option<Close> {
        let config = self.app.config.clone();
        let mut kicks = self.app.hub.kicks();
        let mut shutdown = self.app.hub.shutdown_signal();
        let init_deadline = tokio::time::sleep(config.ws_init_timeout);
        tokio::pin!(init_deadline);
        let mut keepalive = tokio::time::interval(config.ws_keepalive);
        keepalive.tick().await;
        let mut expiry: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
        loop {
            let result = tokio::select! {
                _ = shutdown.changed() => return Some(self.going_away().await),
                kick = kicks.recv() => match kick {
                    Ok(kick) if self.is_kicked(&kick) => {
                        Err(Close::new(4403, "Forbidden: signed out or deactivated"))
                    }
                    _ => Ok(()),
                },
                _ = async { expiry.as_mut().expect("guarded").await }, if expiry.is_some() => {
                    Err(Close::new(4403, "Forbidden: access token expired"))
                }
                _ = &mut init_deadline, if self.auth.is_none() => {
                    Err(Close::new(4408, "Connection initialisation timeout"))
                }
                frame = self.socket.recv() => match frame {
                    None | Some(Ok(Message::Close(_))) => return None,
                    Some(Err(e)) => {
                        let capacity = e.to_string().to_ascii_lowercase().contains("too long")
                            || e.to_string().to_ascii_lowercase().contains("capacity");
                        if capacity {
                            Err(Close::new(1009, "Message too big"))
                        } else {
                            return None;
                        }
                    }
                    Some(Ok(Message::Text(text))) => {
                        let was_anonymous = self.auth.is_none();
                        let handled = self.handle(&text).await;
                        if was_anonymous
                            && let Some(Auth::Viewer(v)) = &self.auth
                        {
                            let left = (v.token_expires_at - chrono::Utc::now().timestamp()).max(0);
                            expiry = Some(Box::pin(tokio::time::sleep(Duration::from_secs(left as u64))));
                        }
                        handled
                    }
                    Some(Ok(Message::Binary(_))) => {
                        Err(Close::new(4400, "Binary messages are not part of the protocol"))
                    }
                    Some(Ok(_)) => Ok(()), // WebSocket ping and pong
                },
                Some(item) = self.ops.next(), if !self.ops.is_empty() => self.deliver(item).await,
                _ = keepalive.tick() => {
                    let ping = match self.protocol {
                        Protocol::TransportWs => json!({ "type": "ping" }),
                        Protocol::Legacy => json!({ "type": "ka" }),
                    };
                    self.send(ping).await
                }
            };
            if let Err(close) = result {
                return Some(close);
            }
        }
    }

    fn is_kicked(&self, kick: &Kick) -> bool {
        match (&self.auth, kick) {
            (Some(Auth::Viewer(v)), Kick::User(id)) => v.user_id == *id,
            (Some(Auth::Viewer(v)), Kick::Family(id)) => v.family_id == *id,
            _ => false,
        }
    }

    /// Flushes what the operations already have, then says goodbye.
    async fn going_away(&mut self) -> Close {
        let _ = tokio::time::timeout(Duration::from_secs(3), self.app.hub.settle()).await;
        // Deliver what the operations have or are about to have (resolving an event's fields
        // may take a query), until they go quiet for a moment.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while !self.ops.is_empty() && tokio::time::Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_millis(200), self.ops.next()).await {
                Ok(Some(item)) => {
                    if self.deliver(item).await.is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
        Close::new(1001, "Going away")
    }

    async fn deliver(&mut self, item: OpItem) -> Result<(), Close> {
        match item {
            OpItem::Next(id, generation, response, first) => {
                if self.active.get(&id).map(|(g, _)| *g) != Some(generation) {
                    return Ok(()); // completed by the client meanwhile
                }
                if first && failed_before_execution(&response) {
                    self.active.remove(&id);
                    let errors = serde_json::to_value(&response.errors).unwrap_or(Value::Null);
                    return self
                        .send(json!({ "type": "error", "id": id, "payload": errors }))
                        .await;
                }
                let next = Next {
                    kind: self.protocol.next(),
                    id: &id,
                    payload: &response,
                };
                match serde_json::to_string(&next) {
                    Ok(text) => self.send_text(text).await,
                    Err(e) => {
                        tracing::error!(error = %e, "serializing a socket message");
                        Err(Close::new(1011, "Internal error"))
                    }
                }
            }
            OpItem::Done(id, generation) => {
                if self.active.get(&id).map(|(g, _)| *g) == Some(generation) {
                    self.active.remove(&id);
                    self.send(json!({ "type": "complete", "id": id })).await
                } else {
                    Ok(())
                }
            }
        }
    }

    async fn handle(&mut self, text: &str) -> Result<(), Close> {
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            return Err(Close::new(4400, "Invalid message: not JSON"));
        };
        let Some(kind) = message.get("type").and_then(Value::as_str) else {
            return Err(Close::new(4400, "Invalid message: no type"));
        };
        match (self.protocol, kind) {
            (_, "connection_init") => self.init(message.get("payload")).await,
            (Protocol::TransportWs, "ping") => {
                let mut pong = json!({ "type": "pong" });
                if let Some(payload) = message.get("payload") {
                    pong["payload"] = payload.clone();
                }
                self.send(pong).await
            }
            (Protocol::TransportWs, "pong") => Ok(()),
            (Protocol::TransportWs, "subscribe") | (Protocol::Legacy, "start") => {
                self.subscribe(&message).await
            }
            (Protocol::TransportWs, "complete") | (Protocol::Legacy, "stop") => {
                if let Some(id) = message.get("id").and_then(Value::as_str)
                    && let Some((_, handle)) = self.active.remove(id)
                {
                    handle.abort();
                }
                Ok(())
            }
            (Protocol::Legacy, "connection_terminate") => Err(Close::new(1000, "Terminated")),
            _ => Err(Close::new(4400, format!("Invalid message type {kind:?}"))),
        }
    }

    async fn init(&mut self, payload: Option<&Value>) -> Result<(), Close> {
        if self.auth.is_some() {
            return Err(Close::new(4429, "Too many initialisation requests"));
        }
        let token = payload.and_then(connection_init_token);
        let auth = match accounts::authenticate(&self.app, token.as_deref()).await {
            Ok(auth) => auth,
            Err(_) => return Err(Close::new(4500, "Internal server error: try again")),
        };
        if let Auth::Invalid(reason) = auth {
            if self.protocol == Protocol::Legacy {
                let _ = self
                    .send(json!({ "type": "connection_error", "payload": { "message": reason } }))
                    .await;
            }
            return Err(Close::new(4403, format!("Forbidden: {reason}")));
        }
        if let Auth::Viewer(v) = &auth {
            let max = self.app.config.ws_max_sockets_per_user;
            match self.app.hub.open_socket(v.user_id, max) {
                Some(slot) => self._socket_slot = Some(slot),
                None => {
                    return Err(Close::new(
                        4429,
                        format!("Too many sockets: at most {max} per user"),
                    ));
                }
            }
        }
        self.auth = Some(auth);
        self.send(json!({ "type": "connection_ack" })).await?;
        if self.protocol == Protocol::Legacy {
            self.send(json!({ "type": "ka" })).await?;
        }
        Ok(())
    }

    async fn subscribe(&mut self, message: &Value) -> Result<(), Close> {
        let Some(auth) = self.auth.clone() else {
            return Err(Close::new(4401, "Unauthorized"));
        };
        let Some(id) = message
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
        else {
            return Err(Close::new(4400, "Invalid message: subscribe needs an id"));
        };
        let payload = message.get("payload");
        let Some(query) = payload
            .and_then(|p| p.get("query"))
            .and_then(Value::as_str)
            .filter(|q| !q.trim().is_empty())
        else {
            return Err(Close::new(4400, "Invalid message: subscribe needs a query"));
        };
        if self.active.contains_key(id) {
            return Err(Close::new(
                4409,
                format!("Subscriber for {id} already exists"),
            ));
        }
        let max = self.app.config.ws_max_subscriptions;
        if self.active.len() >= max {
            let error = json!([{
                "message": format!("at most {max} operations may run at once on one socket"),
                "extensions": { "code": "RATE_LIMITED" },
            }]);
            return self
                .send(json!({ "type": "error", "id": id, "payload": error }))
                .await;
        }
        let mut request = async_graphql::Request::new(query);
        if let Some(name) = payload
            .and_then(|p| p.get("operationName"))
            .and_then(Value::as_str)
        {
            request = request.operation_name(name);
        }
        if let Some(vars) = payload
            .and_then(|p| p.get("variables"))
            .filter(|v| v.is_object())
        {
            request = request.variables(Variables::from_json(vars.clone()));
        }
        let stream = self
            .gateway
            .execute_stream(request.data(auth).data(self.client));
        let (stream, handle) = futures_util::stream::abortable(stream);
        self.generation += 1;
        let generation = self.generation;
        let op = id.to_owned();
        let done = op.clone();
        let items = stream
            .enumerate()
            .map(move |(i, response)| {
                OpItem::Next(op.clone(), generation, Box::new(response), i == 0)
            })
            .chain(futures_util::stream::once(async move {
                OpItem::Done(done, generation)
            }));
        self.active.insert(id.to_owned(), (generation, handle));
        self.ops.push(items.boxed());
        Ok(())
    }
}

/// The access token of a `connection_init` payload: `{"authorization": "Bearer …"}` (any
/// case of the key), or `{"token": "…"}`.
pub fn connection_init_token(payload: &Value) -> Option<String> {
    let object = payload.as_object()?;
    object.iter().find_map(|(key, value)| {
        let value = value.as_str()?;
        if key.eq_ignore_ascii_case("authorization") {
            Some(presented_token(value).to_owned())
        } else if key == "token" {
            Some(value.to_owned())
        } else {
            None
        }
    })
}

/// The message carrying one result of an operation, serialized straight from the response,
/// not through a `serde_json::Value`, whose maps would sort the payload's keys (and copy it
/// whole, once per member socket in a fan-out).
#[derive(serde::Serialize)]
struct Next<'a> {
    /// `next` (`data` in the legacy protocol).
    #[serde(rename = "type")]
    kind: &'a str,
    /// The operation's id.
    id: &'a str,
    /// The result.
    payload: &'a Response,
}
