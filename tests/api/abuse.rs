//! Requests a buggy or hostile client can send: every error carries a code (over HTTP and the
//! socket), operations are bounded in fields and batches, introspection can be switched off,
//! and browsers get CORS grants only for the configured origins and strict security headers.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::harness::{TestApp, error_code, ok_data};
use crate::wsclient::{Frame, WsClient};

/// Every error of a response, with its code.
fn codes(response: &Value) -> Vec<Option<String>> {
    response["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {response}"))
        .iter()
        .map(|e| e["extensions"]["code"].as_str().map(str::to_owned))
        .collect()
}

fn post(body: Value) -> Request<Body> {
    Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_carries_a_code_over_http_and_the_socket() {
    let app = TestApp::spawn_with(|c| c.max_query_depth = 5).await;
    let user = app.register("coded").await;
    let cases = [
        ("{ me { id ", json!({}), None, "GRAPHQL_PARSE_FAILED"),
        (
            "{ me { nope } }",
            json!({}),
            None,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "{ user(id: 5, extra: 1) { id } }",
            json!({}),
            None,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "query($n: Int!) { users(first: $n) { edges { cursor } } }",
            json!({ "n": "many" }),
            None,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "query A { me { id } } query B { me { id } }",
            json!({}),
            None,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "query A { me { id } }",
            json!({}),
            Some("C"),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "{ sessions { edges { node { messages { edges { node { session { id } } } } } } } }",
            json!({}),
            None,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "{ user(id: \"not-a-uuid\") { id } }",
            json!({}),
            None,
            "BAD_USER_INPUT",
        ),
    ];
    for (query, variables, operation, expected) in cases {
        let mut body = json!({ "query": query, "variables": variables });
        if let Some(name) = operation {
            body["operationName"] = json!(name);
        }
        let request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {}", user.access))
            .body(Body::from(body.to_string()))
            .expect("request");
        let response = app.send(request).await.json();
        let codes = codes(&response);
        assert!(
            !codes.is_empty() && codes.iter().all(|c| c.as_deref() == Some(expected)),
            "{query}: {response}"
        );
    }

    // The socket answers a failing operation with an `error` message carrying the same code.
    let addr = app.serve().await;
    let mut ws = WsClient::connect(addr, "graphql-transport-ws").await;
    ws.init(Some(&user.access)).await;
    for (id, query, expected) in [
        ("p", "subscription { events { kind ", "GRAPHQL_PARSE_FAILED"),
        (
            "v",
            "subscription { events { nope } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ] {
        ws.subscribe(id, query, json!({})).await;
        match ws.next().await {
            Frame::Json(v) if v["type"] == "error" && v["id"] == id => {
                assert_eq!(v["payload"][0]["extensions"]["code"], expected, "{v}");
            }
            other => panic!("expected an error for {id}, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operation_selects_a_bounded_number_of_fields() {
    let app = TestApp::spawn_with(|c| c.max_fields = 10).await;
    let aliases = |n: usize| {
        let fields: Vec<String> = (0..n).map(|i| format!("a{i}: __typename")).collect();
        format!("{{ {} }}", fields.join(" "))
    };
    let at_limit = app.gql(None, &aliases(10), json!({})).await;
    assert_eq!(ok_data(&at_limit)["a9"], "Query");
    let over = app.gql(None, &aliases(11), json!({})).await;
    assert_eq!(error_code(&over), Some("BAD_USER_INPUT"), "{over}");
    assert!(over["data"].is_null(), "{over}");
    // A fragment counts each time it is spread: 3 + 2 × (1 + 4) = 13 (once, it would be 9).
    let spread = "{ a: __typename b: __typename ...F x: __schema { ...G } y: __schema { ...G } } \
                  fragment F on Query { c: __typename } \
                  fragment G on __Schema { __typename description queryType { name } }";
    let spread = app.gql(None, spread, json!({})).await;
    assert_eq!(error_code(&spread), Some("BAD_USER_INPUT"), "{spread}");

    // With the defaults, 1,001 short aliases fit the text bound but not the field bound, and
    // the 10,000-alias query is refused for its length before it is parsed.
    let app = TestApp::spawn().await;
    let wide = app.gql(None, &aliases(1001), json!({})).await;
    assert_eq!(error_code(&wide), Some("BAD_USER_INPUT"), "{wide}");
    let message = wide["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("1000 fields"), "{wide}");
    let huge = app.gql(None, &aliases(10_000), json!({})).await;
    assert_eq!(error_code(&huge), Some("BAD_USER_INPUT"), "{huge}");
    let message = huge["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("longer than 32768 bytes"), "{huge}");
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_are_capped_and_each_entry_meets_the_limits() {
    let app = TestApp::spawn_with(|c| {
        c.max_batch = 3;
        c.max_fields = 5;
    })
    .await;
    let one = json!({ "query": "{ __typename }" });
    let answer = app.send(post(json!([one, one, one]))).await;
    let results = answer.ok_json();
    assert_eq!(results.as_array().map(Vec::len), Some(3), "{results}");
    for result in results.as_array().into_iter().flatten() {
        assert_eq!(ok_data(result)["__typename"], "Query");
    }

    let refused = app.send(post(json!([one, one, one, one]))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let refused = refused.json();
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
    assert!(refused["data"].is_null());

    // Within a batch, each entry gets the field bound on its own.
    let wide = json!({ "query": "{ a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename }" });
    let mixed = app.send(post(json!([one, wide]))).await.ok_json();
    assert_eq!(ok_data(&mixed[0])["__typename"], "Query");
    assert_eq!(error_code(&mixed[1]), Some("BAD_USER_INPUT"), "{mixed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn introspection_can_be_switched_off() {
    let query = "{ __schema { queryType { name } } }";
    let open = TestApp::spawn().await;
    let answer = open.gql(None, query, json!({})).await;
    assert_eq!(ok_data(&answer)["__schema"]["queryType"]["name"], "Query");

    let closed = TestApp::spawn_with(|c| c.introspection = false).await;
    for query in [
        query,
        "{ __type(name: \"User\") { fields { name } } }",
        "{ ...F } fragment F on Query { __schema { types { name } } }",
    ] {
        let answer = closed.gql(None, query, json!({})).await;
        assert!(answer["data"].is_null(), "{answer}");
        assert_eq!(
            error_code(&answer),
            Some("GRAPHQL_VALIDATION_FAILED"),
            "{answer}"
        );
    }
    // The API itself still answers.
    let answer = closed.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(ok_data(&answer)["__typename"], "Query");
}

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/graphql")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "content-type,authorization,apollo-require-preflight",
        )
        .body(Body::empty())
        .expect("request")
}

#[tokio::test(flavor = "multi_thread")]
async fn browsers_on_allowed_origins_may_call_the_api_and_no_others() {
    let app =
        TestApp::spawn_with(|c| c.cors_origins = vec!["https://app.example.com".into()]).await;
    let granted = app.send(preflight("https://app.example.com")).await;
    assert!(granted.status.is_success(), "{:?}", granted.status);
    let header_of =
        |answer: &crate::harness::Answer, name| answer.header(name).map(str::to_ascii_lowercase);
    assert_eq!(
        header_of(&granted, header::ACCESS_CONTROL_ALLOW_ORIGIN).as_deref(),
        Some("https://app.example.com")
    );
    let allowed = header_of(&granted, header::ACCESS_CONTROL_ALLOW_HEADERS).unwrap_or_default();
    for name in ["content-type", "authorization", "apollo-require-preflight"] {
        assert!(allowed.contains(name), "{name} not in {allowed}");
    }
    assert!(
        granted
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .is_none()
    );

    // The call itself carries the grant too.
    let mut call = post(json!({ "query": "{ __typename }" }));
    call.headers_mut().insert(
        header::ORIGIN,
        "https://app.example.com".parse().expect("origin"),
    );
    let answer = app.send(call).await;
    assert_eq!(
        header_of(&answer, header::ACCESS_CONTROL_ALLOW_ORIGIN).as_deref(),
        Some("https://app.example.com")
    );
    assert_eq!(ok_data(&answer.ok_json())["__typename"], "Query");

    // Another origin gets no grant; nor does any origin by default.
    let other = app.send(preflight("https://evil.example.com")).await;
    assert_eq!(header_of(&other, header::ACCESS_CONTROL_ALLOW_ORIGIN), None);
    let default = TestApp::spawn().await;
    let answer = default.send(preflight("https://app.example.com")).await;
    assert_eq!(
        header_of(&answer, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn browsers_get_strict_security_headers() {
    let app = TestApp::spawn().await;
    let page = app
        .send(
            Request::get("/graphql")
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    let api = app.send(post(json!({ "query": "{ __typename }" }))).await;
    for answer in [&page, &api] {
        let get = |name| answer.header(name);
        assert_eq!(get(header::X_CONTENT_TYPE_OPTIONS), Some("nosniff"));
        assert_eq!(get(header::REFERRER_POLICY), Some("no-referrer"));
        assert_eq!(get(header::X_FRAME_OPTIONS), Some("DENY"));
        let policy = get(header::CONTENT_SECURITY_POLICY).unwrap_or_default();
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    }
    // GraphiQL's page runs our own embedded scripts, and nothing else: nothing inline, no
    // other site.
    let policy = page
        .header(header::CONTENT_SECURITY_POLICY)
        .unwrap_or_default();
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(!policy.contains("unsafe"), "{policy}");
    assert!(!policy.contains("https:"), "{policy}");
    // The API's JSON runs nothing at all.
    let policy = api
        .header(header::CONTENT_SECURITY_POLICY)
        .unwrap_or_default();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("sandbox"), "{policy}");
}

const LOGIN: &str = "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { accessToken } }";
const SEND: &str =
    "mutation($s: ID!, $b: String!) { sendMessage(input: {sessionId: $s, body: $b}) { id } }";

/// The code and `retryAfter` of a refused request.
fn refusal(response: &Value) -> (Option<&str>, Option<u64>) {
    (
        error_code(response),
        response["errors"][0]["extensions"]["retryAfter"].as_u64(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_sign_ins_lock_a_username_whether_or_not_it_exists() {
    let delay = std::time::Duration::from_millis(300);
    let app = TestApp::spawn_with(|c| {
        c.signin_failures_per_account = 3;
        c.signin_refusal_delay = delay;
    })
    .await;
    app.register("victim").await;
    let login = |u: &'static str, p: &'static str| app.gql(None, LOGIN, json!({ "u": u, "p": p }));

    // The same answers, in the same order, for an account and for a name nobody has.
    for name in ["victim", "nobody"] {
        for _ in 0..3 {
            let wrong = login(name, "wrong password").await;
            assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"), "{wrong}");
        }
        let asked = std::time::Instant::now();
        let locked = login(name, "wrong password").await;
        // Refused without a hash, but not at once: a client retrying in a loop is slowed.
        assert!(asked.elapsed() >= delay, "{:?}", asked.elapsed());
        let (code, retry_after) = refusal(&locked);
        assert_eq!(code, Some("RATE_LIMITED"), "{locked}");
        assert!(
            retry_after.is_some_and(|s| (1..=900).contains(&s)),
            "{locked}"
        );
        assert_eq!(
            locked["errors"][0]["message"],
            "too many failed sign-ins for this account: at most 3 in 900 s, try again later"
        );
    }
    // Locked means locked: the right password is refused too (its name, in any case).
    let right = login("VICTIM", "password-victim").await;
    assert_eq!(error_code(&right), Some("RATE_LIMITED"), "{right}");

    // A success clears the count: two failures, a success, then three failures again before
    // the lock.
    app.register("careful").await;
    for _ in 0..2 {
        assert_eq!(
            error_code(&login("careful", "oops").await),
            Some("UNAUTHENTICATED")
        );
    }
    ok_data(&login("careful", "password-careful").await);
    for _ in 0..3 {
        assert_eq!(
            error_code(&login("careful", "oops").await),
            Some("UNAUTHENTICATED")
        );
    }
    assert_eq!(
        error_code(&login("careful", "oops").await),
        Some("RATE_LIMITED")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn guesses_sent_at_once_get_no_more_tries_than_guesses_sent_in_turn() {
    // Found by the login-flood benchmark: failures were counted only once their hashes were
    // done, so guesses queued for hashing all passed the check.
    let app = TestApp::spawn_with(|c| {
        c.signin_failures_per_account = 3;
        c.hash_concurrency = 1;
    })
    .await;
    app.register("target").await;
    // Every guess ends checked or refused by the account's limit.
    let guesses = (0..12).map(|i| {
        app.gql_when_hashing_frees(
            None,
            LOGIN,
            json!({ "u": "target", "p": format!("guess {i}") }),
        )
    });
    let answers = futures_util::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|a| error_code(a) == Some("UNAUTHENTICATED"))
        .count();
    let refused = answers
        .iter()
        .filter(|a| error_code(a) == Some("RATE_LIMITED"))
        .count();
    assert_eq!((checked, refused), (3, 9), "{answers:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_address_is_throttled_across_usernames_and_refresh_tokens() {
    let app = TestApp::spawn_with(|c| {
        c.signin_failures_per_address = 4;
        c.registrations_per_address_hour = 3;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("network")];
    })
    .await;
    let addr = app.serve().await;
    let from = |client: &'static str| [("X-Forwarded-For", client)];
    let login = async |user: &str, client| {
        crate::harness::gql_at(
            addr,
            None,
            LOGIN,
            json!({ "u": user, "p": "wrong password" }),
            &from(client),
        )
        .await
    };
    // Behind the trusted proxy, the forwarded address is the client: four failures, each
    // for another name, then the address is locked, for any name and for refresh tokens.
    for i in 0..4 {
        let wrong = login(&format!("user{i}"), "198.51.100.1").await;
        assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"), "{wrong}");
    }
    let locked = login("user9", "198.51.100.1").await;
    assert_eq!(refusal(&locked).0, Some("RATE_LIMITED"), "{locked}");
    let refresh = crate::harness::gql_at(
        addr,
        None,
        "mutation { refreshToken(refreshToken: \"guess\") { accessToken } }",
        json!({}),
        &from("198.51.100.1"),
    )
    .await;
    assert_eq!(error_code(&refresh), Some("RATE_LIMITED"), "{refresh}");
    // Another client behind the same proxy is not affected.
    let other = login("user9", "198.51.100.2").await;
    assert_eq!(error_code(&other), Some("UNAUTHENTICATED"), "{other}");

    // New accounts: three per address and hour.
    let register = "mutation($u: String!) { register(input: {username: $u, password: \"password1\", displayName: $u}) { accessToken } }";
    for i in 0..3 {
        let created = crate::harness::gql_at(
            addr,
            None,
            register,
            json!({ "u": format!("new{i}") }),
            &from("203.0.113.5"),
        )
        .await;
        ok_data(&created);
    }
    let refused = crate::harness::gql_at(
        addr,
        None,
        register,
        json!({ "u": "new3" }),
        &from("203.0.113.5"),
    )
    .await;
    assert_eq!(refusal(&refused).0, Some("RATE_LIMITED"), "{refused}");
    assert_eq!(app.count("users").await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_are_limited_per_user_and_a_refused_one_stores_nothing() {
    let app = TestApp::spawn_with(|c| {
        c.messages_per_minute = 3;
        c.group_changes_per_minute = 2;
    })
    .await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let session = crate::chat::direct(&app, &alice, &bob).await;
    for i in 0..3 {
        let sent = app
            .gql(
                Some(&alice.access),
                SEND,
                json!({ "s": session, "b": format!("m{i}") }),
            )
            .await;
        ok_data(&sent);
    }
    let before = app.fingerprint().await;
    let refused = app
        .gql(
            Some(&alice.access),
            SEND,
            json!({ "s": session, "b": "one too many" }),
        )
        .await;
    let (code, retry_after) = refusal(&refused);
    assert_eq!(code, Some("RATE_LIMITED"), "{refused}");
    assert!(
        retry_after.is_some_and(|s| (1..=60).contains(&s)),
        "{refused}"
    );
    assert_eq!(
        app.fingerprint().await,
        before,
        "a refused send changed something"
    );
    // Bob's own allowance is untouched.
    ok_data(
        &app.gql(Some(&bob.access), SEND, json!({ "s": session, "b": "hi" }))
            .await,
    );

    // Group changes have their own allowance: the direct session above was one.
    let create = "mutation { createGroupSession(input: {title: \"g\", memberIds: []}) { id } }";
    ok_data(&app.gql(Some(&alice.access), create, json!({})).await);
    let refused = app.gql(Some(&alice.access), create, json!({})).await;
    assert_eq!(error_code(&refused), Some("RATE_LIMITED"), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_share_one_limit_through_redis() {
    let Some(redis) = crate::harness::TestRedis::start() else {
        return;
    };
    let db = crate::harness::TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("messenger-limits-{}", uuid::Uuid::now_v7()));
    let env = [("MESSENGER_MESSAGES_PER_MINUTE", "4")];
    let a = crate::harness::ServerProcess::start_with(&db.url, &redis.url(), &dir.join("a"), &env);
    let b = crate::harness::ServerProcess::start_with(&db.url, &redis.url(), &dir.join("b"), &env);
    let register = "mutation($u: String!) { register(input: {username: $u, password: \"password1\", displayName: $u}) { accessToken user { id } } }";
    let alice = a.gql(None, register, json!({ "u": "alice" })).await;
    let bob = a.gql(None, register, json!({ "u": "bob" })).await;
    let token = ok_data(&alice)["register"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let session = a
        .gql(
            Some(&token),
            "mutation($u: ID!) { startDirectSession(userId: $u) { id } }",
            json!({ "u": ok_data(&bob)["register"]["user"]["id"] }),
        )
        .await;
    let session = ok_data(&session)["startDirectSession"]["id"].clone();
    // Four sends, alternating between the servers: each alone would allow four more.
    for (i, server) in [&a, &b, &a, &b].into_iter().enumerate() {
        let sent = server
            .gql(
                Some(&token),
                SEND,
                json!({ "s": session, "b": format!("m{i}") }),
            )
            .await;
        ok_data(&sent);
    }
    for server in [&a, &b] {
        let refused = server
            .gql(Some(&token), SEND, json!({ "s": session, "b": "fifth" }))
            .await;
        assert_eq!(refusal(&refused).0, Some("RATE_LIMITED"), "{refused}");
    }
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir);
}
