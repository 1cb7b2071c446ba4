//! GraphQL over HTTP as the spec has it: methods, media types, status codes, limits.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use crate::chat::{direct, send as send_message};
use crate::harness::{Answer, TestApp, assert_keys_in_order, error_code, graphql_request, ok_data};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post(app: &TestApp, accept: Option<&str>, body: impl Into<Body>) -> Answer {
    let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    app.send(request.body(body.into()).expect("request")).await
}

async fn get(app: &TestApp, accept: &str, query_string: &str) -> Answer {
    app.send(
        Request::get(format!("/graphql?{query_string}"))
            .header(header::ACCEPT, accept)
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_accepting_only_json_gets_json_with_200_even_for_invalid_queries() {
    let app = TestApp::spawn().await;
    let ok = post(
        &app,
        Some("application/json"),
        r#"{"query":"{ __typename }"}"#,
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(
        ok.content_type().starts_with("application/json"),
        "{}",
        ok.content_type()
    );
    assert_eq!(ok.json()["data"]["__typename"], "Query");

    let syntax = post(&app, Some("application/json"), r#"{"query":"{ me { "}"#).await;
    assert_eq!(syntax.status, StatusCode::OK);
    assert!(syntax.content_type().starts_with("application/json"));
    assert!(syntax.json()["errors"].is_array());

    // No Accept header at all is treated as application/json.
    let none = post(&app, None, r#"{"query":"{ nope }"}"#).await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.content_type().starts_with("application/json"));
}

#[tokio::test(flavor = "multi_thread")]
async fn graphql_response_json_gets_the_specs_status_codes() {
    let app = TestApp::spawn().await;
    let ok = post(
        &app,
        Some(GRAPHQL_RESPONSE),
        r#"{"query":"{ __typename }"}"#,
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(
        ok.content_type().starts_with(GRAPHQL_RESPONSE),
        "{}",
        ok.content_type()
    );

    // Parse error and validation error: 400, no data.
    for query in [r#"{"query":"{ me { "}"#, r#"{"query":"{ noSuchField }"}"#] {
        let answer = post(&app, Some(GRAPHQL_RESPONSE), query).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(answer.content_type().starts_with(GRAPHQL_RESPONSE));
        let body = answer.json();
        assert!(
            body["errors"].is_array() && body["data"].is_null(),
            "{body}"
        );
    }
    // A field error during execution is still 200, with the error and its code.
    let exec = post(&app, Some(GRAPHQL_RESPONSE), r#"{"query":"{ me { id } }"}"#).await;
    assert_eq!(exec.status, StatusCode::OK);
    assert_eq!(error_code(&exec.json()), Some("UNAUTHENTICATED"));

    // Preference follows quality values.
    let prefers_json = post(
        &app,
        Some("application/graphql-response+json;q=0.5, application/json"),
        r#"{"query":"{ __typename }"}"#,
    )
    .await;
    assert!(prefers_json.content_type().starts_with("application/json"));
    // Nothing acceptable: 406.
    let neither = post(&app, Some("text/csv"), r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(neither.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_required_variable_left_out_is_a_request_error() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let send = |body: serde_json::Value| {
        let request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, GRAPHQL_RESPONSE)
            .header(header::AUTHORIZATION, format!("Bearer {}", alice.access))
            .body(Body::from(body.to_string()))
            .expect("request");
        app.send(request)
    };
    let query = "query Profile($id: ID!) { user(id: $id) { username } }";
    // Twice each: the first parses the text, the second finds it kept.
    for body in [
        json!({ "query": query, "variables": {} }),
        json!({ "query": query }),
        json!({ "query": query, "variables": {} }),
        json!({ "query": query }),
    ] {
        let refused = send(body.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
        let answer = refused.json();
        assert!(answer["data"].is_null(), "{answer}");
        assert_eq!(
            answer["errors"][0]["message"],
            "Variable \"$id\" of required type \"ID!\" was not provided.",
            "{answer}"
        );
        assert_eq!(
            answer["errors"][0]["locations"][0]["column"], 15,
            "{answer}"
        );
        assert_eq!(error_code(&answer), Some("GRAPHQL_VALIDATION_FAILED"));
    }
    // A default stands in for it; a nullable one may be left out.
    let with_default = format!(
        "query($id: ID! = \"{}\") {{ user(id: $id) {{ username }} }}",
        alice.id
    );
    let found = send(json!({ "query": with_default })).await;
    assert_eq!(ok_data(&found.json())["user"]["username"], "alice");
    let nullable = "query($after: String) { sessions(after: $after) { edges { cursor } } }";
    let found = send(json!({ "query": nullable })).await;
    assert_eq!(ok_data(&found.json())["sessions"]["edges"], json!([]));
    // Of several operations, only the one asked for counts.
    let two =
        "query Mine { me { username } } query Theirs($id: ID!) { user(id: $id) { username } }";
    let found = send(json!({ "query": two, "operationName": "Mine" })).await;
    assert_eq!(ok_data(&found.json())["me"]["username"], "alice");
    let refused = send(json!({ "query": two, "operationName": "Theirs" })).await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refused.json()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_document_sent_again_is_still_checked_against_its_variables() {
    // The server keeps the documents it parsed; the variables of each request are its own.
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let query = "query($id: ID!) { user(id: $id) { username } }";
    let with = |variables: serde_json::Value| {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, GRAPHQL_RESPONSE)
            .header(header::AUTHORIZATION, format!("Bearer {}", alice.access))
            .body(Body::from(body))
            .expect("request");
        app.send(request)
    };
    for _ in 0..2 {
        let found = with(json!({ "id": alice.id })).await;
        assert_eq!(found.status, StatusCode::OK);
        assert_eq!(ok_data(&found.json())["user"]["username"], "alice");
    }
    // A variable of the wrong type is still a request error (400, no data) on a document the
    // server has kept.
    for variables in [
        json!({ "id": [1] }),
        json!({ "id": null }),
        json!({ "id": { "a": 1 } }),
    ] {
        let refused = with(variables.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{variables}: {}",
            refused.json()
        );
        let body = refused.json();
        assert!(body["data"].is_null(), "{body}");
        assert_eq!(
            error_code(&body),
            Some("GRAPHQL_VALIDATION_FAILED"),
            "{body}"
        );
    }
    // And the document is still served right after.
    let again = with(json!({ "id": alice.id })).await;
    assert_eq!(ok_data(&again.json())["user"]["username"], "alice");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_document_validated_once_is_still_held_to_its_limits_and_its_errors() {
    // A kept document the schema has validated skips the rules that depend on it alone; what
    // depends on the request (complexity from a variable, the variables' values) still counts,
    // and a document that failed validation fails every time.
    let app = TestApp::spawn_with(|c| c.max_query_complexity = 100).await;
    let alice = app.register("alice").await;
    let token = Some(alice.access.as_str());
    let page = "query($n: Int) { sessions(first: $n) { edges { node { id title } } } }";
    let refused_code = |answer: serde_json::Value| {
        assert!(answer["data"].is_null(), "{answer}");
        error_code(&answer).map(str::to_owned)
    };
    for _ in 0..3 {
        let small = app.gql(token, page, json!({ "n": 2 })).await;
        assert!(small["data"]["sessions"]["edges"].is_array(), "{small}");
        assert!(small.get("errors").is_none(), "{small}");
    }
    let large = app.gql(token, page, json!({ "n": 50 })).await;
    assert_eq!(
        refused_code(large.clone()).as_deref(),
        Some("GRAPHQL_VALIDATION_FAILED")
    );
    assert!(large.to_string().contains("too complex"), "{large}");
    let wrong = app.gql(token, page, json!({ "n": "two" })).await;
    assert_eq!(
        refused_code(wrong).as_deref(),
        Some("GRAPHQL_VALIDATION_FAILED")
    );

    let unknown_field = "query($id: ID!) { user(id: $id) { username nickname } }";
    for _ in 0..3 {
        let answer = app
            .gql(token, unknown_field, json!({ "id": alice.id }))
            .await;
        assert!(answer.to_string().contains("nickname"), "{answer}");
        assert_eq!(
            refused_code(answer).as_deref(),
            Some("GRAPHQL_VALIDATION_FAILED")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_bodies_are_400_and_wrong_media_types_415() {
    let app = TestApp::spawn().await;
    for body in [
        &b"not json"[..],
        br#"{"query": 5}"#,
        br#"{"variables": {}}"#,
        // Invalid UTF-8 inside a JSON string.
        b"{\"query\":\"{ __typename \xff\xfe }\"}",
    ] {
        let answer = post(&app, Some("application/json"), body.to_vec()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(error_code(&answer.json()), Some("BAD_USER_INPUT"));
    }
    let wrong_type = app
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("{ __typename }"))
                .expect("request"),
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_utf8_in_a_registration_stores_nothing() {
    let app = TestApp::spawn().await;
    let before = app.count("users").await;
    let mut body = br#"{"query":"mutation { register(input: {username: \"mallory\", password: \"12345678\", displayName: \""#.to_vec();
    body.extend_from_slice(b"\xc3\x28");
    body.extend_from_slice(br#"\"}) { user { id } } }"}"#);
    let answer = post(&app, Some("application/json"), body).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.count("users").await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_runs_queries_refuses_mutations_and_serves_graphiql_to_browsers() {
    let app = TestApp::spawn().await;
    let query = get(&app, "application/json", "query=%7B%20__typename%20%7D").await;
    assert_eq!(query.status, StatusCode::OK);
    assert_eq!(query.json()["data"]["__typename"], "Query");

    let mutation = get(
        &app,
        "application/json",
        "query=mutation%20%7B%20logoutEverywhere%20%7D",
    )
    .await;
    assert_eq!(mutation.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        mutation
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    // Also when the mutation is picked by operationName among several operations.
    let named = get(
        &app,
        "application/json",
        "query=query%20A%20%7B%20__typename%20%7D%20mutation%20B%20%7B%20logoutEverywhere%20%7D&operationName=B",
    )
    .await;
    assert_eq!(named.status, StatusCode::METHOD_NOT_ALLOWED);

    let page = get(&app, "text/html,application/xhtml+xml", "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"));
    assert!(String::from_utf8_lossy(&page.body).contains("graphiql"));
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_bodies_deep_queries_and_huge_pages_are_refused() {
    let app = TestApp::spawn_with(|c| c.body_limit_bytes = 4096).await;
    let big = json!({ "query": format!("{{ __typename }} # {}", "x".repeat(8192)) }).to_string();
    let answer = post(&app, Some("application/json"), big).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Introspection nested past the depth limit is a validation error.
    let nested = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } } } } }";
    let too_deep = post(
        &app,
        Some(GRAPHQL_RESPONSE),
        json!({ "query": nested }).to_string(),
    )
    .await;
    assert_eq!(too_deep.status, StatusCode::BAD_REQUEST);

    // A page above a connection's maximum is a typed error; the maximum itself is served.
    use messenger::services::{accounts, messages, sessions};
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let session = direct(&app, &alice, &bob).await;
    let connections = [
        (
            "query($f: Int) { users(first: $f) { edges { cursor } } }",
            accounts::MAX_PAGE,
            json!({}),
        ),
        (
            "query($f: Int) { sessions(first: $f) { edges { cursor } } }",
            sessions::MAX_PAGE,
            json!({}),
        ),
        (
            "query($f: Int) { searchMessages(text: \"hello\", first: $f) { edges { cursor } } }",
            messages::MAX_PAGE,
            json!({}),
        ),
        (
            "query($s: ID!, $f: Int) { session(id: $s) { messages(first: $f) { edges { cursor } } } }",
            messages::MAX_PAGE,
            json!({ "s": session }),
        ),
    ];
    for (query, max, mut vars) in connections {
        vars["f"] = json!(max);
        let at_max = app.gql(Some(&alice.access), query, vars.clone()).await;
        ok_data(&at_max);
        vars["f"] = json!(max + 1);
        let above = app.gql(Some(&alice.access), query, vars).await;
        assert_eq!(
            error_code(&above),
            Some("BAD_USER_INPUT"),
            "{query}: {above}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let health = app
        .send(
            Request::get("/healthz")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(health.status, StatusCode::OK);
    let ready = app
        .send(
            Request::get("/readyz")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["ready"], true);
}

/// The spec orders a response's keys as the query selected them. A field that waits on a
/// batch load (`sender` of a message fetched by id) used to come back after the fields that
/// did not wait, whatever its place in the query.
#[tokio::test(flavor = "multi_thread")]
async fn response_keys_come_in_the_order_the_query_asked() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let session = direct(&app, &alice, &bob).await;
    let sent = send_message(&app, &alice, &session, "hello").await;
    let query = "query($id: ID!) { message(id: $id) { sender { username id: username } \
                 seq body ... on Message { session { id } kind: __typename } } }";
    let answer = app
        .send(graphql_request(
            Some(&bob.access),
            query,
            json!({ "id": sent["id"] }),
        ))
        .await;
    ok_data(&answer.ok_json());
    let expected = json!({ "data": { "message": {
        "sender": { "username": "alice", "id": "alice" },
        "seq": 1,
        "body": "hello",
        "session": { "id": session },
        "kind": "Message",
    } } });
    assert_keys_in_order(
        &String::from_utf8_lossy(&answer.body),
        &["sender", "username", "id", "seq", "body", "session", "kind"],
    );
    assert_eq!(answer.json(), expected);
}
