//! Reactions, mentions, blocking and muting, as clients use them: over HTTP and live events.

use std::time::Duration;

use serde_json::{Value, json};

use crate::chat::{direct, group, send, send_raw};
use crate::harness::{TestApp, TestUser, error_code, ok_data};
use crate::wsclient::WsClient;

const REACTIONS: &str = "query($s: ID!) { session(id: $s) { messages(last: 10) { nodes { id reactions { emoji count reactedByViewer users(first: 1) { nodes { user { username } } pageInfo { hasNextPage endCursor } } } } } } }";
const ADD: &str = "mutation($m: ID!, $e: String!) { addReaction(messageId: $m, emoji: $e) { id reactions { emoji count } } }";
const REMOVE: &str = "mutation($m: ID!, $e: String!) { removeReaction(messageId: $m, emoji: $e) { id reactions { emoji count } } }";
const EVENTS: &str = "subscription($a: String) { events(after: $a) { cursor kind sessionId actor { username } user { username } message { id body } emoji notice } }";

async fn gql(app: &TestApp, user: &TestUser, query: &str, vars: Value) -> Value {
    app.gql(Some(&user.access), query, vars).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

async fn listen(app: &TestApp, user: &TestUser, after: Option<&str>) -> WsClient {
    let addr = app.serve().await;
    let mut ws = WsClient::connect(addr, "graphql-transport-ws").await;
    ws.init(Some(&user.access)).await;
    ws.subscribe_live(&app.state.hub, "e", EVENTS, json!({ "a": after }))
        .await;
    app.state.hub.settle().await.expect("pump settles");
    ws
}

/// The next event that is not typing.
async fn next(ws: &mut WsClient) -> Value {
    ws.next_event("e", "events").await
}

#[tokio::test(flavor = "multi_thread")]
async fn reactions_count_per_emoji_page_who_reacted_and_take_back() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let s = group(&app, &alice, "Club", &[&bob, &carol]).await;
    let m = id(&send(&app, &alice, &s, "party on friday").await);

    // An emoji, its short code with or without colons: one reaction, stored as the emoji.
    for (user, emoji) in [(&alice, "👍"), (&bob, "thumbsup"), (&carol, ":+1:")] {
        let r = gql(&app, user, ADD, json!({ "m": m, "e": emoji })).await;
        ok_data(&r);
    }
    let r = gql(&app, &bob, ADD, json!({ "m": m, "e": "🎉" })).await;
    assert_eq!(
        ok_data(&r)["addReaction"]["reactions"],
        json!([{ "emoji": "👍", "count": 3 }, { "emoji": "🎉", "count": 1 }])
    );
    // Twice is once.
    let again = gql(&app, &bob, ADD, json!({ "m": m, "e": "🎉" })).await;
    assert_eq!(
        ok_data(&again)["addReaction"]["reactions"][1]["count"],
        1,
        "{again}"
    );

    // As carol sees it: her own 👍, not her 🎉; who reacted, one page at a time.
    let seen = gql(&app, &carol, REACTIONS, json!({ "s": s })).await;
    let reactions = &ok_data(&seen)["session"]["messages"]["nodes"][0]["reactions"];
    assert_eq!(reactions[0]["reactedByViewer"], true, "{seen}");
    assert_eq!(reactions[1]["reactedByViewer"], false, "{seen}");
    assert_eq!(
        reactions[0]["users"]["nodes"][0]["user"]["username"],
        "alice"
    );
    assert_eq!(reactions[0]["users"]["pageInfo"]["hasNextPage"], true);
    let after = reactions[0]["users"]["pageInfo"]["endCursor"].clone();
    let page2 = gql(
        &app,
        &carol,
        "query($s: ID!, $a: String) { session(id: $s) { messages(last: 1) { nodes { reactions { users(first: 5, after: $a) { nodes { user { username } } } } } } } }",
        json!({ "s": s, "a": after }),
    )
    .await;
    let names: Vec<&str> =
        ok_data(&page2)["session"]["messages"]["nodes"][0]["reactions"][0]["users"]["nodes"]
            .as_array()
            .expect("users")
            .iter()
            .filter_map(|n| n["user"]["username"].as_str())
            .collect();
    assert_eq!(names, ["bob", "carol"]);

    // Taking back: the emoji goes when its last reaction does; taking back twice is harmless.
    let r = gql(&app, &bob, REMOVE, json!({ "m": m, "e": "🎉" })).await;
    assert_eq!(
        ok_data(&r)["removeReaction"]["reactions"],
        json!([{ "emoji": "👍", "count": 3 }])
    );
    let r = gql(&app, &bob, REMOVE, json!({ "m": m, "e": "🎉" })).await;
    ok_data(&r);
}

