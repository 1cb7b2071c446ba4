//! Helpers for conversation tests: start sessions and send messages as a client would.

use serde_json::{Value, json};

use crate::harness::{TestApp, TestUser};

/// Starts (or finds) the direct session between `a` and `b`; returns its id.
pub async fn direct(app: &TestApp, a: &TestUser, b: &TestUser) -> String {
    let response = app
        .gql(
            Some(&a.access),
            "mutation($u: ID!) { startDirectSession(userId: $u) { id } }",
            json!({ "u": b.id }),
        )
        .await;
    response["data"]["startDirectSession"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("startDirectSession failed: {response}"))
        .to_owned()
}

/// Creates a group owned by `owner`; returns its id.
pub async fn group(app: &TestApp, owner: &TestUser, title: &str, members: &[&TestUser]) -> String {
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    let response = app
        .gql(
            Some(&owner.access),
            "mutation($t: String!, $m: [ID!]!) { createGroupSession(input: {title: $t, memberIds: $m}) { id } }",
            json!({ "t": title, "m": ids }),
        )
        .await;
    response["data"]["createGroupSession"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createGroupSession failed: {response}"))
        .to_owned()
}

/// The mutation that sends a message, returning its main fields.
pub const SEND: &str = "mutation($s: ID!, $b: String!, $r: ID, $c: String) { sendMessage(input: {sessionId: $s, body: $b, replyToId: $r, clientMessageId: $c}) { id seq body clientMessageId sender { username } replyTo { id } session { id } } }";

/// Sends a message; returns the whole response.
pub async fn send_raw(app: &TestApp, user: &TestUser, session: &str, body: &str) -> Value {
    app.gql(Some(&user.access), SEND, json!({ "s": session, "b": body }))
        .await
}

/// Sends a message; returns the message.
pub async fn send(app: &TestApp, user: &TestUser, session: &str, body: &str) -> Value {
    let response = send_raw(app, user, session, body).await;
    let message = response["data"]["sendMessage"].clone();
    assert!(message.is_object(), "send failed: {response}");
    message
}
