//! The inbox: its order across many conversations, and its cost (its SQL statements do not
//! grow with its page sizes).

use diesel::QueryableByName;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use serde_json::json;

use crate::attachments::uploaded;
use crate::chat::{direct, group, send};
use crate::harness::{TestApp, TestUser, follow_pages, ok_data};

const INBOX: &str = "query($s: Int!, $m: Int!) { sessions(first: $s) { edges { cursor node { id kind title unreadCount unreadMentionCount mutedUntil viewerReadUpTo members { role user { id username displayName } } lastMessage { id body sender { username } replyTo { id } reactions { emoji count reactedByViewer } mentions { username } senderBlocked attachments { id kind filename thumbnailUrl } } messages(last: $m) { edges { node { id seq body createdAt sender { id username } replyTo { id } reactions { emoji count reactedByViewer } mentions { username } senderBlocked attachments { id kind filename thumbnailUrl } } } pageInfo { hasPreviousPage } } } } } }";

async fn statements_for(
    app: &TestApp,
    viewer: &TestUser,
    sessions: i32,
    messages: i32,
    first_session: &str,
) -> (u64, usize) {
    let before = app.statements.get();
    let response = app
        .gql(
            Some(&viewer.access),
            INBOX,
            json!({ "s": sessions, "m": messages }),
        )
        .await;
    assert!(response["errors"].is_null(), "{response}");
    let used = app.statements.get() - before;
    let edges = response["data"]["sessions"]["edges"]
        .as_array()
        .expect("edges");
    assert_eq!(edges.len(), sessions as usize, "{response}");
    for edge in edges {
        // Each session ends with a reply to its first message: the last message and the
        // newest of its history both show what they answer.
        let node = &edge["node"];
        let answered = &node["lastMessage"]["replyTo"]["id"];
        assert!(answered.is_string(), "{node}");
        let newest = node["messages"]["edges"]
            .as_array()
            .and_then(|page| page.last())
            .expect("history");
        assert_eq!(&newest["node"]["replyTo"]["id"], answered, "{node}");
        // The reply carries the viewer's reaction; the friend's first message mentions them.
        assert_eq!(
            node["lastMessage"]["reactions"],
            json!([{ "emoji": "👍", "count": 1, "reactedByViewer": true }]),
            "{node}"
        );
        assert_eq!(node["lastMessage"]["senderBlocked"], false, "{node}");
        if node["id"] == first_session {
            assert_eq!(
                node["lastMessage"]["attachments"][0]["kind"], "IMAGE",
                "{node}"
            );
            assert!(node["lastMessage"]["attachments"][0]["thumbnailUrl"].is_string());
        }
        assert!(node["unreadMentionCount"].as_i64() >= Some(0), "{node}");
    }
    assert!(
        sessions < 20 || edges.iter().any(|e| e["node"]["id"] == first_session),
        "the session with a picture is in the full inbox"
    );
    let mentioned = edges.iter().any(|e| {
        e["node"]["messages"]["edges"]
            .as_array()
            .is_some_and(|page| {
                page.iter()
                    .any(|m| m["node"]["mentions"] == json!([{ "username": "myself" }]))
            })
    });
    assert!(mentioned || sessions < 20, "no mention in the whole inbox");
    let shown = edges
        .iter()
        .map(|e| {
            e["node"]["messages"]["edges"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum();
    (used, shown)
}

#[tokio::test(flavor = "multi_thread")]
async fn inbox_round_trips_do_not_grow_with_page_sizes() {
    let app = TestApp::spawn().await;
    let me = app.register("myself").await;
    let mut friends = Vec::new();
    for i in 0..6 {
        friends.push(app.register(&format!("friend{i}")).await);
    }
    // 20 sessions: direct ones and groups, each with a few messages, some replies.
    let mut sessions = Vec::new();
    for friend in &friends {
        sessions.push(direct(&app, &me, friend).await);
    }
    for i in 0..14 {
        let members: Vec<&TestUser> = friends.iter().skip(i % 3).take(3).collect();
        sessions.push(
            group(
                &app,
                &friends[i % 6],
                &format!("Group {i}"),
                &[&me, members[0], members[1]],
            )
            .await,
        );
    }
    for (i, s) in sessions.iter().enumerate() {
        let mut first = None;
        for j in 0..(3 + i % 4) {
            // Direct sessions alternate authors; groups hear from me and their owner.
            let author = if j % 2 == 0 { &me } else { &friends[i % 6] };
            let sent = send(&app, author, s, &format!("@myself message {j} in {i}")).await;
            first.get_or_insert(sent["id"].clone());
        }
        // Every session ends with a reply, so every page of history holds one; the first
        // session's carries a picture.
        let author = &friends[i % 6];
        let attachments = if i == 0 {
            let png = crate::media::png(40, 30, 255);
            let picture = uploaded(&app, author, "p.png", "image/png", &png).await;
            json!([picture["id"]])
        } else {
            json!([])
        };
        let reply = app
            .gql(
                Some(&author.access),
                "mutation($s: ID!, $b: String!, $r: ID, $a: [ID!]) { sendMessage(input: {sessionId: $s, body: $b, replyToId: $r, attachmentIds: $a}) { id } }",
                json!({ "s": s, "b": format!("reply in {i}"), "r": first, "a": attachments }),
            )
            .await;
        assert!(reply["errors"].is_null(), "{reply}");
        let reacted = app
            .gql(
                Some(&me.access),
                "mutation($m: ID!) { addReaction(messageId: $m, emoji: \"👍\") { id } }",
                json!({ "m": reply["data"]["sendMessage"]["id"] }),
            )
            .await;
        assert!(reacted["errors"].is_null(), "{reacted}");
    }

    let (small, small_shown) = statements_for(&app, &me, 2, 2, &sessions[0]).await;
    let (large, large_shown) = statements_for(&app, &me, 20, 20, &sessions[0]).await;
    assert!(
        large_shown > small_shown * 5,
        "{small_shown} vs {large_shown}"
    );
    // Authentication, the session page, unread counts, unread mention counts, members with
    // their accounts, last messages and their senders, history windows and their senders,
    // then for all those messages at once: the messages they answer, their attachments,
    // their reactions, whom they mention and those users, and the viewer's blocks. Fifteen
    // statements, whatever
    // the page sizes and however busy the machine (the page loads its children for all its
    // sessions at once). Without that, 20×20 would take hundreds.
    assert_eq!(
        small, large,
        "2×2 ran {small} statements, 20×20 ran {large}"
    );
    assert_eq!(large, 15, "the inbox ran {large} statements");

    // Asked in two halves under one key, the sessions' fields merge into the same inbox (the
    // server writes the objects of a document that asks no key twice as they resolve, and
    // builds and merges the others).
    let whole = app
        .gql(Some(&me.access), INBOX, json!({ "s": 20, "m": 20 }))
        .await;
    assert!(whole["errors"].is_null(), "{whole}");
    let halves = INBOX.replacen(
        " lastMessage {",
        " } } } sessions(first: $s) { edges { node { id lastMessage {",
        1,
    );
    let merged = app
        .gql(Some(&me.access), &halves, json!({ "s": 20, "m": 20 }))
        .await;
    assert!(merged["errors"].is_null(), "{merged}");
    assert_eq!(merged["data"], whole["data"]);
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// Every session of `user`, as the inbox must list them: latest activity first, then the
/// larger id.
async fn expected_inbox(app: &TestApp, user: &TestUser) -> Vec<String> {
    let mut conn = app.db.connect().await;
    diesel::sql_query(
        "SELECT s.id::text AS id FROM sessions s JOIN session_members sm ON sm.session_id = s.id \
          WHERE sm.user_id = $1::uuid ORDER BY s.last_activity_at DESC, s.id DESC",
    )
    .bind::<diesel::sql_types::Text, _>(&user.id)
    .load::<Id>(&mut conn)
    .await
    .expect("expected order")
    .into_iter()
    .map(|row| row.id)
    .collect()
}

/// The inbox of `user`, followed page by page with pages of `first`.
async fn inbox_ids(app: &TestApp, user: &TestUser, first: i64) -> Vec<String> {
    let query = "query($f: Int!, $a: String) { sessions(first: $f, after: $a) { edges { node { id } } pageInfo { hasNextPage endCursor } } }";
    let pages = follow_pages("/sessions", 200, |after| {
        app.gql(Some(&user.access), query, json!({ "f": first, "a": after }))
    })
    .await;
    pages
        .iter()
        .flat_map(|page| page["edges"].as_array().expect("edges").clone())
        .map(|edge| edge["node"]["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Member rows whose copy of the hour of their session's last activity is wrong.
async fn stale_activity_hours(app: &TestApp) -> i64 {
    app.count_of(
        "SELECT count(*) AS n FROM session_members sm JOIN sessions s ON s.id = sm.session_id \
          WHERE sm.activity_hour <> activity_hour(s.last_activity_at)",
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_pages_in_exact_activity_order_across_hours() {
    let app = TestApp::spawn().await;
    let me = app.register("myself").await;
    let ann = app.register("ann").await;
    let ben = app.register("ben").await;
    let with_ann = direct(&app, &me, &ann).await;
    let club = group(&app, &ann, "Club", &[&me]).await;
    // 40 more groups, then activity spread over the 7 hours before this one: several sessions
    // in each hour, exact ties (same time, so the id decides), sessions at the start and at the
    // last microsecond of an hour.
    let mut conn = app.db.connect().await;
    conn.batch_execute(&format!(
        "INSERT INTO sessions (id, kind, title, created_by) \
           SELECT gen_random_uuid(), 'group', 'Group ' || n, '{me}' FROM generate_series(1, 40) n; \
         INSERT INTO session_members (session_id, user_id, role) \
           SELECT id, '{me}', 'owner' FROM sessions WHERE title LIKE 'Group %'; \
         UPDATE sessions s SET last_activity_at = activity_hour(now()) \
                - (1 + o.i % 7) * interval '1 hour' + (o.i % 3) * interval '29 minutes 59.999999 seconds' \
           FROM (SELECT id, row_number() OVER (ORDER BY id) AS i FROM sessions) o \
          WHERE o.id = s.id;",
        me = me.id
    ))
    .await
    .expect("sessions");
    assert_eq!(stale_activity_hours(&app).await, 0, "after the spread");
    let expected = expected_inbox(&app, &me).await;
    assert_eq!(expected.len(), 42);
    for first in [1, 2, 5, 7, 20, 50] {
        assert_eq!(
            inbox_ids(&app, &me, first).await,
            expected,
            "pages of {first}"
        );
    }

    // Every writer of the activity keeps the order: a message, a rename, a new member (who
    // sees the group at its place in their own inbox).
    let oldest = expected.last().expect("a session").clone();
    send(&app, &me, &oldest, "back to the top").await;
    let renamed = &expected[30];
    let renaming = app
        .gql(
            Some(&me.access),
            "mutation($s: ID!) { renameSession(sessionId: $s, title: \"Renamed\") { id } }",
            json!({ "s": renamed }),
        )
        .await;
    ok_data(&renaming);
    let joined = &expected[20];
    let adding = app
        .gql(
            Some(&me.access),
            "mutation($s: ID!, $u: [ID!]!) { addSessionMembers(sessionId: $s, userIds: $u) { id } }",
            json!({ "s": joined, "u": [ben.id] }),
        )
        .await;
    ok_data(&adding);
    assert_eq!(stale_activity_hours(&app).await, 0, "after the writes");
    let now_expected = expected_inbox(&app, &me).await;
    assert_eq!(now_expected[..2], [renamed.clone(), oldest.clone()]);
    for first in [1, 3, 20] {
        assert_eq!(
            inbox_ids(&app, &me, first).await,
            now_expected,
            "pages of {first}"
        );
    }
    assert_eq!(inbox_ids(&app, &ben, 1).await, std::slice::from_ref(joined));
    assert!(now_expected.contains(&with_ann) && now_expected.contains(&club));
}
