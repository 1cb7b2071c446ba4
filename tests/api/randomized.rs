//! A randomised check of the live event streams against the log: two server processes share
//! PostgreSQL and Redis; several users write events of every kind through either server while
//! foreign transactions open and close at random (some long); subscribers disconnect and
//! resume from random cursors of theirs on either server. Once everything has settled, each
//! subscriber's stream equals what the stored log says that user may see: in order, with no
//! gap and no duplicate.
//!
//! Bounded (a fixed number of operations, every wait with a deadline) and reproducible: the
//! seed is printed, and `MESSENGER_TEST_SEED=<seed>` replays the same choices (the timing of
//! two processes on a shared machine still varies).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use messenger::events::{Position, decode_cursor};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::harness::{ServerProcess, TestDb, TestRedis, ok_data};
use crate::wsclient::{Frame, WsClient};

/// Users 0..WRITERS write at random; the last two follow a script that makes every kind of
/// event at least once, whatever the random writers do.
const USERS: usize = WRITERS + 2;
const WRITERS: usize = 4;
const OPS_PER_WRITER: usize = 24;
const SUBSCRIBERS: usize = 3;

const EVENTS: &str =
    "subscription($a: String) { events(after: $a) { cursor kind sessionId user { id } } }";
const MINE: &str = "query { me { id } sessions(first: 50) { edges { node { id kind viewerRole members { user { id } } messages(last: 5) { edges { node { id seq deletedAt sender { id } } } } } } } }";

/// SplitMix64: a few lines for reproducible choices, instead of a dependency.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }

    fn fork(&mut self) -> Self {
        Self(self.next())
    }
}

#[derive(Clone)]
struct Account {
    id: String,
    token: String,
}

/// One event as a subscriber saw it, or as the log holds it: (position, kind).
type Seen = (Position, String);

