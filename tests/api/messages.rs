//! Sending, editing, deleting, history, read markers and search.

use serde_json::{Value, json};

use crate::chat::{SEND, direct, group, send, send_raw};
use crate::harness::{TestApp, error_code, follow_pages, ok_data};

const HISTORY: &str = "query($s: ID!, $f: Int, $a: String, $l: Int, $b: String) { session(id: $s) { messages(first: $f, after: $a, last: $l, before: $b) { edges { cursor node { seq body } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }";

fn seqs(response: &Value) -> Vec<i64> {
    response["data"]["session"]["messages"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges: {response}"))
        .iter()
        .map(|e| e["node"]["seq"].as_i64().expect("seq"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_are_numbered_in_order_and_stored_normalized() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let s = direct(&app, &alice, &bob).await;
    let first = send(&app, &alice, &s, "  Hello\tBob\n").await;
    assert_eq!(first["seq"], 1);
    assert_eq!(first["body"], "Hello\tBob");
    assert_eq!(first["sender"]["username"], "alice");
    assert_eq!(first["session"]["id"], s);
    let second = send(&app, &bob, &s, "Cafe\u{301}").await;
    assert_eq!(second["seq"], 2);
    assert_eq!(second["body"], "Caf\u{e9}");
    let reply = app
        .gql(
            Some(&alice.access),
            SEND,
            json!({ "s": s, "b": "reply", "r": second["id"] }),
        )
        .await;
    assert_eq!(
        reply["data"]["sendMessage"]["replyTo"]["id"], second["id"],
        "{reply}"
    );
    assert_eq!(reply["data"]["sendMessage"]["seq"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_sends_get_distinct_consecutive_numbers() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let s = direct(&app, &alice, &bob).await;
    let sends = (0..20).map(|i| {
        let (app, s) = (&app, &s);
        let who = if i % 2 == 0 { &alice } else { &bob };
        async move { send(app, who, s, &format!("message {i}")).await }
    });
    let sent = futures_util::future::join_all(sends).await;
    let mut numbers: Vec<i64> = sent
        .iter()
        .map(|m| m["seq"].as_i64().expect("seq"))
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=20).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn body_rules_hold_at_their_boundaries_and_refusals_store_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let s = direct(&app, &alice, &bob).await;
    let longest = "é".repeat(4000);
    let ok = send(&app, &alice, &s, &format!("  {longest}  ")).await;
    assert_eq!(ok["body"].as_str().map(|b| b.chars().count()), Some(4000));
    let before = app.fingerprint().await;
    for bad in [
        String::new(),
        " \n\t ".to_owned(),
        "é".repeat(4001),
        "nul\u{0}byte".to_owned(),
        "bell\u{7}".to_owned(),
        "escape\u{1b}[2J".to_owned(),
    ] {
        let response = send_raw(&app, &alice, &s, &bad).await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{bad:?}: {response}"
        );
    }
    assert_eq!(app.fingerprint().await, before);
    // A reply to a message of another session, a bad client id, an unknown session.
    let other = direct(&app, &alice, &app.register("carol").await).await;
    let foreign = send(&app, &alice, &other, "elsewhere").await;
    let before_reply = app.fingerprint().await;
    let response = app
        .gql(
            Some(&alice.access),
            SEND,
            json!({ "s": s, "b": "hi", "r": foreign["id"] }),
        )
        .await;
    assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
    for client_id in ["", "has space", &"x".repeat(101)] {
        let response = app
            .gql(
                Some(&alice.access),
                SEND,
                json!({ "s": s, "b": "hi", "c": client_id }),
            )
            .await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{client_id:?}"
        );
    }
    let unknown = app
        .gql(
            Some(&alice.access),
            SEND,
            json!({ "s": uuid::Uuid::now_v7().to_string(), "b": "hi" }),
        )
        .await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"));
    assert_eq!(app.fingerprint().await, before_reply);
    // The next message still takes the next number: refused sends used none.
    let next = send(&app, &alice, &s, "next").await;
    assert_eq!(next["seq"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_send_returns_the_first_message_even_across_servers() {
    let app = TestApp::spawn().await;
    let node_b = app.second_node();
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let s = direct(&app, &alice, &bob).await;
    let vars = json!({ "s": s, "b": "only once", "c": "client-42" });
    let attempts = (0..10).map(|i| {
        let node = if i % 2 == 0 {
            app.router.clone()
        } else {
            node_b.clone()
        };
        let (token, vars) = (alice.access.clone(), vars.clone());
        async move { TestApp::gql_on(&node, Some(&token), SEND, vars).await }
    });
    let results = futures_util::future::join_all(attempts).await;
    let ids: std::collections::HashSet<_> = results
        .iter()
        .map(|r| {
            r["data"]["sendMessage"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{r}"))
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{results:?}");
    assert_eq!(
        results[0]["data"]["sendMessage"]["clientMessageId"],
        "client-42"
    );
    assert_eq!(app.count("messages").await, 1);
    // The sequence has no gap: the next send is number 2.
    assert_eq!(send(&app, &alice, &s, "next").await["seq"], 2);
    // The same client id in another session is a conflict, not a silent duplicate.
    let other = direct(&app, &alice, &app.register("carol").await).await;
    let clash = app
        .gql(
            Some(&alice.access),
            SEND,
            json!({ "s": other, "b": "only once", "c": "client-42" }),
        )
        .await;
    assert_eq!(error_code(&clash), Some("CONFLICT"), "{clash}");
    // Another sender may use the same client id.
    let bobs = app
        .gql(
            Some(&bob.access),
            SEND,
            json!({ "s": s, "b": "mine", "c": "client-42" }),
        )
        .await;
    assert_eq!(bobs["data"]["sendMessage"]["seq"], 3, "{bobs}");
    // Bob does not see Alice's client id.
    let history = app
        .gql(
            Some(&bob.access),
            "query($s: ID!) { session(id: $s) { messages(first: 1) { edges { node { clientMessageId } } } } }",
            json!({ "s": s }),
        )
        .await;
    let first = &ok_data(&history)["session"]["messages"]["edges"][0]["node"];
    assert!(
        first.is_object() && first["clientMessageId"].is_null(),
        "{history}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_sender_edits_and_deletes_are_soft() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let ann = app.register("ann").await;
    let ben = app.register("ben").await;
    let g = group(&app, &owner, "Team", &[&ann, &ben]).await;
    let message = send(&app, &ann, &g, "first draft").await;
    let edit =
        "mutation($id: ID!, $b: String!) { editMessage(id: $id, body: $b) { body editedAt } }";
    let by_ben = app
        .gql(
            Some(&ben.access),
            edit,
            json!({ "id": message["id"], "b": "hacked" }),
        )
        .await;
    assert_eq!(error_code(&by_ben), Some("FORBIDDEN"));
    let by_owner = app
        .gql(
            Some(&owner.access),
            edit,
            json!({ "id": message["id"], "b": "hacked" }),
        )
        .await;
    assert_eq!(error_code(&by_owner), Some("FORBIDDEN"));
    let edited = app
        .gql(
            Some(&ann.access),
            edit,
            json!({ "id": message["id"], "b": "final text" }),
        )
        .await;
    assert_eq!(edited["data"]["editMessage"]["body"], "final text");
    assert!(edited["data"]["editMessage"]["editedAt"].is_string());
    let bad_edit = app
        .gql(
            Some(&ann.access),
            edit,
            json!({ "id": message["id"], "b": "  " }),
        )
        .await;
    assert_eq!(error_code(&bad_edit), Some("BAD_USER_INPUT"));

    let delete = "mutation($id: ID!) { deleteMessage(id: $id) { body deletedAt } }";
    let by_ben = app
        .gql(Some(&ben.access), delete, json!({ "id": message["id"] }))
        .await;
    assert_eq!(error_code(&by_ben), Some("FORBIDDEN"));
    // A group owner may delete others' messages.
    let by_owner = app
        .gql(Some(&owner.access), delete, json!({ "id": message["id"] }))
        .await;
    assert!(
        by_owner["data"]["deleteMessage"]["body"].is_null(),
        "{by_owner}"
    );
    assert!(by_owner["data"]["deleteMessage"]["deletedAt"].is_string());
    // Still in history, body erased; no longer editable.
    let history = app.gql(Some(&ben.access), HISTORY, json!({ "s": g })).await;
    assert_eq!(seqs(&history), [1]);
    assert!(history["data"]["session"]["messages"]["edges"][0]["node"]["body"].is_null());
    let after_delete = app
        .gql(
            Some(&ann.access),
            edit,
            json!({ "id": message["id"], "b": "again" }),
        )
        .await;
    assert_eq!(error_code(&after_delete), Some("BAD_USER_INPUT"));
    // The stored body is really gone.
    let mut conn = app.db.connect().await;
    use diesel_async::SimpleAsyncConnection;
    conn.batch_execute("DO $$ BEGIN IF EXISTS (SELECT 1 FROM messages WHERE body <> '') THEN RAISE EXCEPTION 'body kept'; END IF; END $$")
        .await
        .expect("deleted bodies are erased");

    // In a direct session, only the sender deletes.
    let d = direct(&app, &ann, &ben).await;
    let m = send(&app, &ann, &d, "private").await;
    let refused = app
        .gql(Some(&ben.access), delete, json!({ "id": m["id"] }))
        .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"));
}

#[tokio::test(flavor = "multi_thread")]
async fn history_pages_both_ways_and_stays_stable_while_messages_arrive() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let s = direct(&app, &alice, &bob).await;
    for i in 1..=25 {
        send(&app, &alice, &s, &format!("m{i}")).await;
    }
    // Default: the newest 20, oldest first.
    let newest = app.gql(Some(&bob.access), HISTORY, json!({ "s": s })).await;
    assert_eq!(seqs(&newest), (6..=25).collect::<Vec<_>>());
    let page = &newest["data"]["session"]["messages"]["pageInfo"];
    assert_eq!(page["hasPreviousPage"], true);

    // Backwards from there while new messages arrive.
    let start = page["startCursor"].clone();
    send(&app, &bob, &s, "new 26").await;
    let older = app
        .gql(
            Some(&bob.access),
            HISTORY,
            json!({ "s": s, "l": 10, "b": start }),
        )
        .await;
    assert_eq!(seqs(&older), (1..=5).collect::<Vec<_>>());
    assert_eq!(
        older["data"]["session"]["messages"]["pageInfo"]["hasPreviousPage"],
        false
    );

    // Forwards in pages of 10 from the start sees every message once, the new one too.
    let pages = follow_pages("/session/messages", 5, |after| {
        app.gql(
            Some(&bob.access),
            HISTORY,
            json!({ "s": s, "f": 10, "a": after }),
        )
    })
    .await;
    let all: Vec<i64> = pages
        .iter()
        .flat_map(|page| page["edges"].as_array().expect("edges"))
        .map(|e| e["node"]["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(all, (1..=26).collect::<Vec<_>>());
    assert_eq!(pages.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_page_arguments_and_tampered_cursors_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let s = direct(&app, &alice, &bob).await;
    let other = direct(&app, &alice, &app.register("carol").await).await;
    send(&app, &alice, &s, "one").await;
    send(&app, &alice, &other, "two").await;
    let other_page = app
        .gql(Some(&alice.access), HISTORY, json!({ "s": other, "f": 1 }))
        .await;
    let foreign_cursor = other_page["data"]["session"]["messages"]["pageInfo"]["endCursor"].clone();
    for vars in [
        json!({ "s": s, "f": 0 }),
        json!({ "s": s, "f": 101 }),
        json!({ "s": s, "l": -1 }),
        json!({ "s": s, "f": 1, "l": 1 }),
        json!({ "s": s, "a": "garbage" }),
        json!({ "s": s, "a": "bXNnOm5vdDpyZWFs" }),
        json!({ "s": s, "b": foreign_cursor }),
    ] {
        let response = app.gql(Some(&alice.access), HISTORY, vars.clone()).await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{vars}: {response}"
        );
    }
    let sessions =
        "query($f: Int, $a: String) { sessions(first: $f, after: $a) { edges { cursor } } }";
    for vars in [json!({ "f": 0 }), json!({ "f": 51 }), json!({ "a": "x" })] {
        let response = app.gql(Some(&alice.access), sessions, vars.clone()).await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{vars}: {response}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unread_counts_stop_at_a_thousand() {
    let app = TestApp::spawn().await;
    let me = app.register("reader").await;
    let busy = app.register("busy").await;
    let d = direct(&app, &busy, &me).await;
    send(&app, &busy, &d, "first").await;
    // A member far behind: 1,004 more messages, written straight into the table.
    let mut conn = app.db.connect().await;
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut conn,
        &format!(
            "INSERT INTO messages (id, session_id, sender_id, seq, body, created_at) \
             SELECT gen_random_uuid(), '{d}', '{}', n, 'backlog ' || n, now() \
               FROM generate_series(2, 1005) n; \
             UPDATE sessions SET last_message_seq = 1005 WHERE id = '{d}'",
            busy.id
        ),
    )
    .await
    .expect("a backlog");
    let count = async || {
        let response = app
            .gql(
                Some(&me.access),
                "{ sessions { edges { node { unreadCount } } } }",
                json!({}),
            )
            .await;
        response["data"]["sessions"]["edges"][0]["node"]["unreadCount"]
            .as_i64()
            .unwrap_or_else(|| panic!("{response}"))
    };
    // 1,005 unread: counting stops at 1,000.
    assert_eq!(count().await, 1000);
    // Read up to 6: 999 left, counted exactly.
    let marked = app
        .gql(
            Some(&me.access),
            "mutation($s: ID!) { markRead(sessionId: $s, upTo: 6) { unreadCount } }",
            json!({ "s": d }),
        )
        .await;
    assert_eq!(marked["data"]["markRead"]["unreadCount"], 999, "{marked}");
    assert_eq!(count().await, 999);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_orders_by_activity_and_counts_unread() {
    let app = TestApp::spawn().await;
    let me = app.register("myself").await;
    let ann = app.register("ann").await;
    let ben = app.register("ben").await;
    let with_ann = direct(&app, &me, &ann).await;
    let with_ben = direct(&app, &me, &ben).await;
    let club = group(&app, &ann, "Club", &[&me, &ben]).await;
    send(&app, &ann, &with_ann, "a1").await;
    send(&app, &ann, &with_ann, "a2").await;
    send(&app, &ben, &club, "c1").await;
    send(&app, &ben, &with_ben, "b1").await;
    let deleted = send(&app, &ben, &with_ben, "b2").await;
    app.gql(
        Some(&ben.access),
        "mutation($id: ID!) { deleteMessage(id: $id) { id } }",
        json!({ "id": deleted["id"] }),
    )
    .await;
    let inbox = "{ sessions { edges { node { id unreadCount viewerReadUpTo lastMessage { body sender { username } } } } } }";
    let response = app.gql(Some(&me.access), inbox, json!({})).await;
    let edges = response["data"]["sessions"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    let order: Vec<&str> = edges
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id"))
        .collect();
    assert_eq!(order, [with_ben.as_str(), club.as_str(), with_ann.as_str()]);
    let unread: Vec<i64> = edges
        .iter()
        .map(|e| e["node"]["unreadCount"].as_i64().expect("count"))
        .collect();
    // The deleted message does not count.
    assert_eq!(unread, [1, 1, 2]);
    assert_eq!(edges[2]["node"]["lastMessage"]["body"], "a2");
    assert_eq!(edges[2]["node"]["lastMessage"]["sender"]["username"], "ann");

    // Marking read moves the marker forward only, clamped to the last message.
    let mark = "mutation($s: ID!, $u: Int!) { markRead(sessionId: $s, upTo: $u) { unreadCount viewerReadUpTo } }";
    let marked = app
        .gql(Some(&me.access), mark, json!({ "s": with_ann, "u": 1 }))
        .await;
    assert_eq!(marked["data"]["markRead"]["unreadCount"], 1, "{marked}");
    let back = app
        .gql(Some(&me.access), mark, json!({ "s": with_ann, "u": 0 }))
        .await;
    assert_eq!(back["data"]["markRead"]["viewerReadUpTo"], 1);
    let beyond = app
        .gql(Some(&me.access), mark, json!({ "s": with_ann, "u": 999 }))
        .await;
    assert_eq!(beyond["data"]["markRead"]["viewerReadUpTo"], 2);
    assert_eq!(beyond["data"]["markRead"]["unreadCount"], 0);
    // My own messages never count as unread, and sending marks the session read.
    send(&app, &me, &club, "mine").await;
    let after = app.gql(Some(&me.access), inbox, json!({})).await;
    let first = &after["data"]["sessions"]["edges"][0]["node"];
    assert_eq!(first["id"], club);
    assert_eq!(first["unreadCount"], 0);

    // Paging the inbox.
    let paged = app
        .gql(
            Some(&me.access),
            "query($a: String) { sessions(first: 2, after: $a) { edges { node { id } } pageInfo { hasNextPage endCursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(paged["data"]["sessions"]["pageInfo"]["hasNextPage"], true);
    let rest = app
        .gql(
            Some(&me.access),
            "query($a: String) { sessions(first: 2, after: $a) { edges { node { id } } pageInfo { hasNextPage } } }",
            json!({ "a": paged["data"]["sessions"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(
        rest["data"]["sessions"]["edges"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(rest["data"]["sessions"]["pageInfo"]["hasNextPage"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_words_only_in_the_viewers_sessions() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    let ours = direct(&app, &alice, &bob).await;
    let theirs = direct(&app, &bob, &eve).await;
    send(&app, &alice, &ours, "The quarterly report is ready").await;
    send(&app, &bob, &ours, "Lunch tomorrow?").await;
    send(&app, &bob, &theirs, "secret report for eve").await;
    let gone = send(&app, &alice, &ours, "deleted report draft").await;
    app.gql(
        Some(&alice.access),
        "mutation($id: ID!) { deleteMessage(id: $id) { id } }",
        json!({ "id": gone["id"] }),
    )
    .await;
    let search = "query($t: String!, $f: Int, $a: String) { searchMessages(text: $t, first: $f, after: $a) { edges { node { body session { id } } } pageInfo { hasNextPage endCursor } } }";
    let hits = app
        .gql(Some(&alice.access), search, json!({ "t": "REPORT" }))
        .await;
    let edges = hits["data"]["searchMessages"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert_eq!(edges.len(), 1, "{hits}");
    assert_eq!(edges[0]["node"]["body"], "The quarterly report is ready");
    assert_eq!(edges[0]["node"]["session"]["id"], ours);
    // Bob finds both of his.
    let bobs = app
        .gql(Some(&bob.access), search, json!({ "t": "report", "f": 1 }))
        .await;
    assert_eq!(
        bobs["data"]["searchMessages"]["pageInfo"]["hasNextPage"],
        true
    );
    let next = app
        .gql(
            Some(&bob.access),
            search,
            json!({ "t": "report", "f": 1, "a": bobs["data"]["searchMessages"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(
        next["data"]["searchMessages"]["edges"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_ne!(
        next["data"]["searchMessages"]["edges"][0]["node"]["body"],
        bobs["data"]["searchMessages"]["edges"][0]["node"]["body"]
    );
    // Odd input is a typed error or an empty result, never a server error.
    for (text, code) in [
        ("", Some("BAD_USER_INPUT")),
        (&"w".repeat(201) as &str, Some("BAD_USER_INPUT")),
        ("' OR 1=1 --", None),
        ("\"unclosed", None),
        ("-", None),
    ] {
        let response = app
            .gql(Some(&alice.access), search, json!({ "t": text }))
            .await;
        match code {
            Some(_) => assert_eq!(error_code(&response), code, "{text:?}: {response}"),
            None => assert!(
                ok_data(&response)["searchMessages"]["edges"].is_array(),
                "{text:?}: {response}"
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn message_times_follow_their_order_and_search_pages_through_every_hit_once() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let busy = group(&app, &alice, "Busy", &[&bob, &carol]).await;
    let quiet = group(&app, &carol, "Quiet", &[&alice, &bob]).await;
    // Concurrent sends into one session: whichever takes the lock first gets the earlier time.
    let mut sends = Vec::new();
    for i in 0..24 {
        let sender = [&alice, &bob, &carol][i % 3].clone();
        let session = if i % 5 == 0 {
            quiet.clone()
        } else {
            busy.clone()
        };
        let body = if i % 2 == 0 {
            format!("budget {i}")
        } else {
            format!("other {i}")
        };
        sends.push((sender, session, body));
    }
    let futures: Vec<_> = sends
        .iter()
        .map(|(user, session, body)| send_raw(&app, user, session, body))
        .collect();
    for response in futures_util::future::join_all(futures).await {
        ok_data(&response);
    }
    let disorder = app
        .count_of(
            "SELECT count(*) AS n FROM (SELECT created_at <= lag(created_at) OVER \
             (PARTITION BY session_id ORDER BY seq) AS back FROM messages) t WHERE back",
        )
        .await;
    assert_eq!(disorder, 0, "a later seq with an earlier or equal time");

    // Two hits a page, across both sessions: every hit once, newest first.
    let search = "query($a: String) { searchMessages(text: \"budget\", first: 2, after: $a) { edges { node { body createdAt } } pageInfo { hasNextPage endCursor } } }";
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .gql(Some(&carol.access), search, json!({ "a": after }))
            .await;
        let data = &ok_data(&page)["searchMessages"];
        for edge in data["edges"].as_array().expect("edges") {
            let node = &edge["node"];
            seen.push((
                node["createdAt"].as_str().expect("time").to_owned(),
                node["body"].as_str().expect("body").to_owned(),
            ));
        }
        if data["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = data["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 12, "{seen:?}");
    let mut bodies: Vec<&str> = seen.iter().map(|(_, b)| b.as_str()).collect();
    bodies.sort_unstable();
    bodies.dedup();
    assert_eq!(bodies.len(), 12, "each hit once: {seen:?}");
    let times: Vec<chrono::DateTime<chrono::Utc>> = seen
        .iter()
        .map(|(t, _)| t.parse().expect("an RFC 3339 time"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_migration_puts_older_messages_in_time_order() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let s = direct(&app, &alice, &bob).await;
    for i in 0..4 {
        send(&app, &alice, &s, &format!("m{i}")).await;
    }
    let mut conn = app.db.connect().await;
    use diesel_async::SimpleAsyncConnection;
    // As two concurrent sends could leave them before the change: seq 2 and 3 earlier than 1.
    conn.batch_execute(
        "UPDATE messages SET created_at = created_at - (seq * interval '1 second') WHERE seq IN (2, 3);",
    )
    .await
    .expect("disorder");
    let up = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations/2026-12-06-000003_message_time_order/up.sql"
    ))
    .expect("the migration");
    conn.batch_execute(&up).await.expect("the migration runs");
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        seq: i64,
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        created_at: chrono::DateTime<chrono::Utc>,
    }
    let rows: Vec<Row> = diesel_async::RunQueryDsl::load(
        diesel::sql_query("SELECT seq, created_at FROM messages ORDER BY seq"),
        &mut conn,
    )
    .await
    .expect("rows");
    assert_eq!(rows.len(), 4);
    assert!(
        rows.windows(2).all(|w| w[0].created_at < w[1].created_at),
        "{:?}",
        rows.iter()
            .map(|r| (r.seq, r.created_at))
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_answers_a_message_of_the_same_session_and_a_refused_send_stores_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let with_bob = direct(&app, &alice, &bob).await;
    let with_carol = direct(&app, &alice, &carol).await;
    let elsewhere = send(&app, &alice, &with_carol, "to carol").await;
    let unknown = json!("00000000-0000-7000-8000-000000000001");
    for (body, target) in [
        ("plain", &elsewhere["id"]),
        ("hi @bob", &elsewhere["id"]),
        ("plain", &unknown),
    ] {
        // With a mention, the send is a transaction around the same statement.
        let refused = answer(&app, &alice, &with_bob, body, target, "retry-1").await;
        assert_eq!(
            error_code(&refused),
            Some("BAD_USER_INPUT"),
            "{body}: {refused}"
        );
    }
    // A non-member hears of no session, whatever the reply target.
    let outsider = answer(&app, &carol, &with_bob, "plain", &elsewhere["id"], "c-1").await;
    assert_eq!(error_code(&outsider), Some("NOT_FOUND"), "{outsider}");
    // Nothing was stored or numbered: the same client message id still sends, as number 1.
    let first = send(&app, &bob, &with_bob, "first").await;
    assert_eq!(first["seq"], 1);
    let reply = answer(&app, &alice, &with_bob, "hi @bob", &first["id"], "retry-1").await;
    let reply = &ok_data(&reply)["sendMessage"];
    assert_eq!(
        (reply["seq"].as_i64(), &reply["replyTo"]["id"]),
        (Some(2), &first["id"])
    );
    let again = answer(&app, &alice, &with_bob, "hi @bob", &first["id"], "retry-1").await;
    assert_eq!(ok_data(&again)["sendMessage"]["id"], reply["id"], "{again}");
}

/// Sends `body` as `who` in session `s`, answering message `r`, with client message id `c`.
async fn answer(
    app: &TestApp,
    who: &crate::harness::TestUser,
    s: &str,
    body: &str,
    r: &Value,
    c: &str,
) -> Value {
    app.gql(
        Some(&who.access),
        SEND,
        json!({ "s": s, "b": body, "r": r, "c": c }),
    )
    .await
}
