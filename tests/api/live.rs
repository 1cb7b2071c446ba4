//! Live events over real sockets: every kind, resuming from a cursor, authorization on every
//! event, slow subscribers, sign-outs, shutdown, and fan-out across servers through Redis.

use std::time::Duration;

use serde_json::{Value, json};

use crate::chat::{direct, group, send};
use messenger::events::Hub;

use crate::harness::{
    ServerProcess, TestApp, TestDb, TestRedis, TestUser, error_code, ok_data, serve_router,
    serve_router_with_small_send_buffer,
};
use crate::wsclient::{Frame, WsClient};

const EVENTS: &str = "subscription($a: String) { events(after: $a) { cursor kind sessionId session { id } actor { username } user { username } message { seq body } readUpTo title role } }";
const SESSION_EVENTS: &str = "subscription($s: ID!, $a: String) { sessionEvents(sessionId: $s, after: $a) { cursor kind message { body } } }";

async fn listen(
    hub: &Hub,
    addr: std::net::SocketAddr,
    user: &TestUser,
    after: Option<&str>,
) -> WsClient {
    let mut ws = WsClient::connect(addr, "graphql-transport-ws").await;
    ws.init(Some(&user.access)).await;
    ws.subscribe_live(hub, "e", EVENTS, json!({ "a": after }))
        .await;
    ws
}

async fn next(ws: &mut WsClient) -> Value {
    ws.next_event("e", "events").await
}