#[tokio::test(flavor = "multi_thread")]
async fn reactions_refuse_what_is_not_one_emoji_and_too_many_kinds() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let s = direct(&app, &alice, &bob).await;
    let m = id(&send(&app, &alice, &s, "hello").await);
    let before = app.fingerprint().await;
    for bad in [
        "",
        "hello",
        "👍👍",
        "👍 👍",
        "no_such_code",
        ":)",
        "👍x",
        &"👍".repeat(100),
    ] {
        let r = gql(&app, &bob, ADD, json!({ "m": m, "e": bad })).await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{bad:?}: {r}");
    }
    assert_eq!(
        app.fingerprint().await,
        before,
        "a refused reaction stored nothing"
    );

    // Skin tones and flags are one emoji each.
    for good in ["👍🏽", "🇫🇷", "👩‍💻"] {
        let r = gql(&app, &bob, ADD, json!({ "m": m, "e": good })).await;
        ok_data(&r);
    }
    let emoji: Vec<&str> = emojis::iter()
        .map(|e| e.as_str())
        .filter(|e| !["👍🏽", "🇫🇷", "👩‍💻"].contains(e))
        .take(17)
        .collect();
    for e in &emoji {
        ok_data(&gql(&app, &alice, ADD, json!({ "m": m, "e": e })).await);
    }
    // Twenty kinds: a new one is refused, one already there is still accepted.
    let r = gql(&app, &alice, ADD, json!({ "m": m, "e": "🦀" })).await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let r = gql(&app, &alice, ADD, json!({ "m": m, "e": "🇫🇷" })).await;
    ok_data(&r);

    // A deleted message keeps no reactions and takes no new ones.
    gql(
        &app,
        &alice,
        "mutation($m: ID!) { deleteMessage(id: $m) { id } }",
        json!({ "m": m }),
    )
    .await;
    let r = gql(&app, &bob, ADD, json!({ "m": m, "e": "👍" })).await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    assert_eq!(app.count("reactions").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn reaction_events_reach_members_live_and_on_resume() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let s = direct(&app, &alice, &bob).await;
    let m = id(&send(&app, &alice, &s, "hello").await);
    let mut ws = listen(&app, &alice, None).await;

    ok_data(&gql(&app, &bob, ADD, json!({ "m": m, "e": "😂" })).await);
    let e = next(&mut ws).await;
    assert_eq!(
        (
            e["kind"].as_str(),
            e["emoji"].as_str(),
            e["actor"]["username"].as_str()
        ),
        (Some("REACTION_ADDED"), Some("😂"), Some("bob")),
        "{e}"
    );
    assert_eq!(e["message"]["id"], m.as_str());
    let cursor = e["cursor"].as_str().expect("cursor").to_owned();
    drop(ws);

    // Missed while away: replayed from the cursor.
    ok_data(&gql(&app, &bob, REMOVE, json!({ "m": m, "e": "😂" })).await);
    let mut ws = listen(&app, &alice, Some(&cursor)).await;
    let e = next(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["emoji"].as_str()),
        (Some("REACTION_REMOVED"), Some("😂")),
        "{e}"
    );
}

const MENTIONS: &str =
    "{ mentions(first: 10) { nodes { message { body sender { username } session { id } } } } }";
const COUNTS: &str = "{ sessions { nodes { id unreadCount unreadMentionCount } } }";

