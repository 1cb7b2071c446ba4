//! Who may do what to a conversation, as a matrix: every operation against a stranger, a
//! removed member, a member who departed, and a session that does not exist.

use serde_json::{Value, json};

use crate::chat::{group, send};
use crate::harness::{TestApp, TestUser, error_code, ok_data};

/// Every operation on a session or its messages, as (name, query, variables).
fn operations(
    session: &str,
    message: &str,
    someone: &str,
) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "session",
            "query($s: ID!) { session(id: $s) { id } }",
            json!({ "s": session }),
        ),
        (
            "messages",
            "query($s: ID!) { session(id: $s) { messages { edges { node { id } } } } }",
            json!({ "s": session }),
        ),
        (
            "members",
            "query($s: ID!) { session(id: $s) { members { user { id } } } }",
            json!({ "s": session }),
        ),
        (
            "message",
            "query($m: ID!) { message(id: $m) { id body } }",
            json!({ "m": message }),
        ),
        (
            "sendMessage",
            "mutation($s: ID!) { sendMessage(input: {sessionId: $s, body: \"hi\"}) { id } }",
            json!({ "s": session }),
        ),
        (
            "editMessage",
            "mutation($m: ID!) { editMessage(id: $m, body: \"x\") { id } }",
            json!({ "m": message }),
        ),
        (
            "deleteMessage",
            "mutation($m: ID!) { deleteMessage(id: $m) { id } }",
            json!({ "m": message }),
        ),
        (
            "markRead",
            "mutation($s: ID!) { markRead(sessionId: $s, upTo: 1) { id } }",
            json!({ "s": session }),
        ),
        (
            "addSessionMembers",
            "mutation($s: ID!, $u: ID!) { addSessionMembers(sessionId: $s, userIds: [$u]) { id } }",
            json!({ "s": session, "u": someone }),
        ),
        (
            "removeSessionMember",
            "mutation($s: ID!, $u: ID!) { removeSessionMember(sessionId: $s, userId: $u) { id } }",
            json!({ "s": session, "u": someone }),
        ),
        (
            "renameSession",
            "mutation($s: ID!) { renameSession(sessionId: $s, title: \"x\") { id } }",
            json!({ "s": session }),
        ),
        (
            "setSessionMemberRole",
            "mutation($s: ID!, $u: ID!) { setSessionMemberRole(sessionId: $s, userId: $u, role: ADMIN) { id } }",
            json!({ "s": session, "u": someone }),
        ),
        (
            "leaveSession",
            "mutation($s: ID!) { leaveSession(sessionId: $s) }",
            json!({ "s": session }),
        ),
        (
            "addReaction",
            "mutation($m: ID!) { addReaction(messageId: $m, emoji: \"👍\") { id } }",
            json!({ "m": message }),
        ),
        (
            "removeReaction",
            "mutation($m: ID!) { removeReaction(messageId: $m, emoji: \"👍\") { id } }",
            json!({ "m": message }),
        ),
        (
            "muteSession",
            "mutation($s: ID!) { muteSession(sessionId: $s) { id } }",
            json!({ "s": session }),
        ),
        (
            "unmuteSession",
            "mutation($s: ID!) { unmuteSession(sessionId: $s) { id } }",
            json!({ "s": session }),
        ),
    ]
}