#[tokio::test(flavor = "multi_thread")]
async fn live_streams_equal_the_log_under_random_writers_foreign_transactions_and_resumes() {
    let seed = std::env::var("MESSENGER_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| uuid::Uuid::now_v7().as_u64_pair().1);
    // Printed so that a failure can be replayed (libtest shows it for failing tests).
    println!("MESSENGER_TEST_SEED={seed}");
    let mut rng = Rng(seed);

    let Some(redis) = TestRedis::start() else {
        return;
    };
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("messenger-random-{}", uuid::Uuid::now_v7()));
    let servers = Arc::new([
        ServerProcess::start(&db.url, &redis.url(), &dir.join("a")),
        ServerProcess::start(&db.url, &redis.url(), &dir.join("b")),
    ]);
    let channel = messenger::config::Config::default().redis_channel;
    redis.wait_for_subscribers(&channel, 2).await;

    let mut accounts = Vec::new();
    for i in 0..USERS {
        let register = "mutation($u: String!) { register(input: {username: $u, password: \"password1\", displayName: $u}) { accessToken user { id } } }";
        let answer = servers[i % 2]
            .gql(None, register, json!({ "u": format!("user{i}") }))
            .await;
        let data = &ok_data(&answer)["register"];
        accounts.push(Account {
            id: data["user"]["id"].as_str().expect("id").to_owned(),
            token: data["accessToken"].as_str().expect("token").to_owned(),
        });
    }
    let accounts = Arc::new(accounts);

    // Subscribers start at the beginning of the log, so each must see the whole log's share
    // of its user. Each is confirmed live by a probe event it has to receive first: a direct
    // session between it and the scripted owner.
    let prober = accounts[USERS - 2].clone();
    let writing = Arc::new(AtomicBool::new(true));
    let mut subscribers = Vec::new();
    for (i, account) in accounts.iter().take(SUBSCRIBERS).enumerate() {
        let mut ws = WsClient::connect(servers[i % 2].addr, "graphql-transport-ws").await;
        ws.init(Some(&account.token)).await;
        // From the start of the log (before its first event), not "from now": the probe
        // then reaches the subscription whenever the server sets it up.
        let start = messenger::events::encode_cursor(Position::default());
        ws.subscribe("e", EVENTS, json!({ "a": start })).await;
        let probe = servers[0]
            .gql(
                Some(&prober.token),
                "mutation($u: ID!) { startDirectSession(userId: $u) { id } }",
                json!({ "u": account.id }),
            )
            .await;
        ok_data(&probe);
        let mut first = None;
        for _ in 0..3 {
            match next_event(&mut ws, Duration::from_secs(10)).await {
                Got::Event(event) => {
                    first = Some(event);
                    break;
                }
                Got::Retry => ws.subscribe("e", EVENTS, json!({ "a": start })).await,
                Got::Nothing => break,
            }
        }
        let first =
            first.unwrap_or_else(|| panic!("seed {seed}: subscriber {i} got no probe event"));
        assert_eq!(first.1, "SESSION_CREATED", "seed {seed}");
        subscribers.push(tokio::spawn(subscribe_and_resume(
            servers.clone(),
            account.token.clone(),
            ws,
            vec![first],
            rng.fork(),
            writing.clone(),
        )));
    }

    // Foreign transactions: in another database of the cluster, and on a table of ours that
    // messenger does not own, open for a random while (some for seconds), until the writers
    // are done.
    let other = TestDb::empty().await;
    let mut foreign_db = other.connect().await;
    foreign_db
        .batch_execute("CREATE TABLE imports (x int)")
        .await
        .expect("foreign table");
    let mut foreign_here = db.connect().await;
    foreign_here
        .batch_execute("CREATE TABLE reports (x int)")
        .await
        .expect("foreign table");
    let foreign = tokio::spawn(foreign_transactions(
        foreign_db,
        foreign_here,
        rng.fork(),
        writing.clone(),
    ));

    let mut writers = vec![tokio::spawn(every_kind(servers.clone(), accounts.clone()))];
    for w in 0..WRITERS {
        writers.push(tokio::spawn(write_randomly(
            servers.clone(),
            accounts.clone(),
            w,
            rng.fork(),
        )));
    }
    for writer in writers {
        tokio::time::timeout(Duration::from_secs(120), writer)
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: the writers finish within 120 s"))
            .expect("writer task");
    }
    writing.store(false, Ordering::SeqCst);
    let transactions = tokio::time::timeout(Duration::from_secs(30), foreign)
        .await
        .expect("the foreign transactions end")
        .expect("foreign task");
    assert!(transactions > 0, "seed {seed}: no foreign transaction ran");

    let log = read_log(&mut db.connect().await).await;
    let kinds: HashSet<&str> = log.iter().map(|row| row.kind.as_str()).collect();
    for kind in [
        "message_created",
        "message_edited",
        "message_deleted",
        "session_created",
        "member_added",
        "member_removed",
        "member_left",
        "member_role_changed",
        "session_renamed",
        "read_marker",
    ] {
        assert!(
            kinds.contains(kind),
            "seed {seed}: no {kind} event was written"
        );
    }

    for (i, subscriber) in subscribers.into_iter().enumerate() {
        let (ws, mut stream) = tokio::time::timeout(Duration::from_secs(30), subscriber)
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: subscriber {i} stops"))
            .expect("subscriber task");
        let expected = visible_to(&log, &accounts[i].id);
        // The last connection reads on until it has as many events as the log holds for it
        // (or time runs out), then must stay quiet.
        let mut ws = ws;
        let deadline = Instant::now() + Duration::from_secs(20);
        while stream.len() < expected.len() && Instant::now() < deadline {
            match next_event(&mut ws, Duration::from_millis(500)).await {
                Got::Event(event) => stream.push(event),
                Got::Retry => {
                    let after = messenger::events::encode_cursor(stream[stream.len() - 1].0);
                    ws.subscribe("e", EVENTS, json!({ "a": after })).await;
                }
                Got::Nothing => {}
            }
        }
        if let Got::Event(extra) = next_event(&mut ws, Duration::from_millis(300)).await {
            stream.push(extra);
        }
        let first_difference = stream.iter().zip(&expected).position(|(a, b)| a != b);
        assert!(
            stream == expected,
            "seed {seed}: subscriber {i}'s stream differs from the log: {} received, {} \
             expected, first difference at {first_difference:?}\nreceived: {stream:?}\nexpected: {expected:?}",
            stream.len(),
            expected.len()
        );
    }
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a subscriber got.
enum Got {
    /// A stored event.
    Event(Seen),
    /// Nothing within the wait.
    Nothing,
    /// The subscription ended with an error the server says is retryable (`UNAVAILABLE` on a
    /// machine this busy): a client resumes from its last cursor, and so does the test.
    Retry,
}

/// The next stored event of subscription `e` within `wait` (typing notices skipped).
async fn next_event(ws: &mut WsClient, wait: Duration) -> Got {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(frame) = ws.next_within(left).await else {
            return Got::Nothing;
        };
        match frame {
            Frame::Json(v) if v["type"] == "next" => {
                let event = &v["payload"]["data"]["events"];
                if !v["payload"]["errors"].is_null() {
                    assert_eq!(
                        v["payload"]["errors"][0]["extensions"]["retryable"], true,
                        "an event with errors: {v}"
                    );
                    return Got::Retry;
                }
                let kind = event["kind"].as_str().expect("kind").to_owned();
                if kind == "TYPING" {
                    continue;
                }
                let cursor = decode_cursor(event["cursor"].as_str().expect("cursor"))
                    .expect("a valid cursor");
                return Got::Event((cursor, kind));
            }
            Frame::Json(v) if v["type"] == "ping" || v["type"] == "complete" => {}
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Reads events, and every so often drops the socket and resumes on either server from a
/// cursor it has received: mostly the last, sometimes an earlier one (the events after it
/// are then expected again, and replace those received). Returns the open socket and the
/// stream as the client would have assembled it.
async fn subscribe_and_resume(
    servers: Arc<[ServerProcess; 2]>,
    token: String,
    mut ws: WsClient,
    mut stream: Vec<Seen>,
    mut rng: Rng,
    writing: Arc<AtomicBool>,
) -> (WsClient, Vec<Seen>) {
    while writing.load(Ordering::SeqCst) {
        let read_for = Duration::from_millis(100 + rng.below(700) as u64);
        let until = Instant::now() + read_for;
        while Instant::now() < until {
            let left = until.saturating_duration_since(Instant::now());
            match next_event(&mut ws, left).await {
                Got::Event(event) => stream.push(event),
                Got::Retry => break,
                Got::Nothing => {}
            }
        }
        // Resume from a random cursor of ours: the last one usually.
        let keep = if rng.chance(30) {
            1 + rng.below(stream.len())
        } else {
            stream.len()
        };
        stream.truncate(keep);
        let after = messenger::events::encode_cursor(stream[keep - 1].0);
        let server = &servers[rng.below(2)];
        ws = WsClient::connect(server.addr, "graphql-transport-ws").await;
        ws.init(Some(&token)).await;
        ws.subscribe("e", EVENTS, json!({ "a": after })).await;
    }
    (ws, stream)
}

/// Opens foreign write transactions and long reads at random until the writers are done;
/// returns how many it opened.
async fn foreign_transactions(
    mut other_db: AsyncPgConnection,
    mut same_db: AsyncPgConnection,
    mut rng: Rng,
    writing: Arc<AtomicBool>,
) -> usize {
    let mut opened = 0;
    while writing.load(Ordering::SeqCst) {
        let hold = if rng.chance(20) {
            Duration::from_millis(1500 + rng.below(1500) as u64)
        } else {
            Duration::from_millis(20 + rng.below(300) as u64)
        };
        let (conn, table) = if rng.chance(50) {
            (&mut other_db, "imports")
        } else {
            (&mut same_db, "reports")
        };
        let begin = if rng.chance(25) {
            // A long read-only report with a snapshot.
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT count(*) FROM pg_class"
                .to_owned()
        } else {
            format!("BEGIN; INSERT INTO {table} VALUES (1)")
        };
        conn.batch_execute(&begin).await.expect("foreign begin");
        opened += 1;
        tokio::time::sleep(hold).await;
        conn.batch_execute("ROLLBACK").await.expect("foreign end");
        tokio::time::sleep(Duration::from_millis(rng.below(200) as u64)).await;
    }
    opened
}

/// The scripted user's writes: every kind of event, each certain to happen (the random
/// writers can join the script's group only when it adds one of them, as a plain member).
async fn every_kind(servers: Arc<[ServerProcess; 2]>, accounts: Arc<Vec<Account>>) {
    let (owner, member, joiner) = (&accounts[USERS - 2], &accounts[USERS - 1], &accounts[0]);
    let server = &servers[1];
    let run = async |who: &Account, query: &str, variables: Value| {
        let answer = server.gql(Some(&who.token), query, variables).await;
        ok_data(&answer).clone()
    };
    let group = run(
        owner,
        "mutation($m: [ID!]!) { createGroupSession(input: {title: \"script\", memberIds: $m}) { id } }",
        json!({ "m": [member.id] }),
    )
    .await["createGroupSession"]["id"]
        .clone();
    let send = "mutation($s: ID!, $b: String!) { sendMessage(input: {sessionId: $s, body: $b}) { id seq } }";
    let first = run(owner, send, json!({ "s": group, "b": "one" })).await;
    let first = &first["sendMessage"]["id"];
    run(
        owner,
        "mutation($id: ID!) { editMessage(id: $id, body: \"one, edited\") { id } }",
        json!({ "id": first }),
    )
    .await;
    run(
        owner,
        "mutation($id: ID!) { deleteMessage(id: $id) { id } }",
        json!({ "id": first }),
    )
    .await;
    let second = run(owner, send, json!({ "s": group, "b": "two" })).await;
    run(
        member,
        "mutation($s: ID!, $u: Int!) { markRead(sessionId: $s, upTo: $u) { id } }",
        json!({ "s": group, "u": second["sendMessage"]["seq"] }),
    )
    .await;
    run(
        owner,
        "mutation($s: ID!) { renameSession(sessionId: $s, title: \"script, renamed\") { id } }",
        json!({ "s": group }),
    )
    .await;
    run(
        owner,
        "mutation($s: ID!, $u: [ID!]!) { addSessionMembers(sessionId: $s, userIds: $u) { id } }",
        json!({ "s": group, "u": [joiner.id] }),
    )
    .await;
    run(
        owner,
        "mutation($s: ID!, $u: ID!) { setSessionMemberRole(sessionId: $s, userId: $u, role: ADMIN) { id } }",
        json!({ "s": group, "u": member.id }),
    )
    .await;
    run(
        owner,
        "mutation($s: ID!, $u: ID!) { removeSessionMember(sessionId: $s, userId: $u) { id } }",
        json!({ "s": group, "u": member.id }),
    )
    .await;
    run(
        owner,
        "mutation($s: ID!) { leaveSession(sessionId: $s) }",
        json!({ "s": group }),
    )
    .await;
}

/// One user's random writes.
async fn write_randomly(
    servers: Arc<[ServerProcess; 2]>,
    accounts: Arc<Vec<Account>>,
    me: usize,
    mut rng: Rng,
) {
    let others: Vec<&Account> = accounts
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != me)
        .map(|(_, a)| a)
        .collect();
    let account = &accounts[me];
    for op in 0..OPS_PER_WRITER {
        let server = &servers[rng.below(2)];
        let mine = server.gql(Some(&account.token), MINE, json!({})).await;
        let sessions: Vec<Value> = ok_data(&mine)["sessions"]["edges"]
            .as_array()
            .expect("sessions")
            .iter()
            .map(|e| e["node"].clone())
            .collect();
        let groups: Vec<&Value> = sessions.iter().filter(|s| s["kind"] == "GROUP").collect();
        let managed: Vec<&Value> = groups
            .iter()
            .copied()
            .filter(|s| s["viewerRole"] != "MEMBER")
            .collect();
        let owned: Vec<&Value> = groups
            .iter()
            .copied()
            .filter(|s| s["viewerRole"] == "OWNER")
            .collect();
        let my_messages: Vec<Value> = sessions
            .iter()
            .flat_map(|s| {
                s["messages"]["edges"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|e| e["node"].clone())
            .filter(|m| m["sender"]["id"] == account.id.as_str() && m["deletedAt"].is_null())
            .collect();
        let (query, variables) = match rng.below(10) {
            0 => {
                let members: Vec<&str> = others
                    .iter()
                    .filter(|_| rng.chance(60))
                    .map(|a| a.id.as_str())
                    .collect();
                (
                    "mutation($t: String!, $m: [ID!]!) { createGroupSession(input: {title: $t, memberIds: $m}) { id } }",
                    json!({ "t": format!("group of {me}"), "m": members }),
                )
            }
            1 => (
                "mutation($u: ID!) { startDirectSession(userId: $u) { id } }",
                json!({ "u": rng.pick(&others).map(|a| a.id.clone()) }),
            ),
            2 | 3 => {
                let Some(session) = rng.pick(&sessions) else {
                    continue;
                };
                (
                    "mutation($s: ID!, $b: String!) { sendMessage(input: {sessionId: $s, body: $b}) { id } }",
                    json!({ "s": session["id"], "b": format!("from {me}, op {op}") }),
                )
            }
            4 => {
                let Some(message) = rng.pick(&my_messages) else {
                    continue;
                };
                (
                    "mutation($id: ID!) { editMessage(id: $id, body: \"edited\") { id } }",
                    json!({ "id": message["id"] }),
                )
            }
            5 => {
                let Some(message) = rng.pick(&my_messages) else {
                    continue;
                };
                (
                    "mutation($id: ID!) { deleteMessage(id: $id) { id } }",
                    json!({ "id": message["id"] }),
                )
            }
            6 => {
                let Some(session) = rng.pick(&sessions) else {
                    continue;
                };
                let last = session["messages"]["edges"]
                    .as_array()
                    .and_then(|m| m.last())
                    .map_or(0, |m| m["node"]["seq"].as_i64().unwrap_or(0));
                (
                    "mutation($s: ID!, $u: Int!) { markRead(sessionId: $s, upTo: $u) { id } }",
                    json!({ "s": session["id"], "u": last }),
                )
            }
            7 => {
                let Some(group) = rng.pick(&managed) else {
                    continue;
                };
                if rng.chance(50) {
                    (
                        "mutation($s: ID!, $t: String!) { renameSession(sessionId: $s, title: $t) { id } }",
                        json!({ "s": group["id"], "t": format!("renamed by {me} at {op}") }),
                    )
                } else {
                    (
                        "mutation($s: ID!, $u: [ID!]!) { addSessionMembers(sessionId: $s, userIds: $u) { id } }",
                        json!({ "s": group["id"], "u": [rng.pick(&others).map(|a| a.id.clone())] }),
                    )
                }
            }
            8 => {
                let Some(group) = rng.pick(&owned) else {
                    continue;
                };
                let members: Vec<String> = group["members"]
                    .as_array()
                    .expect("members")
                    .iter()
                    .filter_map(|m| m["user"]["id"].as_str().map(str::to_owned))
                    .filter(|id| *id != account.id)
                    .collect();
                let Some(member) = rng.pick(&members) else {
                    continue;
                };
                if rng.chance(50) {
                    let role = if rng.chance(50) { "ADMIN" } else { "MEMBER" };
                    (
                        "mutation($s: ID!, $u: ID!, $r: MemberRole!) { setSessionMemberRole(sessionId: $s, userId: $u, role: $r) { id } }",
                        json!({ "s": group["id"], "u": member, "r": role }),
                    )
                } else {
                    (
                        "mutation($s: ID!, $u: ID!) { removeSessionMember(sessionId: $s, userId: $u) { id } }",
                        json!({ "s": group["id"], "u": member }),
                    )
                }
            }
            _ => {
                let Some(group) = rng.pick(&groups) else {
                    continue;
                };
                (
                    "mutation($s: ID!) { leaveSession(sessionId: $s) }",
                    json!({ "s": group["id"] }),
                )
            }
        };
        // Refusals (a rule said no, a race lost) are fine: the log holds what committed.
        let answer = server.gql(Some(&account.token), query, variables).await;
        if let Some(code) = answer["errors"][0]["extensions"]["code"].as_str() {
            assert!(
                matches!(
                    code,
                    "BAD_USER_INPUT" | "FORBIDDEN" | "NOT_FOUND" | "CONFLICT"
                ),
                "unexpected error: {answer}"
            );
        }
    }
}

#[derive(QueryableByName, Debug)]
struct LogRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    xid: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    session_id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    subject_id: Option<String>,
}

async fn read_log(conn: &mut AsyncPgConnection) -> Vec<LogRow> {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(
        "SELECT xid, id, kind, session_id::text AS session_id, subject_id::text AS subject_id \
           FROM events ORDER BY xid, id",
    )
    .load(conn)
    .await
    .expect("the event log")
}

/// What the log says `user` may see, written out independently of the server's code: the
/// events of the sessions they belong to at that point of the log, where joining (a session
/// created with them, being added) counts from the event that says so and leaving (being
/// removed, leaving) after it; a session's creation only for the member it names.
fn visible_to(log: &[LogRow], user: &str) -> Vec<Seen> {
    let mut sessions: HashSet<&str> = HashSet::new();
    let mut seen = Vec::new();
    let about_user = |row: &LogRow| row.subject_id.as_deref() == Some(user);
    for row in log {
        let session = row.session_id.as_str();
        if about_user(row) && matches!(row.kind.as_str(), "session_created" | "member_added") {
            sessions.insert(session);
        }
        let for_others = row.kind == "session_created" && !about_user(row);
        if sessions.contains(session) && !for_others {
            seen.push((
                Position {
                    xid: row.xid,
                    id: row.id,
                },
                row.kind.to_uppercase(),
            ));
        }
        if about_user(row) && matches!(row.kind.as_str(), "member_removed" | "member_left") {
            sessions.remove(session);
        }
    }
    seen
}