async fn mention_count(app: &TestApp, user: &TestUser, s: &str) -> i64 {
    let r = gql(app, user, COUNTS, json!({})).await;
    ok_data(&r)["sessions"]["nodes"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|n| n["id"] == s)
        .and_then(|n| n["unreadMentionCount"].as_i64())
        .unwrap_or_else(|| panic!("{r}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn mentions_name_members_count_until_read_and_notify_only_them() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let outsider = app.register("outsider").await;
    let s = group(&app, &alice, "Club", &[&bob, &carol]).await;
    let mut bob_ws = listen(&app, &bob, None).await;
    let mut carol_ws = listen(&app, &carol, None).await;

    // @Bob by name (any case), the outsider and alice herself are not members to mention.
    let sent = gql(
        &app,
        &alice,
        "mutation($s: ID!) { sendMessage(input: {sessionId: $s, body: \"@Bob and @outsider, ask @alice\"}) { id mentions { username } } }",
        json!({ "s": s }),
    )
    .await;
    let message = &ok_data(&sent)["sendMessage"];
    assert_eq!(message["mentions"], json!([{ "username": "bob" }]));

    // Bob gets the message and a mention of his own; carol only the message.
    let e = next(&mut bob_ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["notice"].as_str()),
        (Some("MESSAGE_CREATED"), Some("MENTION")),
        "{e}"
    );
    let e = next(&mut bob_ws).await;
    assert_eq!(
        (
            e["kind"].as_str(),
            e["user"]["username"].as_str(),
            e["message"]["id"].as_str()
        ),
        (Some("MENTIONED"), Some("bob"), message["id"].as_str()),
        "{e}"
    );
    let e = next(&mut carol_ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["notice"].as_str()),
        (Some("MESSAGE_CREATED"), Some("MESSAGE")),
        "{e}"
    );
    carol_ws.expect_quiet(Duration::from_millis(300)).await;

    // Picked by id from a menu.
    let picked = gql(
        &app,
        &alice,
        "mutation($s: ID!, $m: [ID!]) { sendMessage(input: {sessionId: $s, body: \"see above\", mentionIds: $m}) { mentions { username } } }",
        json!({ "s": s, "m": [carol.id, outsider.id] }),
    )
    .await;
    assert_eq!(
        ok_data(&picked)["sendMessage"]["mentions"],
        json!([{ "username": "carol" }])
    );

    assert_eq!(mention_count(&app, &bob, &s).await, 1);
    assert_eq!(mention_count(&app, &carol, &s).await, 1);
    let listed = gql(&app, &bob, MENTIONS, json!({})).await;
    assert_eq!(
        ok_data(&listed)["mentions"]["nodes"][0]["message"]["sender"]["username"],
        "alice"
    );
    // Opening it: the message by id, for a member.
    let opened = gql(
        &app,
        &bob,
        "query($m: ID!) { message(id: $m) { body mentions { username } } }",
        json!({ "m": message["id"] }),
    )
    .await;
    assert_eq!(
        ok_data(&opened)["message"]["mentions"],
        json!([{ "username": "bob" }])
    );

    // An edit that drops bob drops his mention; reading clears carol's.
    let edited = gql(
        &app,
        &alice,
        "mutation($m: ID!) { editMessage(id: $m, body: \"never mind\") { mentions { username } } }",
        json!({ "m": message["id"] }),
    )
    .await;
    assert_eq!(ok_data(&edited)["editMessage"]["mentions"], json!([]));
    assert_eq!(mention_count(&app, &bob, &s).await, 0);
    let listed = gql(&app, &bob, MENTIONS, json!({})).await;
    assert_eq!(ok_data(&listed)["mentions"]["nodes"], json!([]));
    gql(
        &app,
        &carol,
        "mutation($s: ID!) { markRead(sessionId: $s, upTo: 100) { id } }",
        json!({ "s": s }),
    )
    .await;
    assert_eq!(mention_count(&app, &carol, &s).await, 0);

    // Too many ids is refused, and nothing is stored.
    let many: Vec<String> = (0..51).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let before = app.fingerprint().await;
    let r = gql(
        &app,
        &alice,
        "mutation($s: ID!, $m: [ID!]) { sendMessage(input: {sessionId: $s, body: \"x\", mentionIds: $m}) { id } }",
        json!({ "s": s, "m": many }),
    )
    .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    assert_eq!(app.fingerprint().await, before);
}

const BLOCK: &str = "mutation($u: ID!) { blockUser(userId: $u) { id blockedByViewer } }";
const UNBLOCK: &str = "mutation($u: ID!) { unblockUser(userId: $u) { id blockedByViewer } }";