/// Waits until the pump has read every event committed so far.
async fn settle(app: &TestApp) {
    app.state.hub.settle().await.expect("pump settles");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_event_kind_reaches_the_members() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let addr = app.serve().await;
    let mut ws = listen(&app.state.hub, addr, &alice, None).await;
    settle(&app).await;

    let d = direct(&app, &bob, &alice).await;
    let e = next(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["sessionId"].as_str()),
        (Some("SESSION_CREATED"), Some(d.as_str())),
        "{e}"
    );

    let m = send(&app, &bob, &d, "hello alice").await;
    let e = next(&mut ws).await;
    assert_eq!(e["kind"], "MESSAGE_CREATED");
    assert_eq!(e["message"]["body"], "hello alice");
    assert_eq!(e["actor"]["username"], "bob");

    app.gql(
        Some(&bob.access),
        "mutation($id: ID!) { editMessage(id: $id, body: \"hello, alice\") { id } }",
        json!({ "id": m["id"] }),
    )
    .await;
    let e = next(&mut ws).await;
    assert_eq!(e["kind"], "MESSAGE_EDITED");
    assert_eq!(e["message"]["body"], "hello, alice");

    app.gql(
        Some(&bob.access),
        "mutation($id: ID!) { deleteMessage(id: $id) { id } }",
        json!({ "id": m["id"] }),
    )
    .await;
    let e = next(&mut ws).await;
    assert_eq!(e["kind"], "MESSAGE_DELETED");
    assert!(e["message"]["body"].is_null(), "{e}");

    send(&app, &alice, &d, "are you there?").await;
    assert_eq!(next(&mut ws).await["kind"], "MESSAGE_CREATED");
    app.gql(
        Some(&bob.access),
        "mutation($s: ID!) { markRead(sessionId: $s, upTo: 2) { id } }",
        json!({ "s": d }),
    )
    .await;
    let e = next(&mut ws).await;
    assert_eq!(e["kind"], "READ_MARKER");
    assert_eq!(e["user"]["username"], "bob");
    assert_eq!(e["readUpTo"], 2);

    let typing = app
        .gql(
            Some(&bob.access),
            "mutation($s: ID!) { typing(sessionId: $s) }",
            json!({ "s": d }),
        )
        .await;
    assert_eq!(typing["data"]["typing"], true, "{typing}");
    let e = next(&mut ws).await;
    assert_eq!(e["kind"], "TYPING");
    assert_eq!(e["user"]["username"], "bob");
    assert_eq!(e["sessionId"], d);

    let g = group(&app, &bob, "Club", &[&alice]).await;
    let e = next(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["sessionId"].as_str()),
        (Some("SESSION_CREATED"), Some(g.as_str()))
    );

    let add =
        "mutation($s: ID!, $u: [ID!]!) { addSessionMembers(sessionId: $s, userIds: $u) { id } }";
    app.gql(Some(&bob.access), add, json!({ "s": g, "u": [carol.id] }))
        .await;
    let e = next(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["user"]["username"].as_str()),
        (Some("MEMBER_ADDED"), Some("carol"))
    );

    app.gql(
        Some(&bob.access),
        "mutation($s: ID!) { renameSession(sessionId: $s, title: \"Book club\") { id } }",
        json!({ "s": g }),
    )
    .await;
    let e = next(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["title"].as_str()),
        (Some("SESSION_RENAMED"), Some("Book club"))
    );

    app.gql(Some(&bob.access), "mutation($s: ID!, $u: ID!) { setSessionMemberRole(sessionId: $s, userId: $u, role: ADMIN) { id } }", json!({ "s": g, "u": alice.id })).await;
    let e = next(&mut ws).await;
    assert_eq!(
        (
            e["kind"].as_str(),
            e["role"].as_str(),
            e["user"]["username"].as_str()
        ),
        (Some("MEMBER_ROLE_CHANGED"), Some("ADMIN"), Some("alice"))
    );

    app.gql(
        Some(&bob.access),
        "mutation($s: ID!, $u: ID!) { removeSessionMember(sessionId: $s, userId: $u) { id } }",
        json!({ "s": g, "u": carol.id }),
    )
    .await;
    let e = next(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["user"]["username"].as_str()),
        (Some("MEMBER_REMOVED"), Some("carol"))
    );

    app.gql(Some(&bob.access), add, json!({ "s": g, "u": [carol.id] }))
        .await;
    assert_eq!(next(&mut ws).await["kind"], "MEMBER_ADDED");
    app.gql(
        Some(&carol.access),
        "mutation($s: ID!) { leaveSession(sessionId: $s) }",
        json!({ "s": g }),
    )
    .await;
    let e = next(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["user"]["username"].as_str()),
        (Some("MEMBER_LEFT"), Some("carol"))
    );

    // Every event carried a cursor.
    assert!(e["cursor"].as_str().is_some_and(|c| !c.is_empty()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reconnecting_client_gets_exactly_what_it_missed_then_live_events() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    let d = direct(&app, &alice, &bob).await;
    let elsewhere = direct(&app, &bob, &eve).await;
    let addr = app.serve().await;

    let mut ws = listen(&app.state.hub, addr, &alice, None).await;
    settle(&app).await;
    send(&app, &bob, &d, "m1").await;
    let first = next(&mut ws).await;
    assert_eq!(first["message"]["body"], "m1");
    let cursor = first["cursor"].as_str().expect("cursor").to_owned();
    drop(ws);

    // While she is away: three messages to her, one she must not see.
    for body in ["m2", "m3"] {
        send(&app, &bob, &d, body).await;
    }
    send(&app, &bob, &elsewhere, "not for alice").await;
    send(&app, &alice, &d, "m4").await;

    let mut ws = listen(&app.state.hub, addr, &alice, Some(&cursor)).await;
    let mut replayed = Vec::new();
    for _ in 0..3 {
        replayed.push(next(&mut ws).await["message"]["body"].clone());
    }
    assert_eq!(replayed, [json!("m2"), json!("m3"), json!("m4")]);
    // Then live, with nothing repeated at the seam.
    send(&app, &bob, &d, "m5").await;
    assert_eq!(next(&mut ws).await["message"]["body"], "m5");
    ws.expect_quiet(Duration::from_millis(300)).await;

    // The per-session stream resumes the same way.
    let mut one = WsClient::connect(addr, "graphql-transport-ws").await;
    one.init(Some(&alice.access)).await;
    one.subscribe("s", SESSION_EVENTS, json!({ "s": d, "a": cursor }))
        .await;
    let bodies: Vec<Value> = {
        let mut out = Vec::new();
        for _ in 0..4 {
            out.push(one.next_event("s", "sessionEvents").await["message"]["body"].clone());
        }
        out
    };
    assert_eq!(bodies, [json!("m2"), json!("m3"), json!("m4"), json!("m5")]);
}

/// A client that loads state with queries and then subscribes misses whatever happens in
/// between unless it subscribes from `eventsCursor`, read before its queries.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_subscribes_from_events_cursor_misses_nothing_after_its_queries() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let d = direct(&app, &alice, &bob).await;
    send(&app, &bob, &d, "already in her history").await;
    let addr = app.serve().await;
    settle(&app).await;

    let anonymous = app.gql(None, "{ eventsCursor }", json!({})).await;
    assert_eq!(
        error_code(&anonymous),
        Some("UNAUTHENTICATED"),
        "{anonymous}"
    );

    // Alice's client: the cursor, then the history it shows.
    let answer = app
        .gql(Some(&alice.access), "{ eventsCursor }", json!({}))
        .await;
    let cursor = ok_data(&answer)["eventsCursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    let history = app
        .gql(
            Some(&alice.access),
            "query($s: ID!) { session(id: $s) { messages(last: 10) { nodes { body } } } }",
            json!({ "s": d }),
        )
        .await;
    assert_eq!(
        ok_data(&history)["session"]["messages"]["nodes"],
        json!([{ "body": "already in her history" }])
    );
    // Before her socket subscribes: a message, and a new conversation.
    send(&app, &bob, &d, "between her query and her socket").await;
    let g = group(&app, &carol, "new", &[&alice]).await;
    settle(&app).await;

    let mut from_now = listen(&app.state.hub, addr, &alice, None).await;
    let mut from_cursor = listen(&app.state.hub, addr, &alice, Some(&cursor)).await;
    let e = next(&mut from_cursor).await;
    assert_eq!(
        (e["kind"].as_str(), e["message"]["body"].as_str()),
        (
            Some("MESSAGE_CREATED"),
            Some("between her query and her socket")
        ),
        "{e}"
    );
    let e = next(&mut from_cursor).await;
    assert_eq!(
        (e["kind"].as_str(), e["sessionId"].as_str()),
        (Some("SESSION_CREATED"), Some(g.as_str())),
        "{e}"
    );
    // Then live, on both; the stream without a cursor never had the two above.
    send(&app, &bob, &d, "live").await;
    for ws in [&mut from_cursor, &mut from_now] {
        assert_eq!(next(ws).await["message"]["body"], "live");
        ws.expect_quiet(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn resuming_replays_what_was_seen_as_a_member_at_the_time() {
    // Found by the randomised test: a replay went by the viewer's sessions at the time of
    // resuming, so a group joined and left while away showed only the joining and leaving,
    // and a group left while away lost the messages from before the leaving.
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let left_later = group(&app, &bob, "left later", &[&alice]).await;
    let joined_later = group(&app, &bob, "joined later", &[&carol]).await;
    let d = direct(&app, &alice, &bob).await;
    let addr = app.serve().await;

    let mut ws = listen(&app.state.hub, addr, &alice, None).await;
    send(&app, &bob, &d, "before").await;
    let cursor = next(&mut ws).await["cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    drop(ws);

    // While she is away: she hears from the group she is in, then leaves it; she is added
    // to another group, hears from it, and is removed.
    send(&app, &bob, &left_later, "to the group she leaves").await;
    ok_data(
        &app.gql(
            Some(&alice.access),
            "mutation($s: ID!) { leaveSession(sessionId: $s) }",
            json!({ "s": left_later }),
        )
        .await,
    );
    send(&app, &bob, &left_later, "after she left").await;
    ok_data(
        &app.gql(
            Some(&bob.access),
            "mutation($s: ID!, $u: [ID!]!) { addSessionMembers(sessionId: $s, userIds: $u) { id } }",
            json!({ "s": joined_later, "u": [alice.id] }),
        )
        .await,
    );
    send(&app, &carol, &joined_later, "while she is in").await;
    ok_data(
        &app.gql(
            Some(&bob.access),
            "mutation($s: ID!, $u: ID!) { removeSessionMember(sessionId: $s, userId: $u) { id } }",
            json!({ "s": joined_later, "u": alice.id }),
        )
        .await,
    );
    send(&app, &carol, &joined_later, "after she was removed").await;

    let mut ws = listen(&app.state.hub, addr, &alice, Some(&cursor)).await;
    let mut replayed = Vec::new();
    for _ in 0..5 {
        let e = next(&mut ws).await;
        replayed.push(format!(
            "{} {}",
            e["kind"].as_str().unwrap_or_default(),
            e["message"]["body"].as_str().unwrap_or_default()
        ));
    }
    assert_eq!(
        replayed,
        [
            "MESSAGE_CREATED to the group she leaves",
            "MEMBER_LEFT ",
            "MEMBER_ADDED ",
            "MESSAGE_CREATED while she is in",
            "MEMBER_REMOVED ",
        ]
    );
    ws.expect_quiet(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_and_pruned_cursors_get_typed_answers() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let d = direct(&app, &alice, &bob).await;
    let addr = app.serve().await;
    let mut ws = listen(&app.state.hub, addr, &alice, None).await;
    settle(&app).await;
    send(&app, &bob, &d, "old").await;
    let cursor = next(&mut ws).await["cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    send(&app, &bob, &d, "newer").await;
    next(&mut ws).await;

    // A tampered cursor is a typed error on that operation.
    let mut bad = WsClient::connect(addr, "graphql-transport-ws").await;
    bad.init(Some(&alice.access)).await;
    bad.subscribe("e", EVENTS, json!({ "a": "not-a-cursor" }))
        .await;
    assert_eq!(bad.next_error_code("e").await, "BAD_USER_INPUT");

    // Events older than the retention are pruned: resuming from before them gets RESYNC.
    let mut conn = app.db.connect().await;
    messenger::models::event::prune(&mut conn, chrono::Utc::now() + chrono::Duration::seconds(5))
        .await
        .expect("pruning");
    let mut late = listen(&app.state.hub, addr, &alice, Some(&cursor)).await;
    let e = next(&mut late).await;
    assert_eq!(e["kind"], "RESYNC", "{e}");
    assert!(e["cursor"].is_string());
    let metrics = app
        .state
        .metrics
        .render(messenger::metrics::Sample::default());
    assert!(
        metrics.contains("messenger_events_resync_total 1\n"),
        "{metrics}"
    );
    // And then live events flow.
    send(&app, &bob, &d, "after resync").await;
    assert_eq!(next(&mut late).await["message"]["body"], "after resync");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_member_stops_receiving_at_once() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let carol = app.register("carol").await;
    let g = group(&app, &owner, "Team", &[&carol]).await;
    let other = direct(&app, &owner, &carol).await;
    let addr = app.serve().await;
    let mut ws = listen(&app.state.hub, addr, &carol, None).await;
    let mut scoped = WsClient::connect(addr, "graphql-transport-ws").await;
    scoped.init(Some(&carol.access)).await;
    scoped
        .subscribe_live(&app.state.hub, "s", SESSION_EVENTS, json!({ "s": g }))
        .await;
    settle(&app).await;

    send(&app, &owner, &g, "before").await;
    let e = next(&mut ws).await;
    assert_eq!(e["message"]["body"], "before");
    assert_eq!(e["session"]["id"], g, "a member sees the session: {e}");
    assert_eq!(
        scoped.next_event("s", "sessionEvents").await["message"]["body"],
        "before"
    );

    app.gql(
        Some(&owner.access),
        "mutation($s: ID!, $u: ID!) { removeSessionMember(sessionId: $s, userId: $u) { id } }",
        json!({ "s": g, "u": carol.id }),
    )
    .await;
    let e = next(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["user"]["username"].as_str()),
        (Some("MEMBER_REMOVED"), Some("carol"))
    );
    // Her view of the session is gone.
    assert!(e["session"].is_null(), "{e}");
    // The per-session stream tells her, then completes.
    assert_eq!(
        scoped.next_event("s", "sessionEvents").await["kind"],
        "MEMBER_REMOVED"
    );
    assert_eq!(
        scoped.next().await,
        Frame::Json(json!({ "type": "complete", "id": "s" }))
    );

    send(&app, &owner, &g, "after").await;
    send(&app, &owner, &other, "still friends").await;
    // The next thing she hears is from the session she is still in.
    assert_eq!(next(&mut ws).await["message"]["body"], "still friends");

    // A non-member cannot subscribe to the session.
    let mut outsider = WsClient::connect(addr, "graphql-transport-ws").await;
    outsider.init(Some(&carol.access)).await;
    outsider
        .subscribe("s", SESSION_EVENTS, json!({ "s": g }))
        .await;
    // The subscription never starts: an `error` for the operation, not a broken event.
    assert_eq!(outsider.next_error_code("s").await, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscriber_that_falls_behind_is_told_where_to_resume() {
    let app = TestApp::spawn_with(|c| c.event_buffer = 4).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let d = direct(&app, &alice, &bob).await;
    let addr = serve_router_with_small_send_buffer(app.router.clone()).await;
    // A slow reader: a tiny receive buffer, and it does not read for a while.
    let mut ws = WsClient::connect_with(addr, "graphql-transport-ws", Some(2048)).await;
    ws.init(Some(&alice.access)).await;
    ws.subscribe_live(&app.state.hub, "e", EVENTS, json!({}))
        .await;
    let body = "x".repeat(4000);
    for _ in 0..60 {
        send(&app, &bob, &d, &body).await;
    }
    // Now read: some messages, then LAGGED with a cursor, then the stream ends.
    let mut received = 0;
    let lagged = loop {
        let e = next(&mut ws).await;
        if e["kind"] == "LAGGED" {
            break e;
        }
        assert_eq!(e["kind"], "MESSAGE_CREATED", "{e}");
        received += 1;
        assert!(received < 60, "received all {received}: never lagged");
    };
    assert_eq!(
        ws.next().await,
        Frame::Json(json!({ "type": "complete", "id": "e" }))
    );
    // Operators see it.
    let metrics = app
        .state
        .metrics
        .render(messenger::metrics::Sample::default());
    assert!(
        metrics.contains("messenger_events_lagged_total 1\n"),
        "{metrics}"
    );
    // Resuming from the lag cursor delivers the rest, without loss.
    let cursor = lagged["cursor"].as_str().expect("cursor");
    let mut again = listen(&app.state.hub, addr, &alice, Some(cursor)).await;
    let mut rest = 0;
    while received + rest < 60 {
        let Some(Frame::Json(v)) = again.next_within(Duration::from_secs(5)).await else {
            panic!(
                "resumed stream stopped after {rest} (first stream had {received}, lagged at {lagged})"
            );
        };
        assert_eq!((&v["type"], &v["id"]), (&json!("next"), &json!("e")), "{v}");
        let e = v["payload"]["data"]["events"].clone();
        // The lag may have come before the first message: resuming from there may also
        // bring the session's creation, which committed just before the first subscription.
        if e["kind"] == "SESSION_CREATED" {
            continue;
        }
        assert_eq!(e["kind"], "MESSAGE_CREATED", "{e}");
        rest += 1;
    }
    again.expect_quiet(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expiring_access_token_closes_its_socket_with_4403() {
    let app = TestApp::spawn_with(|c| c.access_token_ttl = Duration::from_secs(2)).await;
    let bob = app.register("bob").await;
    let addr = app.serve().await;
    let mut ws = listen(&app.state.hub, addr, &bob, None).await;
    assert_eq!(
        ws.expect_close(4403).await,
        "Forbidden: access token expired"
    );
}

/// The reason a socket closes with when its sign-in ends or its user is deactivated (an
/// expiring token closes with 4403 too, but says so).
const KICKED: &str = "Forbidden: signed out or deactivated";

#[tokio::test(flavor = "multi_thread")]
async fn logout_and_deactivation_close_sockets_with_4403_at_once() {
    let app = TestApp::spawn().await;
    // The tokens outlive the test: only the kick can close these sockets.
    assert!(app.state.config.access_token_ttl >= Duration::from_secs(600));
    let admin = app.register_admin("boss").await;
    let addr = app.serve().await;

    // Logout of a sign-in closes its sockets.
    let carol = app.register("carol").await;
    let mut ws = listen(&app.state.hub, addr, &carol, None).await;
    let out = app
        .gql(
            None,
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": carol.refresh }),
        )
        .await;
    assert_eq!(ok_data(&out)["logout"], true, "{out}");
    assert_eq!(ws.expect_close(4403).await, KICKED);

    // Deactivation closes every socket of the user.
    let dave = app.register("dave").await;
    let mut ws = listen(&app.state.hub, addr, &dave, None).await;
    let deactivated = app
        .gql(
            Some(&admin.access),
            "mutation($id: ID!) { deactivateUser(id: $id) { id } }",
            json!({ "id": dave.id }),
        )
        .await;
    assert_eq!(ok_data(&deactivated)["deactivateUser"]["id"], dave.id);
    assert_eq!(ws.expect_close(4403).await, KICKED);
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_flushes_and_closes_with_going_away() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let d = direct(&app, &alice, &bob).await;
    let addr = app.serve().await;
    let mut ws = listen(&app.state.hub, addr, &alice, None).await;
    settle(&app).await;
    send(&app, &bob, &d, "last words").await;
    app.state.hub.shutdown();
    assert_eq!(next(&mut ws).await["message"]["body"], "last words");
    assert_eq!(ws.expect_close(1001).await, "Going away");
}

#[tokio::test(flavor = "multi_thread")]
async fn typing_is_rate_limited_and_needs_membership() {
    let app = TestApp::spawn_with(|c| c.typing_per_minute = 2).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    let d = direct(&app, &alice, &bob).await;
    let typing = "mutation($s: ID!) { typing(sessionId: $s) }";
    for _ in 0..2 {
        let ok = app.gql(Some(&bob.access), typing, json!({ "s": d })).await;
        assert_eq!(ok["data"]["typing"], true);
    }
    let limited = app.gql(Some(&bob.access), typing, json!({ "s": d })).await;
    assert_eq!(error_code(&limited), Some("RATE_LIMITED"));
    let outsider = app.gql(Some(&eve.access), typing, json!({ "s": d })).await;
    assert_eq!(error_code(&outsider), Some("NOT_FOUND"));
    // Nothing was stored.
    assert_eq!(
        app.count("events").await,
        2,
        "only the two SESSION_CREATED events of the direct session"
    );
}

/// Two servers on one database and one Redis: a client on B hears what was sent through A,
/// with polling effectively off, so only Redis can carry it. Then Redis goes away: sends still
/// succeed and are stored, and once Redis is back, the rest is delivered.
#[tokio::test(flavor = "multi_thread")]
async fn events_cross_servers_through_redis_and_survive_its_restart() {
    let Some(mut redis) = TestRedis::start() else {
        return;
    };
    let url = redis.url();
    let app = TestApp::spawn_with(|c| {
        c.redis_url = Some(url);
        c.event_poll = Duration::from_secs(600);
    })
    .await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let d = direct(&app, &alice, &bob).await;
    let state_b = app.second_node_state();
    let node_b = serve_router(messenger::build_app(state_b.clone())).await;
    let mut ws = listen(&state_b.hub, node_b, &alice, None).await;
    // Both servers' buses are subscribed: what A publishes from now on, B hears.
    redis
        .wait_for_subscribers(&app.state.config.redis_channel, 2)
        .await;

    send(&app, &bob, &d, "through redis").await;
    assert_eq!(next(&mut ws).await["message"]["body"], "through redis");

    redis.stop();
    for i in 0..3 {
        let sent = send(&app, &bob, &d, &format!("while down {i}")).await;
        assert!(sent["id"].is_string());
    }
    let stored_before = app.count("messages").await;
    redis.restart().expect("restarting Redis");
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next(&mut ws).await["message"]["body"].clone());
    }
    assert_eq!(
        got,
        [
            json!("while down 0"),
            json!("while down 1"),
            json!("while down 2")
        ]
    );
    assert_eq!(app.count("messages").await, stored_before);
    send(&app, &bob, &d, "after restart").await;
    assert_eq!(next(&mut ws).await["message"]["body"], "after restart");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_server_processes_deliver_across_through_redis() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("messenger-two-{}", uuid::Uuid::now_v7()));
    let a = ServerProcess::start(&db.url, &redis.url(), &dir.join("a"));
    let b = ServerProcess::start(&db.url, &redis.url(), &dir.join("b"));
    // Both buses are subscribed: what A publishes from now on, B hears.
    let channel = messenger::config::Config::default().redis_channel;
    redis.wait_for_subscribers(&channel, 2).await;

    let register = "mutation($u: String!) { register(input: {username: $u, password: \"password1\", displayName: $u}) { accessToken user { id } } }";
    let alice = a.gql(None, register, json!({ "u": "alice" })).await;
    let alice = &ok_data(&alice)["register"];
    let bob = a.gql(None, register, json!({ "u": "bob" })).await;
    let bob_token = ok_data(&bob)["register"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let started = a
        .gql(
            Some(&bob_token),
            "mutation($u: ID!) { startDirectSession(userId: $u) { id } }",
            json!({ "u": alice["user"]["id"] }),
        )
        .await;
    let session = ok_data(&started)["startDirectSession"]["id"].clone();

    // Alice listens on B from the start of the log: B replays the session's creation from
    // the database, and its arrival says her subscription is set up there.
    let mut ws = WsClient::connect(b.addr, "graphql-transport-ws").await;
    ws.init(alice["accessToken"].as_str()).await;
    let start = messenger::events::encode_cursor(Default::default());
    ws.subscribe("e", EVENTS, json!({ "a": start })).await;
    let created = next(&mut ws).await;
    assert_eq!(
        (created["kind"].as_str(), &created["sessionId"]),
        (Some("SESSION_CREATED"), &session),
        "{created}"
    );

    // Bob sends through A: it reaches Alice on B only through Redis.
    let sent = a
        .gql(
            Some(&bob_token),
            "mutation($s: ID!, $b: String!) { sendMessage(input: {sessionId: $s, body: $b}) { id } }",
            json!({ "s": session, "b": "through redis" }),
        )
        .await;
    ok_data(&sent);
    let e = next(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["message"]["body"].as_str()),
        (Some("MESSAGE_CREATED"), Some("through redis")),
        "{e}"
    );
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}