async fn assert_sees_nothing(
    app: &TestApp,
    who: &TestUser,
    session: &str,
    message: &str,
    someone: &str,
    label: &str,
) {
    let before = app.fingerprint().await;
    for (name, query, vars) in operations(session, message, someone) {
        let response = app.gql(Some(&who.access), query, vars).await;
        assert_eq!(
            error_code(&response),
            Some("NOT_FOUND"),
            "{label} / {name}: {response}"
        );
    }
    // Not in their inbox, not in their search.
    let inbox = app
        .gql(
            Some(&who.access),
            "{ sessions { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let listed = ok_data(&inbox)["sessions"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{label}: no inbox: {inbox}"));
    assert!(
        listed.iter().all(|e| e["node"]["id"] != session),
        "{label}: {inbox}"
    );
    let search = app
        .gql(
            Some(&who.access),
            "{ searchMessages(text: \"confidential\") { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        search["data"]["searchMessages"]["edges"],
        json!([]),
        "{label}: {search}"
    );
    assert_eq!(app.fingerprint().await, before, "{label}: nothing changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn outsiders_get_the_same_not_found_as_for_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let stranger = app.register("stranger").await;
    let s = group(&app, &owner, "Private", &[&member]).await;
    let message = send(&app, &owner, &s, "confidential plans").await;
    let message_id = message["id"].as_str().expect("id").to_owned();

    assert_sees_nothing(&app, &stranger, &s, &message_id, &member.id, "stranger").await;

    // A session and a message that do not exist answer exactly the same.
    let missing_session = uuid::Uuid::now_v7().to_string();
    let missing_message = uuid::Uuid::now_v7().to_string();
    for (name, query, vars) in operations(&missing_session, &missing_message, &member.id) {
        let response = app.gql(Some(&owner.access), query, vars).await;
        assert_eq!(
            error_code(&response),
            Some("NOT_FOUND"),
            "missing / {name}: {response}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn removed_and_departed_members_lose_access_at_once() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let removed = app.register("removed").await;
    let departed = app.register("departed").await;
    let s = group(&app, &owner, "Team", &[&removed, &departed]).await;
    let message = send(&app, &removed, &s, "confidential from removed").await;
    let message_id = message["id"].as_str().expect("id").to_owned();
    send(&app, &departed, &s, "confidential from departed").await;

    app.gql(
        Some(&owner.access),
        "mutation($s: ID!, $u: ID!) { removeSessionMember(sessionId: $s, userId: $u) { id } }",
        json!({ "s": s, "u": removed.id }),
    )
    .await;
    app.gql(
        Some(&departed.access),
        "mutation($s: ID!) { leaveSession(sessionId: $s) }",
        json!({ "s": s }),
    )
    .await;
    // Even their own earlier message is out of reach now.
    assert_sees_nothing(&app, &removed, &s, &message_id, &owner.id, "removed").await;
    assert_sees_nothing(&app, &departed, &s, &message_id, &owner.id, "departed").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn members_without_rights_are_forbidden_not_hidden() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let other = app.register("other").await;
    let s = group(&app, &owner, "Team", &[&member, &other]).await;
    let message = send(&app, &owner, &s, "owner's words").await;
    let before = app.fingerprint().await;
    for (name, query, vars) in [
        (
            "editMessage",
            "mutation($m: ID!) { editMessage(id: $m, body: \"x\") { id } }",
            json!({ "m": message["id"] }),
        ),
        (
            "deleteMessage",
            "mutation($m: ID!) { deleteMessage(id: $m) { id } }",
            json!({ "m": message["id"] }),
        ),
        (
            "addSessionMembers",
            "mutation($s: ID!, $u: ID!) { addSessionMembers(sessionId: $s, userIds: [$u]) { id } }",
            json!({ "s": s, "u": owner.id }),
        ),
        (
            "removeSessionMember",
            "mutation($s: ID!, $u: ID!) { removeSessionMember(sessionId: $s, userId: $u) { id } }",
            json!({ "s": s, "u": other.id }),
        ),
        (
            "renameSession",
            "mutation($s: ID!) { renameSession(sessionId: $s, title: \"x\") { id } }",
            json!({ "s": s }),
        ),
        (
            "setSessionMemberRole",
            "mutation($s: ID!, $u: ID!) { setSessionMemberRole(sessionId: $s, userId: $u, role: OWNER) { id } }",
            json!({ "s": s, "u": other.id }),
        ),
    ] {
        let response = app.gql(Some(&member.access), query, vars).await;
        assert_eq!(
            error_code(&response),
            Some("FORBIDDEN"),
            "{name}: {response}"
        );
    }
    assert_eq!(app.fingerprint().await, before);
    // Anonymous callers are told to sign in.
    let anonymous = app
        .gql(
            None,
            "query($s: ID!) { session(id: $s) { id } }",
            json!({ "s": s }),
        )
        .await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
}
