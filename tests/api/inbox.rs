//! The inbox query's cost: its SQL statements do not grow with its page sizes.

use serde_json::json;

use crate::chat::{direct, group, send};
use crate::harness::{TestApp, TestUser};

const INBOX: &str = "query($s: Int!, $m: Int!) { sessions(first: $s) { edges { cursor node { id kind title unreadCount viewerReadUpTo members { role user { id username displayName } } lastMessage { id body sender { username } } messages(last: $m) { edges { node { id seq body createdAt sender { id username } replyTo { id } } } pageInfo { hasPreviousPage } } } } } }";

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
    let shown = response["data"]["sessions"]["edges"]
        .as_array()
        .expect("edges")
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
        for j in 0..(3 + i % 4) {
            // Direct sessions alternate authors; groups hear from me and their owner.
            let author = if j % 2 == 0 { &me } else { &friends[i % 6] };
            send(&app, author, s, &format!("message {j} in {i}")).await;
        }
    }

    let (small, small_shown) = statements_for(&app, &me, 2, 2).await;
    let (large, large_shown) = statements_for(&app, &me, 20, 20).await;
    assert!(
        large_shown > small_shown * 5,
        "{small_shown} vs {large_shown}"
    );
    // Authentication, the session page, unread counts, members with their accounts, last
    // messages and their senders, history windows and their senders: eight statements,
    // whatever the page sizes. Without loaders, 20×20 would take hundreds.
    assert_eq!(
        small, large,
        "2×2 ran {small} statements, 20×20 ran {large}"
    );
    assert!(large <= 8, "the inbox ran {large} statements");
}
