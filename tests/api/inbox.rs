//! The inbox query's cost: its SQL statements do not grow with its page sizes.

use serde_json::json;

use crate::chat::{SEND, direct, group, send};
use crate::harness::{TestApp, TestUser};

const INBOX: &str = "query($s: Int!, $m: Int!) { sessions(first: $s) { edges { cursor node { id kind title unreadCount viewerReadUpTo members { role user { id username displayName } } lastMessage { id body sender { username } replyTo { id } } messages(last: $m) { edges { node { id seq body createdAt sender { id username } replyTo { id } } } pageInfo { hasPreviousPage } } } } } }";

async fn statements_for(
    app: &TestApp,
    viewer: &TestUser,
    sessions: i32,
    messages: i32,
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
    }
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
            let sent = send(&app, author, s, &format!("message {j} in {i}")).await;
            first.get_or_insert(sent["id"].clone());
        }
        // Every session ends with a reply, so every page of history holds one.
        let reply = app
            .gql(
                Some(&friends[i % 6].access),
                SEND,
                json!({ "s": s, "b": format!("reply in {i}"), "r": first }),
            )
            .await;
        assert!(reply["errors"].is_null(), "{reply}");
    }

    let (small, small_shown) = statements_for(&app, &me, 2, 2).await;
    let (large, large_shown) = statements_for(&app, &me, 20, 20).await;
    assert!(
        large_shown > small_shown * 5,
        "{small_shown} vs {large_shown}"
    );
    // Authentication, the session page, unread counts, members with their accounts, last
    // messages and their senders, history windows and their senders, the messages they
    // answer: nine statements, whatever the page sizes and however busy the machine (the
    // page loads its children for all its sessions at once). Without that, 20×20 would take
    // hundreds.
    assert_eq!(
        small, large,
        "2×2 ran {small} statements, 20×20 ran {large}"
    );
    assert_eq!(large, 9, "the inbox ran {large} statements");
}
