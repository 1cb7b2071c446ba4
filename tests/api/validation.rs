//! Every input rule at its boundary, and hostile input: typed errors, nothing stored.

use serde_json::{Value, json};

use crate::harness::{TestApp, error_code};

const REGISTER: &str = "mutation($u: String!, $p: String!, $d: String!, $l: String) { register(input: {username: $u, password: $p, displayName: $d, location: $l}) { user { username displayName location } } }";

fn registration(username: &str, password: &str, display: &str, location: Option<&str>) -> Value {
    json!({ "u": username, "p": password, "d": display, "l": location })
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_rules_hold_at_their_boundaries() {
    let app = TestApp::spawn().await;
    let long_password = "p".repeat(1024);
    let accepted = [
        registration("abc", "12345678", "A", None),
        registration(
            &"b".repeat(32),
            "12345678",
            &"é".repeat(64),
            Some(&"l".repeat(100)),
        ),
        registration("c_d.e9", "ééééééééé", "Zoé Ä", Some("")),
        registration("long.password", &long_password, "Long", None),
    ];
    for vars in accepted {
        let response = app.gql(None, REGISTER, vars.clone()).await;
        assert!(response["errors"].is_null(), "{vars}: {response}");
    }
    let users_before = app.count("users").await;
    let before = app.fingerprint().await;
    let refused = [
        (
            "username too short",
            registration("ab", "12345678", "A", None),
        ),
        (
            "username too long",
            registration(&"b".repeat(33), "12345678", "A", None),
        ),
        (
            "username with space",
            registration("a b c", "12345678", "A", None),
        ),
        (
            "username with accent",
            registration("abé", "12345678", "A", None),
        ),
        (
            "username with dash",
            registration("a-bc", "12345678", "A", None),
        ),
        (
            "password too short",
            registration("shortpw", "1234567", "A", None),
        ),
        (
            "password too long",
            registration("longpw", &"p".repeat(1025), "A", None),
        ),
        (
            "password multibyte too long",
            registration("longpw2", &"é".repeat(513), "A", None),
        ),
        (
            "display name empty",
            registration("nodisplay", "12345678", "", None),
        ),
        (
            "display name blank",
            registration("blankdisplay", "12345678", "   ", None),
        ),
        (
            "display name too long",
            registration("longdisplay", "12345678", &"é".repeat(65), None),
        ),
        (
            "display name control",
            registration("ctrl", "12345678", "bell\u{7}", None),
        ),
        (
            "display name newline",
            registration("ctrl2", "12345678", "two\nlines", None),
        ),
        (
            "display name escape",
            registration("ctrl3", "12345678", "\u{1b}[31mred", None),
        ),
        (
            "location too long",
            registration("longloc", "12345678", "A", Some(&"l".repeat(101))),
        ),
        (
            "location control",
            registration("ctrlloc", "12345678", "A", Some("a\u{0}b")),
        ),
    ];
    for (what, vars) in refused {
        let response = app.gql(None, REGISTER, vars).await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{what}: {response}"
        );
        assert!(response["data"].is_null(), "{what}");
    }
    assert_eq!(app.count("users").await, users_before);
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn text_is_stored_nfc_normalized() {
    let app = TestApp::spawn().await;
    // "Zoë" with a combining diaeresis, and a decomposed "é" in the location.
    let response = app
        .gql(
            None,
            REGISTER,
            registration("zoe", "12345678", "Zoe\u{308}", Some("Re\u{301}union")),
        )
        .await;
    let user = &response["data"]["register"]["user"];
    assert_eq!(user["displayName"], "Zo\u{eb}", "{response}");
    assert_eq!(user["location"], "R\u{e9}union");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_strings_get_typed_errors_and_change_nothing() {
    let app = TestApp::spawn().await;
    let victim = app.register("victim").await;
    let before = app.fingerprint().await;
    let hostile = [
        "'; DROP TABLE users; --",
        "victim' OR '1'='1",
        "\" OR 1=1 --",
        "\u{0}",
        "\u{202e}evil",
    ];
    for text in hostile {
        let register = app
            .gql(None, REGISTER, registration(text, "12345678", "A", None))
            .await;
        assert_eq!(
            error_code(&register),
            Some("BAD_USER_INPUT"),
            "{text:?}: {register}"
        );
        let login = app
            .gql(
                None,
                "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { accessToken } }",
                json!({ "u": text, "p": text }),
            )
            .await;
        assert_eq!(
            error_code(&login),
            Some("UNAUTHENTICATED"),
            "{text:?}: {login}"
        );
        let lookup = app
            .gql(
                Some(&victim.access),
                "query($id: ID!) { user(id: $id) { id } }",
                json!({ "id": text }),
            )
            .await;
        assert_eq!(
            error_code(&lookup),
            Some("BAD_USER_INPUT"),
            "{text:?}: {lookup}"
        );
        let refresh = app
            .gql(
                None,
                "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
                json!({ "t": text }),
            )
            .await;
        assert_eq!(
            error_code(&refresh),
            Some("UNAUTHENTICATED"),
            "{text:?}: {refresh}"
        );
    }
    // Searching with SQL-shaped text finds nothing and breaks nothing.
    let search = app
        .gql(
            Some(&victim.access),
            "query($s: String) { users(search: $s) { edges { node { username } } } }",
            json!({ "s": "' OR 1=1 --" }),
        )
        .await;
    assert_eq!(search["data"]["users"]["edges"], json!([]), "{search}");
    // A very long string is refused by length, not stored truncated.
    let huge = "x".repeat(100_000);
    let long = app
        .gql(
            None,
            REGISTER,
            registration("huge", "12345678", &huge, None),
        )
        .await;
    assert_eq!(error_code(&long), Some("BAD_USER_INPUT"));
    let long_login = app
        .gql(
            None,
            "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { accessToken } }",
            json!({ "u": "victim", "p": huge }),
        )
        .await;
    assert_eq!(error_code(&long_login), Some("UNAUTHENTICATED"));
    assert_eq!(app.fingerprint().await, before);
}
