//! Registration, sign-in, token rotation and revocation, as a client sees them.

use chrono::Utc;
use messenger::auth::tokens::{Claims, TokenKey};
use serde_json::json;
use uuid::Uuid;

use crate::harness::{TestApp, error_code, follow_pages, ok_data};

const ME: &str = "{ me { id username displayName location account { role active } } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }";
const LOGIN: &str = "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { accessToken refreshToken user { username } } }";

#[tokio::test(flavor = "multi_thread")]
async fn register_then_me_shows_the_new_account() {
    let app = TestApp::spawn().await;
    let response = app
        .gql(
            None,
            "mutation { register(input: {username: \"Alice.B\", password: \"correct horse\", displayName: \"  Alice B \", location: \"Paris\"}) { accessToken user { username displayName location } } }",
            json!({}),
        )
        .await;
    let payload = &response["data"]["register"];
    assert_eq!(payload["user"]["username"], "alice.b", "{response}");
    assert_eq!(payload["user"]["displayName"], "Alice B");
    assert_eq!(payload["user"]["location"], "Paris");

    let token = payload["accessToken"].as_str().expect("token");
    let me = app.gql(Some(token), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["username"], "alice.b");
    assert_eq!(me["data"]["me"]["account"]["role"], "USER");
    assert_eq!(me["data"]["me"]["account"]["active"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn login_works_with_any_case_and_refuses_wrong_passwords_alike() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;

    let ok = app
        .gql(None, LOGIN, json!({ "u": "ALICE", "p": alice.password }))
        .await;
    assert_eq!(ok["data"]["login"]["user"]["username"], "alice", "{ok}");

    let wrong_password = app
        .gql(
            None,
            LOGIN,
            json!({ "u": "alice", "p": "not-her-password" }),
        )
        .await;
    let no_such_user = app
        .gql(
            None,
            LOGIN,
            json!({ "u": "nobody", "p": "not-her-password" }),
        )
        .await;
    let invalid_name = app
        .gql(None, LOGIN, json!({ "u": "x", "p": "not-her-password" }))
        .await;
    for response in [&wrong_password, &no_such_user, &invalid_name] {
        assert_eq!(error_code(response), Some("UNAUTHENTICATED"), "{response}");
    }
    // Same message whether or not the username exists.
    assert_eq!(
        wrong_password["errors"][0]["message"],
        no_such_user["errors"][0]["message"]
    );
    assert_eq!(
        wrong_password["errors"][0]["message"],
        invalid_name["errors"][0]["message"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_rotates_and_the_new_tokens_work() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let refreshed = app.gql(None, REFRESH, json!({ "t": alice.refresh })).await;
    let new_access = refreshed["data"]["refreshToken"]["accessToken"]
        .as_str()
        .expect("new access token");
    let new_refresh = refreshed["data"]["refreshToken"]["refreshToken"]
        .as_str()
        .expect("new refresh token");
    assert_ne!(new_refresh, alice.refresh);
    let me = app.gql(Some(new_access), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["username"], "alice");
    // The new refresh token works in turn.
    let again = app.gql(None, REFRESH, json!({ "t": new_refresh })).await;
    assert!(
        again["data"]["refreshToken"]["accessToken"].is_string(),
        "{again}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_chain() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let first = app.gql(None, REFRESH, json!({ "t": alice.refresh })).await;
    let access2 = first["data"]["refreshToken"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let refresh2 = first["data"]["refreshToken"]["refreshToken"]
        .as_str()
        .expect("token")
        .to_owned();

    // An attacker replays the first refresh token.
    let replay = app.gql(None, REFRESH, json!({ "t": alice.refresh })).await;
    assert_eq!(error_code(&replay), Some("UNAUTHENTICATED"), "{replay}");

    // Every token of that sign-in is now dead: the newest refresh and access tokens too.
    let later = app.gql(None, REFRESH, json!({ "t": refresh2 })).await;
    assert_eq!(error_code(&later), Some("UNAUTHENTICATED"), "{later}");
    let me = app.gql(Some(&access2), ME, json!({})).await;
    assert_eq!(error_code(&me), Some("UNAUTHENTICATED"), "{me}");

    // Another sign-in of the same user is unaffected.
    let login = app
        .gql(None, LOGIN, json!({ "u": "alice", "p": alice.password }))
        .await;
    let token = login["data"]["login"]["accessToken"]
        .as_str()
        .expect("token");
    let me = app.gql(Some(token), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["username"], "alice");
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_ends_the_sign_in_but_not_others() {
    let app = TestApp::spawn().await;
    let phone = app.register("alice").await;
    let laptop = app
        .gql(None, LOGIN, json!({ "u": "alice", "p": phone.password }))
        .await;
    let laptop_access = laptop["data"]["login"]["accessToken"]
        .as_str()
        .expect("token");

    let out = app
        .gql(
            None,
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": phone.refresh }),
        )
        .await;
    assert_eq!(out["data"]["logout"], true, "{out}");

    // The query runs while the sign-in is checked; its answer is not the one sent.
    let me = app.gql(Some(&phone.access), ME, json!({})).await;
    assert_eq!(error_code(&me), Some("UNAUTHENTICATED"));
    assert!(!me.to_string().contains("alice"), "{me}");
    let refresh = app.gql(None, REFRESH, json!({ "t": phone.refresh })).await;
    assert_eq!(error_code(&refresh), Some("UNAUTHENTICATED"));
    let me = app.gql(Some(laptop_access), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["username"], "alice");

    let everywhere = app
        .gql(
            Some(laptop_access),
            "mutation { logoutEverywhere }",
            json!({}),
        )
        .await;
    assert_eq!(everywhere["data"]["logoutEverywhere"], true);
    let me = app.gql(Some(laptop_access), ME, json!({})).await;
    assert_eq!(error_code(&me), Some("UNAUTHENTICATED"));
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_forged_and_garbage_tokens_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let claims_of_alice = |exp: i64| Claims {
        sub: Uuid::parse_str(&alice.id).expect("uuid"),
        fam: Uuid::now_v7(),
        iat: exp - 900,
        exp,
        adm: false,
    };
    // Signed with our key, but past its expiry.
    let expired = app
        .state
        .token_key
        .sign(&claims_of_alice(Utc::now().timestamp() - 1));
    // Signed with another key.
    let forged = TokenKey::random()
        .expect("key")
        .sign(&claims_of_alice(Utc::now().timestamp() + 600));
    // A genuine token whose payload was swapped.
    let (_, signature) = alice.access.split_once('.').expect("two parts");
    let (other_payload, _) = forged.split_once('.').expect("two parts");
    let tampered = format!("{other_payload}.{signature}");

    for token in [expired.as_str(), &forged, &tampered, "garbage", "a.b"] {
        let me = app.gql(Some(token), ME, json!({})).await;
        assert_eq!(error_code(&me), Some("UNAUTHENTICATED"), "{token}: {me}");
        assert!(me["data"].is_null(), "{me}");
    }
    let expired_message = app.gql(Some(&expired), ME, json!({})).await;
    assert!(
        expired_message["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("expired")),
        "{expired_message}"
    );
    // Public mutations still work with a bad token attached.
    let login = app
        .gql(
            Some("garbage"),
            LOGIN,
            json!({ "u": "alice", "p": alice.password }),
        )
        .await;
    assert!(login["data"]["login"]["accessToken"].is_string(), "{login}");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_registration_of_one_name_makes_one_account() {
    let app = TestApp::spawn().await;
    let attempt = |name: &'static str| {
        app.gql_when_hashing_frees(
            None,
            "mutation($u: String!) { register(input: {username: $u, password: \"password1\", displayName: \"Dup\"}) { user { id } } }",
            json!({ "u": name }),
        )
    };
    let results = futures_util::future::join_all([
        attempt("dup.user"),
        attempt("DUP.USER"),
        attempt("dup.user"),
        attempt("Dup.User"),
    ])
    .await;
    let created = results
        .iter()
        .filter(|r| r["data"]["register"]["user"]["id"].is_string())
        .count();
    let conflicts = results
        .iter()
        .filter(|r| error_code(r) == Some("CONFLICT"))
        .count();
    assert_eq!((created, conflicts), (1, 3), "{results:?}");
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_profile_changes_and_clears_fields() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let updated = app
        .gql(
            Some(&alice.access),
            "mutation { updateProfile(input: {displayName: \"Alice L.\", location: \"Lyon\"}) { displayName location } }",
            json!({}),
        )
        .await;
    assert_eq!(updated["data"]["updateProfile"]["displayName"], "Alice L.");
    assert_eq!(updated["data"]["updateProfile"]["location"], "Lyon");
    // Omitted fields stay; null clears the location.
    let cleared = app
        .gql(
            Some(&alice.access),
            "mutation { updateProfile(input: {location: null}) { displayName location } }",
            json!({}),
        )
        .await;
    assert_eq!(cleared["data"]["updateProfile"]["displayName"], "Alice L.");
    assert!(cleared["data"]["updateProfile"]["location"].is_null());
    let anonymous = app
        .gql(
            None,
            "mutation { updateProfile(input: {displayName: \"X\"}) { displayName } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
}

#[tokio::test(flavor = "multi_thread")]
async fn others_see_only_public_fields() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let seen = app
        .gql(
            Some(&bob.access),
            "query($id: ID!) { user(id: $id) { username displayName account { role } } }",
            json!({ "id": alice.id }),
        )
        .await;
    assert_eq!(seen["data"]["user"]["username"], "alice", "{seen}");
    assert!(seen["data"]["user"]["account"].is_null(), "{seen}");

    let missing = app
        .gql(
            Some(&bob.access),
            "query($id: ID!) { user(id: $id) { username } }",
            json!({ "id": Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(error_code(&missing), Some("NOT_FOUND"));
    let malformed = app
        .gql(
            Some(&bob.access),
            "query($id: ID!) { user(id: $id) { username } }",
            json!({ "id": "1 OR 1=1" }),
        )
        .await;
    assert_eq!(error_code(&malformed), Some("BAD_USER_INPUT"));
    let anonymous = app
        .gql(
            None,
            "query($id: ID!) { user(id: $id) { username } }",
            json!({ "id": alice.id }),
        )
        .await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
}

#[tokio::test(flavor = "multi_thread")]
async fn users_pages_through_search_results_in_order() {
    let app = TestApp::spawn().await;
    let viewer = app.register("viewer").await;
    for name in ["ann", "anna", "annabel", "bob", "joanne", "an_n"] {
        app.register(name).await;
    }
    let query = "query($s: String, $f: Int, $a: String) { users(search: $s, first: $f, after: $a) { edges { cursor node { username } } pageInfo { hasNextPage endCursor } } }";
    let pages = follow_pages("/users", 5, |after| {
        app.gql(
            Some(&viewer.access),
            query,
            json!({ "s": "ANN", "f": 2, "a": after }),
        )
    })
    .await;
    let seen: Vec<&str> = pages
        .iter()
        .flat_map(|page| page["edges"].as_array().expect("edges"))
        .map(|e| e["node"]["username"].as_str().expect("name"))
        .collect();
    assert_eq!(seen, ["ann", "anna", "annabel", "joanne"]);

    // '_' is a literal, not a LIKE wildcard.
    let literal = app
        .gql(Some(&viewer.access), query, json!({ "s": "n_n" }))
        .await;
    let names: Vec<_> = ok_data(&literal)["users"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["username"].clone())
        .collect();
    assert_eq!(names, [json!("an_n")]);

    for (vars, code) in [
        (json!({ "f": 0 }), "BAD_USER_INPUT"),
        (json!({ "f": 101 }), "BAD_USER_INPUT"),
        (json!({ "a": "not-a-cursor" }), "BAD_USER_INPUT"),
        (json!({ "s": "x".repeat(65) }), "BAD_USER_INPUT"),
    ] {
        let response = app.gql(Some(&viewer.access), query, vars.clone()).await;
        assert_eq!(error_code(&response), Some(code), "{vars}: {response}");
    }
}