#[tokio::test(flavor = "multi_thread")]
async fn a_blocked_user_cannot_reach_the_blocker_directly_or_find_them() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let existing = direct(&app, &alice, &carol).await;
    send(&app, &carol, &existing, "hi alice").await;

    let r = gql(&app, &alice, BLOCK, json!({ "u": bob.id })).await;
    assert_eq!(ok_data(&r)["blockUser"]["blockedByViewer"], true);
    ok_data(&gql(&app, &alice, BLOCK, json!({ "u": carol.id })).await);
    let r = gql(&app, &alice, BLOCK, json!({ "u": alice.id })).await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let listed = gql(
        &app,
        &alice,
        "{ blockedUsers { nodes { user { username } blockedAt } } }",
        json!({}),
    )
    .await;
    let names: Vec<&str> = ok_data(&listed)["blockedUsers"]["nodes"]
        .as_array()
        .expect("blocks")
        .iter()
        .filter_map(|n| n["user"]["username"].as_str())
        .collect();
    assert_eq!(names, ["carol", "bob"], "most recent first");

    let before = app.fingerprint().await;
    // No new direct conversation, no message into the existing one, either way round.
    let r = gql(
        &app,
        &bob,
        "mutation($u: ID!) { startDirectSession(userId: $u) { id } }",
        json!({ "u": alice.id }),
    )
    .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let refused = send_raw(&app, &carol, &existing, "hello?").await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");
    let message = refused["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        !message.contains("block"),
        "tells the blocked no more than needed: {message}"
    );
    let own = send_raw(&app, &alice, &existing, "hello?").await;
    assert_eq!(error_code(&own), Some("FORBIDDEN"), "{own}");
    // Nor reactions or typing notices, either way round.
    let hello = gql(
        &app,
        &carol,
        "query($s: ID!) { session(id: $s) { messages { nodes { id } } } }",
        json!({ "s": existing }),
    )
    .await;
    let first = ok_data(&hello)["session"]["messages"]["nodes"][0]["id"].clone();
    let r = gql(&app, &carol, ADD, json!({ "m": first, "e": "👍" })).await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let r = gql(
        &app,
        &carol,
        "mutation($s: ID!) { typing(sessionId: $s) }",
        json!({ "s": existing }),
    )
    .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    assert_eq!(
        app.fingerprint().await,
        before,
        "refused sends stored nothing"
    );

    // Search: bob does not find alice; alice (the blocker) still finds bob.
    let found = gql(
        &app,
        &bob,
        "{ users(search: \"ali\") { nodes { username } } }",
        json!({}),
    )
    .await;
    assert_eq!(ok_data(&found)["users"]["nodes"], json!([]), "{found}");
    let found = gql(
        &app,
        &alice,
        "{ users(search: \"bo\") { nodes { username } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        ok_data(&found)["users"]["nodes"],
        json!([{ "username": "bob" }])
    );

    // Unblocked: back to normal.
    let r = gql(&app, &alice, UNBLOCK, json!({ "u": carol.id })).await;
    assert_eq!(ok_data(&r)["unblockUser"]["blockedByViewer"], false);
    send(&app, &carol, &existing, "hello again").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn in_groups_blocked_senders_are_marked_and_cannot_mention_the_blocker() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let s = group(&app, &carol, "Club", &[&alice, &bob]).await;
    ok_data(&gql(&app, &alice, BLOCK, json!({ "u": bob.id })).await);
    let mut alice_ws = listen(&app, &alice, None).await;

    let sent = gql(
        &app,
        &bob,
        "mutation($s: ID!) { sendMessage(input: {sessionId: $s, body: \"@alice @carol look\"}) { id mentions { username } } }",
        json!({ "s": s }),
    )
    .await;
    assert_eq!(
        ok_data(&sent)["sendMessage"]["mentions"],
        json!([{ "username": "carol" }])
    );
    let e = next(&mut alice_ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["notice"].as_str()),
        (Some("MESSAGE_CREATED"), Some("NONE")),
        "{e}"
    );
    alice_ws.expect_quiet(Duration::from_millis(300)).await;

    let history = "query($s: ID!) { session(id: $s) { messages { nodes { senderBlocked } } } }";
    let seen = gql(&app, &alice, history, json!({ "s": s })).await;
    assert_eq!(
        ok_data(&seen)["session"]["messages"]["nodes"],
        json!([{ "senderBlocked": true }])
    );
    let seen = gql(&app, &carol, history, json!({ "s": s })).await;
    assert_eq!(
        ok_data(&seen)["session"]["messages"]["nodes"],
        json!([{ "senderBlocked": false }])
    );
}

