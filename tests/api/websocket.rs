//! The WebSocket protocols, frame by frame: graphql-transport-ws with every close code, the
//! legacy graphql-ws protocol, operations over the socket, and the socket limits.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::chat::{direct, send};
use crate::harness::{TestApp, assert_keys_in_order};
use crate::wsclient::{Frame, WsClient};

const MODERN: &str = "graphql-transport-ws";
const LEGACY: &str = "graphql-ws";

#[tokio::test(flavor = "multi_thread")]
async fn queries_and_mutations_run_over_the_socket() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let addr = app.serve().await;
    let mut ws = WsClient::connect(addr, MODERN).await;
    ws.init(Some(&alice.access)).await;
    ws.subscribe("1", "{ me { username } }", json!({})).await;
    assert_eq!(
        ws.next_payload("1").await["data"]["me"]["username"],
        "alice"
    );
    assert_eq!(
        ws.next().await,
        Frame::Json(json!({ "type": "complete", "id": "1" }))
    );
    ws.subscribe(
        "2",
        "mutation($d: String!) { updateProfile(input: {displayName: $d}) { displayName } }",
        json!({ "d": "Alice W" }),
    )
    .await;
    assert_eq!(
        ws.next_payload("2").await["data"]["updateProfile"]["displayName"],
        "Alice W"
    );
    assert_eq!(
        ws.next().await,
        Frame::Json(json!({ "type": "complete", "id": "2" }))
    );
    // A validation error is an `error` message for that operation, not a close.
    ws.subscribe("3", "{ noSuchField }", json!({})).await;
    match ws.next().await {
        Frame::Json(v) => {
            assert_eq!(v["type"], "error", "{v}");
            assert_eq!(v["id"], "3");
            assert!(v["payload"].is_array());
        }
        other => panic!("{other:?}"),
    }
}

