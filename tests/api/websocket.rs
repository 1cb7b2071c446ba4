//! The WebSocket endpoint: sign-in through `connection_init`, operations over the socket.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::harness::TestApp;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: std::net::SocketAddr) -> Socket {
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connecting");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws")
    );
    socket
}

/// The next frame within five seconds: Some(JSON) for text, None for a close.
async fn next_frame(socket: &mut Socket) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s");
        match frame {
            Some(Ok(Message::Text(text))) => {
                return Some(serde_json::from_str(&text).expect("JSON frame"));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(other)) => panic!("unexpected frame {other:?}"),
        }
    }
}

async fn send(socket: &mut Socket, frame: Value) {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .expect("sending");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_in_socket_runs_queries() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let addr = app.serve().await;
    let mut socket = connect(addr).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", alice.access) } }),
    )
    .await;
    assert_eq!(
        next_frame(&mut socket).await.expect("ack")["type"],
        "connection_ack"
    );
    send(
        &mut socket,
        json!({ "type": "subscribe", "id": "1", "payload": { "query": "{ me { username } }" } }),
    )
    .await;
    let next = next_frame(&mut socket).await.expect("next");
    assert_eq!(next["type"], "next");
    assert_eq!(next["id"], "1");
    assert_eq!(next["payload"]["data"]["me"]["username"], "alice");
    assert_eq!(
        next_frame(&mut socket).await.expect("complete")["type"],
        "complete"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_token_in_connection_init_is_refused() {
    let app = TestApp::spawn().await;
    let addr = app.serve().await;
    let mut socket = connect(addr).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authorization": "Bearer forged.token" } }),
    )
    .await;
    // Never acknowledged: the server closes the socket.
    let frame = next_frame(&mut socket).await;
    assert!(
        frame.as_ref().is_none_or(|f| f["type"] != "connection_ack"),
        "{frame:?}"
    );
}
