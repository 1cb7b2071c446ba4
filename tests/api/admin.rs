//! The admin role: what only admins may do, deactivation, and the CLI that creates the first
//! admin.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{TestApp, TestUser, error_code, ok_data, output_within};

/// Every admin-only operation, as (name, query, variables for a target user id).
fn admin_operations(target: &str) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "allUsers",
            "{ allUsers { edges { node { username } } } }",
            json!({}),
        ),
        (
            "deactivateUser",
            "mutation($id: ID!) { deactivateUser(id: $id) { username } }",
            json!({ "id": target }),
        ),
        (
            "reactivateUser",
            "mutation($id: ID!) { reactivateUser(id: $id) { username } }",
            json!({ "id": target }),
        ),
        (
            "setUserRole",
            "mutation($id: ID!) { setUserRole(id: $id, role: ADMIN) { username } }",
            json!({ "id": target }),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_operations_are_refused_to_everyone_but_admins() {
    let app = TestApp::spawn().await;
    let admin = app.register_admin("root.admin").await;
    let user = app.register("plain").await;
    let target = app.register("target").await;
    let before = app.fingerprint().await;

    for (name, query, vars) in admin_operations(&target.id) {
        let anonymous = app.gql(None, query, vars.clone()).await;
        assert_eq!(
            error_code(&anonymous),
            Some("UNAUTHENTICATED"),
            "{name}: {anonymous}"
        );
        let as_user = app.gql(Some(&user.access), query, vars.clone()).await;
        assert_eq!(error_code(&as_user), Some("FORBIDDEN"), "{name}: {as_user}");
        // Not even on oneself.
        let own = admin_operations(&user.id)
            .into_iter()
            .find(|(n, _, _)| *n == name)
            .expect("same operation");
        let on_self = app.gql(Some(&user.access), own.1, own.2).await;
        assert_eq!(error_code(&on_self), Some("FORBIDDEN"), "{name}: {on_self}");
    }
    assert_eq!(
        app.fingerprint().await,
        before,
        "refused operations changed nothing"
    );

    for (name, query, vars) in admin_operations(&target.id) {
        let as_admin = app.gql(Some(&admin.access), query, vars).await;
        assert!(as_admin["errors"].is_null(), "{name}: {as_admin}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deactivated_user_is_locked_out_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.register_admin("boss").await;
    let bob = app.register("bob").await;

    let done = app
        .gql(
            Some(&admin.access),
            "mutation($id: ID!) { deactivateUser(id: $id) { account { active deactivatedAt } } }",
            json!({ "id": bob.id }),
        )
        .await;
    assert_eq!(
        done["data"]["deactivateUser"]["account"]["active"], false,
        "{done}"
    );

    // His access token, his refresh token and his password all stop working.
    let me = app.gql(Some(&bob.access), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&me), Some("UNAUTHENTICATED"));
    let refresh = app
        .gql(
            None,
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": bob.refresh }),
        )
        .await;
    assert_eq!(error_code(&refresh), Some("UNAUTHENTICATED"));
    let answer = sign_in(&app, &bob).await;
    assert_eq!(error_code(&answer), Some("UNAUTHENTICATED"));

    // Hidden from the public listing, visible to admins with its status.
    let listing = app
        .gql(
            Some(&admin.access),
            "{ users { edges { node { username } } } }",
            json!({}),
        )
        .await;
    let listed: Vec<&str> = ok_data(&listing)["users"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["username"].as_str())
        .collect();
    assert_eq!(listed, ["boss"], "{listing}");
    let all = app
        .gql(
            Some(&admin.access),
            "{ allUsers { edges { node { username account { active } } } } }",
            json!({}),
        )
        .await;
    let bob_row = all["data"]["allUsers"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .find(|e| e["node"]["username"] == "bob")
        .cloned()
        .expect("bob is listed for admins");
    assert_eq!(bob_row["node"]["account"]["active"], false);

    // Reactivated, he signs in again with his password.
    app.gql(
        Some(&admin.access),
        "mutation($id: ID!) { reactivateUser(id: $id) { username } }",
        json!({ "id": bob.id }),
    )
    .await;
    let answer = sign_in(&app, &bob).await;
    assert!(
        answer["data"]["login"]["accessToken"].is_string(),
        "{answer}"
    );
}

async fn sign_in(app: &TestApp, user: &TestUser) -> Value {
    app.gql(
        None,
        "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { accessToken } }",
        json!({ "u": user.username, "p": user.password }),
    )
    .await
}

/// `admin` gives `user` the `role` (`ADMIN` or `USER`).
async fn set_role(app: &TestApp, admin: &TestUser, user: &TestUser, role: &str) {
    let changed = app
        .gql(
            Some(&admin.access),
            "mutation($id: ID!, $r: Role!) { setUserRole(id: $id, role: $r) { username } }",
            json!({ "id": user.id, "r": role }),
        )
        .await;
    assert!(changed["errors"].is_null(), "{changed}");
}

/// An admin-only query, with `token`.
async fn all_users(app: &TestApp, token: &str) -> Value {
    app.gql(Some(token), "{ allUsers { edges { cursor } } }", json!({}))
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn role_changes_take_effect_on_the_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.register_admin("boss").await;
    let carol = app.register("carol").await;
    let before = all_users(&app, &carol.access).await;
    assert_eq!(error_code(&before), Some("FORBIDDEN"));
    set_role(&app, &admin, &carol, "ADMIN").await;
    let after = all_users(&app, &carol.access).await;
    assert!(after["errors"].is_null(), "{after}");

    // A token issued while she is an admin says so; once she is not, it opens nothing an
    // admin may see, on the very next request.
    let admin_token = sign_in(&app, &carol).await;
    let admin_token = admin_token["data"]["login"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    set_role(&app, &admin, &carol, "USER").await;
    let demoted = all_users(&app, &admin_token).await;
    assert_eq!(error_code(&demoted), Some("FORBIDDEN"), "{demoted}");
    let me = app
        .gql(Some(&admin_token), "{ me { account { role } } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["account"]["role"], "USER", "{me}");

    // Admins cannot lock themselves out.
    for query in [
        "mutation($id: ID!) { deactivateUser(id: $id) { username } }",
        "mutation($id: ID!) { setUserRole(id: $id, role: USER) { username } }",
    ] {
        let own = app
            .gql(Some(&admin.access), query, json!({ "id": admin.id }))
            .await;
        assert_eq!(error_code(&own), Some("BAD_USER_INPUT"), "{own}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_creates_an_admin_with_a_password_from_stdin() {
    let app = TestApp::spawn().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_messenger"))
        .args([
            "admin",
            "create-user",
            "--username",
            "First.Admin",
            "--admin",
        ])
        .env("DATABASE_URL", &app.db.url)
        .env("MESSENGER_TOKEN_KEY", "k".repeat(32))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running messenger");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a long admin password\n")
        .expect("writing the password");
    let output = output_within(child, Duration::from_secs(60));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("created admin first.admin"));

    let login = app
        .gql(
            None,
            "mutation { login(input: {username: \"first.admin\", password: \"a long admin password\"}) { accessToken user { account { role } } } }",
            json!({}),
        )
        .await;
    let token = login["data"]["login"]["accessToken"]
        .as_str()
        .expect("token");
    let me = app
        .gql(Some(token), "{ me { account { role } } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["account"]["role"], "ADMIN", "{me}");

    // A password on the command line is refused outright.
    let refused = Command::new(env!("CARGO_BIN_EXE_messenger"))
        .args([
            "admin",
            "create-user",
            "--username",
            "x.y.z",
            "--password",
            "secret123",
        ])
        .env("DATABASE_URL", &app.db.url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running messenger");
    let refused = output_within(refused, Duration::from_secs(60));
    assert!(!refused.status.success());
    assert_eq!(app.count("users").await, 1);
}