/// A result's keys come in the order the operation asked for them, over the socket as over
/// HTTP (they used to pass through a map that sorted them).
#[tokio::test(flavor = "multi_thread")]
async fn results_keep_the_order_of_the_selection() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let addr = app.serve().await;
    let mut ws = WsClient::connect(addr, MODERN).await;
    ws.init(Some(&alice.access)).await;
    ws.subscribe("1", "{ me { username id displayName } }", json!({}))
        .await;
    let text = ws.next_text().await;
    let payload = &text[text.find("\"payload\"").expect("a payload")..];
    assert_keys_in_order(payload, &["username", "id", "displayName"]);
    let frame: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(frame["type"], "next", "{frame}");
    assert_eq!(frame["id"], "1", "{frame}");
    assert_eq!(
        frame["payload"]["data"]["me"]["username"], "alice",
        "{frame}"
    );
    assert_eq!(
        ws.next().await,
        Frame::Json(json!({ "type": "complete", "id": "1" }))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ping_is_answered_with_pong_and_the_server_pings_idle_sockets() {
    let app = TestApp::spawn_with(|c| c.ws_keepalive = Duration::from_secs(1)).await;
    let addr = app.serve().await;
    let mut ws = WsClient::connect(addr, MODERN).await;
    ws.send(json!({ "type": "ping", "payload": { "n": 1 } }))
        .await;
    assert_eq!(
        ws.next().await,
        Frame::Json(json!({ "type": "pong", "payload": { "n": 1 } }))
    );
    ws.init(None).await;
    assert_eq!(ws.next().await, Frame::Json(json!({ "type": "ping" })));
    ws.send(json!({ "type": "pong" })).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_messages_close_with_4400() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let addr = app.serve().await;
    let cases: Vec<(&str, Option<String>)> = vec![
        ("not JSON", Some("{ this is not json".into())),
        ("no type", Some(json!({ "id": "1" }).to_string())),
        (
            "unknown type",
            Some(json!({ "type": "subscribe_please" }).to_string()),
        ),
        (
            "subscribe without a query",
            Some(json!({ "type": "subscribe", "id": "1", "payload": {} }).to_string()),
        ),
        (
            "subscribe without an id",
            Some(
                json!({ "type": "subscribe", "payload": { "query": "{ me { id } }" } }).to_string(),
            ),
        ),
        ("binary frame", None),
    ];
    for (label, text) in cases {
        let mut ws = WsClient::connect(addr, MODERN).await;
        ws.init(Some(&alice.access)).await;
        match text {
            Some(text) => ws.send_text(&text).await,
            None => ws.send_binary(vec![1, 2, 3]).await,
        }
        let reason = ws.expect_close(4400).await;
        assert!(!reason.is_empty(), "{label}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn subscribe_before_acknowledgement_closes_with_4401() {
    let app = TestApp::spawn().await;
    let addr = app.serve().await;
    let mut ws = WsClient::connect(addr, MODERN).await;
    ws.subscribe("1", "{ __typename }", json!({})).await;
    assert_eq!(ws.expect_close(4401).await, "Unauthorized");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_token_closes_with_4403() {
    let app = TestApp::spawn().await;
    let addr = app.serve().await;
    for payload in [
        json!({ "authorization": "Bearer forged.token" }),
        json!({ "authorization": "Basic abc" }),
        json!({ "token": "garbage" }),
    ] {
        let mut ws = WsClient::connect(addr, MODERN).await;
        ws.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let reason = ws.expect_close(4403).await;
        assert!(reason.starts_with("Forbidden"), "{reason}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_connection_init_in_time_closes_with_4408() {
    let app = TestApp::spawn_with(|c| c.ws_init_timeout = Duration::from_millis(300)).await;
    let addr = app.serve().await;
    let mut ws = WsClient::connect(addr, MODERN).await;
    assert_eq!(
        ws.expect_close(4408).await,
        "Connection initialisation timeout"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_subscription_id_closes_with_4409() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let addr = app.serve().await;
    let mut ws = WsClient::connect(addr, MODERN).await;
    ws.init(Some(&alice.access)).await;
    ws.subscribe("same", "subscription { events { kind } }", json!({}))
        .await;
    ws.subscribe("same", "subscription { events { kind } }", json!({}))
        .await;
    assert_eq!(
        ws.expect_close(4409).await,
        "Subscriber for same already exists"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_connection_init_closes_with_4429() {
    let app = TestApp::spawn().await;
    let addr = app.serve().await;
    let mut ws = WsClient::connect(addr, MODERN).await;
    ws.init(None).await;
    ws.send(json!({ "type": "connection_init" })).await;
    assert_eq!(
        ws.expect_close(4429).await,
        "Too many initialisation requests"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn completing_an_operation_stops_it_and_ids_can_be_reused() {
    // No keepalive pings in the way of the frames this test counts.
    let app = TestApp::spawn_with(|c| c.ws_keepalive = Duration::from_secs(3600)).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let d = direct(&app, &alice, &bob).await;
    let addr = app.serve().await;
    let mut ws = WsClient::connect(addr, MODERN).await;
    ws.init(Some(&alice.access)).await;
    // Two live streams on one socket: "s" is completed, "witness" stays.
    let events = "subscription { events { kind message { body } } }";
    let hub = &app.state.hub;
    ws.subscribe_live(hub, "s", events, json!({})).await;
    ws.subscribe_live(hub, "witness", events, json!({})).await;
    send(&app, &bob, &d, "one").await;
    let mut heard = Vec::new();
    for _ in 0..2 {
        match ws.next().await {
            Frame::Json(v) if v["type"] == "next" => {
                assert_eq!(v["payload"]["data"]["events"]["message"]["body"], "one");
                heard.push(v["id"].clone());
            }
            other => panic!("expected an event, got {other:?}"),
        }
    }
    heard.sort_by_key(|id| id.to_string());
    assert_eq!(
        heard,
        [json!("s"), json!("witness")],
        "both streams are live"
    );

    ws.send(json!({ "type": "complete", "id": "s" })).await;
    // A socket's messages are handled in order: the pong says the completion was handled.
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.next().await, Frame::Json(json!({ "type": "pong" })));
    send(&app, &bob, &d, "two").await;
    // The witness hears it; "s" hears nothing, neither before the witness nor after.
    assert_eq!(
        ws.next_event("witness", "events").await["message"]["body"],
        "two"
    );
    ws.expect_quiet(Duration::from_millis(300)).await;

    // The id is free again: no 4409.
    ws.subscribe("s", "{ me { username } }", json!({})).await;
    assert_eq!(
        ws.next_payload("s").await["data"]["me"]["username"],
        "alice"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn socket_limits_are_enforced() {
    let app = TestApp::spawn_with(|c| {
        c.ws_max_subscriptions = 2;
        c.ws_max_sockets_per_user = 2;
        c.ws_max_message_bytes = 4096;
    })
    .await;
    let alice = app.register("alice").await;
    let addr = app.serve().await;

    // Operations per socket: the third gets a typed error, the socket stays open.
    let mut first = WsClient::connect(addr, MODERN).await;
    first.init(Some(&alice.access)).await;
    first
        .subscribe("a", "subscription { events { kind } }", json!({}))
        .await;
    first
        .subscribe("b", "subscription { events { kind } }", json!({}))
        .await;
    first
        .subscribe("c", "subscription { events { kind } }", json!({}))
        .await;
    match first.next().await {
        Frame::Json(v) => {
            assert_eq!(v["type"], "error");
            assert_eq!(v["id"], "c");
            assert_eq!(v["payload"][0]["extensions"]["code"], "RATE_LIMITED");
        }
        other => panic!("{other:?}"),
    }

    // Sockets per user: the third is refused.
    let mut second = WsClient::connect(addr, MODERN).await;
    second.init(Some(&alice.access)).await;
    let mut third = WsClient::connect(addr, MODERN).await;
    third
        .send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", alice.access) } }))
        .await;
    let reason = third.expect_close(4429).await;
    assert!(reason.contains("Too many sockets"), "{reason}");
    // Closing one frees a slot, once the server has seen it close (asking the hub for a
    // slot takes one and gives it back at once).
    drop(second);
    let alice_id = alice.id.parse().expect("a user id");
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.state.hub.open_socket(alice_id, 2).is_none() {
        assert!(Instant::now() < deadline, "the closed socket kept its slot");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut again = WsClient::connect(addr, MODERN).await;
    again.init(Some(&alice.access)).await;

    // Oversized messages close with 1009.
    let mut big = WsClient::connect(addr, MODERN).await;
    big.send_text(&"x".repeat(10_000)).await;
    big.expect_close(1009).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_legacy_protocol_still_works() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let addr = app.serve().await;
    let mut ws = WsClient::connect(addr, LEGACY).await;
    ws.send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", alice.access) } }))
        .await;
    assert_eq!(
        ws.next().await,
        Frame::Json(json!({ "type": "connection_ack" }))
    );
    assert_eq!(ws.next().await, Frame::Json(json!({ "type": "ka" })));
    ws.send(json!({ "type": "start", "id": "1", "payload": { "query": "{ me { username } }" } }))
        .await;
    match ws.next().await {
        Frame::Json(v) => {
            assert_eq!(v["type"], "data", "{v}");
            assert_eq!(v["payload"]["data"]["me"]["username"], "alice");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ws.next().await,
        Frame::Json(json!({ "type": "complete", "id": "1" }))
    );
    ws.send(json!({ "type": "connection_terminate" })).await;
    ws.expect_close(1000).await;

    // A bad token gets connection_error, then the close.
    let mut bad = WsClient::connect(addr, LEGACY).await;
    bad.send(json!({ "type": "connection_init", "payload": { "authorization": "Bearer nope" } }))
        .await;
    match bad.next().await {
        Frame::Json(v) => assert_eq!(v["type"], "connection_error", "{v}"),
        other => panic!("{other:?}"),
    }
}