const MUTE: &str =
    "mutation($s: ID!, $u: DateTime) { muteSession(sessionId: $s, until: $u) { id mutedUntil } }";

#[tokio::test(flavor = "multi_thread")]
async fn muted_conversations_keep_their_place_and_raise_no_notices() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let quiet = group(&app, &bob, "Noisy", &[&alice]).await;
    let other = direct(&app, &carol, &alice).await;
    send(&app, &carol, &other, "first").await;
    send(&app, &bob, &quiet, "newest").await;

    let before = app.fingerprint().await;
    for until in [json!("2000-01-01T00:00:00Z"), json!("2999-01-01T00:00:00Z")] {
        let r = gql(&app, &alice, MUTE, json!({ "s": quiet, "u": until })).await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    }
    assert_eq!(app.fingerprint().await, before);

    let in_an_hour = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let r = gql(&app, &alice, MUTE, json!({ "s": quiet, "u": in_an_hour })).await;
    assert!(ok_data(&r)["muteSession"]["mutedUntil"].is_string(), "{r}");
    let r = gql(&app, &alice, MUTE, json!({ "s": quiet })).await;
    assert_eq!(
        ok_data(&r)["muteSession"]["mutedUntil"],
        "9999-12-31T23:59:59+00:00"
    );

    // Still first in the inbox, counts as before; no notice for its messages, even a mention.
    let mut ws = listen(&app, &alice, None).await;
    send(&app, &bob, &quiet, "@alice still here").await;
    let e = next(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["notice"].as_str()),
        (Some("MESSAGE_CREATED"), Some("NONE")),
        "{e}"
    );
    assert_eq!(next(&mut ws).await["kind"], "MENTIONED");
    let inbox = gql(
        &app,
        &alice,
        "{ sessions { nodes { id unreadCount unreadMentionCount mutedUntil } } }",
        json!({}),
    )
    .await;
    let nodes = &ok_data(&inbox)["sessions"]["nodes"];
    assert_eq!(nodes[0]["id"], quiet.as_str());
    assert_eq!(
        (
            nodes[0]["unreadCount"].as_i64(),
            nodes[0]["unreadMentionCount"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert!(nodes[1]["mutedUntil"].is_null());

    let r = gql(
        &app,
        &alice,
        "mutation($s: ID!) { unmuteSession(sessionId: $s) { mutedUntil } }",
        json!({ "s": quiet }),
    )
    .await;
    assert!(ok_data(&r)["unmuteSession"]["mutedUntil"].is_null(), "{r}");
    send(&app, &bob, &quiet, "loud again").await;
    let e = next(&mut ws).await;
    assert_eq!(e["notice"], "MESSAGE", "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn blocks_stop_at_the_limit_even_when_two_arrive_at_once() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    // 999 blocks already: room for one more.
    let mut conn = app.db.connect().await;
    use diesel_async::SimpleAsyncConnection;
    conn.batch_execute(&format!(
        "INSERT INTO users (id, username, display_name, password_hash) \
         SELECT gen_random_uuid(), 'filler' || n, 'Filler', 'x' FROM generate_series(1, 999) n; \
         INSERT INTO user_blocks (blocker_id, blocked_id) \
         SELECT '{}', id FROM users WHERE username LIKE 'filler%';",
        alice.id
    ))
    .await
    .expect("999 blocks");
    let (a, b) = tokio::join!(
        gql(&app, &alice, BLOCK, json!({ "u": bob.id })),
        gql(&app, &alice, BLOCK, json!({ "u": carol.id })),
    );
    let codes = [error_code(&a), error_code(&b)];
    assert!(
        codes.contains(&None) && codes.contains(&Some("BAD_USER_INPUT")),
        "one fits, one is refused: {a} {b}"
    );
    assert_eq!(app.count("user_blocks").await, 1000);
}
