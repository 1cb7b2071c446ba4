//! Direct sessions and groups: creation, members, roles, leaving.

use serde_json::json;

use crate::chat::{direct, group};
use crate::harness::{TestApp, error_code, ok_data};

const SESSION: &str = "query($id: ID!) { session(id: $id) { id kind title viewerRole members { role user { username } } } }";

#[tokio::test(flavor = "multi_thread")]
async fn a_pair_always_gets_the_same_direct_session() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let first = direct(&app, &alice, &bob).await;
    let again = direct(&app, &alice, &bob).await;
    let from_bob = direct(&app, &bob, &alice).await;
    assert_eq!(first, again);
    assert_eq!(first, from_bob);
    let seen = app
        .gql(Some(&bob.access), SESSION, json!({ "id": first }))
        .await;
    assert_eq!(seen["data"]["session"]["kind"], "DIRECT", "{seen}");
    assert!(seen["data"]["session"]["title"].is_null());
    let names: Vec<_> = seen["data"]["session"]["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["user"]["username"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"alice".to_owned()) && names.contains(&"bob".to_owned()));
    assert_eq!(app.count("sessions").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_direct_session_starts_on_two_servers_make_one_session() {
    let app = TestApp::spawn().await;
    let node_b = app.second_node();
    for round in 0..5 {
        let alice = app.register(&format!("alice{round}")).await;
        let bob = app.register(&format!("bob{round}")).await;
        let query = "mutation($u: ID!) { startDirectSession(userId: $u) { id } }";
        let calls = (0..8).map(|i| {
            let (me, other) = if i % 2 == 0 {
                (&alice, &bob)
            } else {
                (&bob, &alice)
            };
            let node = if i % 4 < 2 {
                app.router.clone()
            } else {
                node_b.clone()
            };
            let token = me.access.clone();
            let vars = json!({ "u": other.id });
            async move { TestApp::gql_on(&node, Some(&token), query, vars).await }
        });
        let results = futures_util::future::join_all(calls).await;
        let ids: std::collections::HashSet<_> = results
            .iter()
            .map(|r| {
                r["data"]["startDirectSession"]["id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{r}"))
                    .to_owned()
            })
            .collect();
        assert_eq!(ids.len(), 1, "round {round}: {results:?}");
    }
    assert_eq!(app.count("sessions").await, 5);
    assert_eq!(app.count("session_members").await, 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn direct_sessions_with_yourself_unknown_or_deactivated_users_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.register_admin("boss").await;
    let alice = app.register("alice").await;
    let gone = app.register("gone").await;
    app.gql(
        Some(&admin.access),
        "mutation($id: ID!) { deactivateUser(id: $id) { id } }",
        json!({ "id": gone.id }),
    )
    .await;
    let query = "mutation($u: ID!) { startDirectSession(userId: $u) { id } }";
    let before = app.fingerprint().await;
    for (target, code) in [
        (alice.id.clone(), "BAD_USER_INPUT"),
        (gone.id.clone(), "BAD_USER_INPUT"),
        (uuid::Uuid::now_v7().to_string(), "NOT_FOUND"),
        ("not-an-id".to_owned(), "BAD_USER_INPUT"),
    ] {
        let response = app
            .gql(Some(&alice.access), query, json!({ "u": target }))
            .await;
        assert_eq!(error_code(&response), Some(code), "{target}: {response}");
    }
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_have_an_owner_who_manages_members_and_title() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let ann = app.register("ann").await;
    let ben = app.register("ben").await;
    let cat = app.register("cat").await;
    let id = group(&app, &owner, "  Book club ", &[&ann, &ann, &owner]).await;
    let seen = app
        .gql(Some(&owner.access), SESSION, json!({ "id": id }))
        .await;
    let session = &seen["data"]["session"];
    assert_eq!(session["kind"], "GROUP");
    assert_eq!(session["title"], "Book club");
    assert_eq!(session["viewerRole"], "OWNER");
    assert_eq!(session["members"].as_array().expect("members").len(), 2);

    // Plain members cannot manage.
    let add = "mutation($s: ID!, $u: [ID!]!) { addSessionMembers(sessionId: $s, userIds: $u) { members { user { username } } } }";
    let by_member = app
        .gql(Some(&ann.access), add, json!({ "s": id, "u": [ben.id] }))
        .await;
    assert_eq!(error_code(&by_member), Some("FORBIDDEN"));
    let rename =
        "mutation($s: ID!, $t: String!) { renameSession(sessionId: $s, title: $t) { title } }";
    let renamed_by_member = app
        .gql(Some(&ann.access), rename, json!({ "s": id, "t": "Mine" }))
        .await;
    assert_eq!(error_code(&renamed_by_member), Some("FORBIDDEN"));

    // The owner adds, promotes and renames.
    let added = app
        .gql(
            Some(&owner.access),
            add,
            json!({ "s": id, "u": [ben.id, cat.id, ann.id] }),
        )
        .await;
    assert_eq!(
        added["data"]["addSessionMembers"]["members"]
            .as_array()
            .expect("members")
            .len(),
        4,
        "{added}"
    );
    let promote = "mutation($s: ID!, $u: ID!) { setSessionMemberRole(sessionId: $s, userId: $u, role: ADMIN) { id } }";
    let promoted = app
        .gql(
            Some(&owner.access),
            promote,
            json!({ "s": id, "u": ann.id }),
        )
        .await;
    assert!(promoted["errors"].is_null(), "{promoted}");
    let renamed = app
        .gql(
            Some(&ann.access),
            rename,
            json!({ "s": id, "t": "Readers" }),
        )
        .await;
    assert_eq!(
        renamed["data"]["renameSession"]["title"], "Readers",
        "{renamed}"
    );

    // An admin removes a plain member but not the owner.
    let remove =
        "mutation($s: ID!, $u: ID!) { removeSessionMember(sessionId: $s, userId: $u) { id } }";
    let removed = app
        .gql(Some(&ann.access), remove, json!({ "s": id, "u": cat.id }))
        .await;
    assert!(removed["errors"].is_null(), "{removed}");
    let owner_removal = app
        .gql(Some(&ann.access), remove, json!({ "s": id, "u": owner.id }))
        .await;
    assert_eq!(error_code(&owner_removal), Some("FORBIDDEN"));

    // The removed member lost access at once.
    let gone = app
        .gql(Some(&cat.access), SESSION, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&gone), Some("NOT_FOUND"));
    let send_after = crate::chat::send_raw(&app, &cat, &id, "still here?").await;
    assert_eq!(error_code(&send_after), Some("NOT_FOUND"));

    // Title rules.
    for bad in ["", "   ", &"t".repeat(101), "tab\there"] {
        let response = app
            .gql(Some(&owner.access), rename, json!({ "s": id, "t": bad }))
            .await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{bad:?}");
    }
    let ok = app
        .gql(
            Some(&owner.access),
            rename,
            json!({ "s": id, "t": "t".repeat(100) }),
        )
        .await;
    assert!(ok["errors"].is_null(), "{ok}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_owner_leaving_hands_the_group_to_the_longest_standing_member() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    // Registered last: the largest id (UUIDv7) and the last name, but the first to join.
    let zoe = app.register("zoe").await;
    assert!(amy.id < zoe.id && ben.id < zoe.id);
    let id = group(&app, &owner, "Club", &[&zoe]).await;
    let added = app
        .gql(
            Some(&owner.access),
            "mutation($s: ID!, $u: [ID!]!) { addSessionMembers(sessionId: $s, userIds: $u) { id } }",
            json!({ "s": id, "u": [amy.id, ben.id] }),
        )
        .await;
    assert_eq!(ok_data(&added)["addSessionMembers"]["id"], id);
    let leave = "mutation($s: ID!) { leaveSession(sessionId: $s) }";
    let left = app
        .gql(Some(&owner.access), leave, json!({ "s": id }))
        .await;
    assert_eq!(left["data"]["leaveSession"], true, "{left}");
    let seen = app
        .gql(Some(&amy.access), SESSION, json!({ "id": id }))
        .await;
    let mut roles: Vec<(&str, &str)> = ok_data(&seen)["session"]["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["user"]["username"].as_str().expect("name"),
                m["role"].as_str().expect("role"),
            )
        })
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        [("amy", "MEMBER"), ("ben", "MEMBER"), ("zoe", "OWNER")],
        "{seen}"
    );
    let gone = app
        .gql(Some(&owner.access), SESSION, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&gone), Some("NOT_FOUND"));

    // Direct sessions cannot be left.
    let d = direct(&app, &amy, &ben).await;
    let refused = app.gql(Some(&amy.access), leave, json!({ "s": d })).await;
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"));
}

#[tokio::test(flavor = "multi_thread")]
async fn group_size_is_limited() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    // 1,000 ids of users that do not exist: refused by size before any lookup.
    let too_many: Vec<String> = (0..1000)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let response = app
        .gql(
            Some(&owner.access),
            "mutation($m: [ID!]!) { createGroupSession(input: {title: \"Big\", memberIds: $m}) { id } }",
            json!({ "m": too_many }),
        )
        .await;
    assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1000")),
        "{response}"
    );
    assert_eq!(app.count("sessions").await, 0);
    // Unknown members are NOT_FOUND, and nothing is created.
    let unknown = app
        .gql(
            Some(&owner.access),
            "mutation($m: [ID!]!) { createGroupSession(input: {title: \"Small\", memberIds: $m}) { id } }",
            json!({ "m": [uuid::Uuid::now_v7().to_string()] }),
        )
        .await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"));
    assert_eq!(app.count("sessions").await, 0);
}
