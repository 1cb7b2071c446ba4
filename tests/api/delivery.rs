//! Live delivery waits for the transactions that write events and for no others: a foreign
//! write transaction (in another database of the cluster, or on a table of the same database
//! that messenger does not own), a long reporting query, none of them holds a message back;
//! a writer of ours that gets stuck holds it back only until its connection's
//! idle-in-transaction timeout cuts it. Every send marks itself a writer before it writes,
//! the plain one-statement send included; two sends that race on one client message id, held
//! at that lock, store one message.

use std::time::Duration;

use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use messenger::db;
use messenger::models::event as event_model;
use serde_json::json;

use crate::chat::{SEND, direct, send};
use crate::harness::{TestApp, TestDb, TestUser, ok_data};
use crate::wsclient::WsClient;

const EVENTS: &str = "subscription { events { kind message { body } } }";

/// Alice listening, and her direct session with Bob.
struct Chat {
    app: TestApp,
    bob: TestUser,
    session: String,
    alice_ws: WsClient,
}

impl Chat {
    async fn start() -> Self {
        let app = TestApp::spawn().await;
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let session = direct(&app, &alice, &bob).await;
        let addr = app.serve().await;
        let mut alice_ws = WsClient::connect(addr, "graphql-transport-ws").await;
        alice_ws.init(Some(&alice.access)).await;
        alice_ws
            .subscribe_live(&app.state.hub, "e", EVENTS, json!({}))
            .await;
        Self {
            app,
            bob,
            session,
            alice_ws,
        }
    }

    /// Bob sends `body`; Alice's socket must show it (within the socket client's ten
    /// seconds, while whatever the caller holds open stays open).
    async fn message_reaches_alice(&mut self, body: &str) {
        send(&self.app, &self.bob, &self.session, body).await;
        let event = self.alice_ws.next_event("e", "events").await;
        assert_eq!(event["kind"], "MESSAGE_CREATED", "{event}");
        assert_eq!(event["message"]["body"], body, "{event}");
    }
}

/// Runs `sql` and leaves the connection as it is (inside a transaction, if it began one).
async fn run(conn: &mut AsyncPgConnection, sql: &str) {
    conn.batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_transaction_in_another_database_does_not_hold_delivery() {
    let mut chat = Chat::start().await;
    let other = TestDb::empty().await;
    let mut foreign = other.connect().await;
    // Holds a transaction id, cluster-wide, until it ends.
    run(
        &mut foreign,
        "CREATE TABLE imports (x int); BEGIN; INSERT INTO imports VALUES (1)",
    )
    .await;
    chat.message_reaches_alice("while another database imports")
        .await;
    run(&mut foreign, "ROLLBACK").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_write_transaction_on_a_foreign_table_does_not_hold_delivery() {
    let mut chat = Chat::start().await;
    let mut foreign = chat.app.db.connect().await;
    // A program that shares the database leaves a transaction "idle in transaction".
    run(
        &mut foreign,
        "CREATE TABLE reports (x int); BEGIN; INSERT INTO reports VALUES (1)",
    )
    .await;
    chat.message_reaches_alice("while a report job sleeps")
        .await;
    chat.message_reaches_alice("and again").await;
    run(&mut foreign, "ROLLBACK").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_reporting_query_does_not_hold_delivery() {
    let mut chat = Chat::start().await;
    let mut reporter = chat.app.db.connect().await;
    let report = tokio::spawn(async move {
        reporter
            .batch_execute(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                 SELECT count(*) FROM messages; SELECT pg_sleep(60); COMMIT",
            )
            .await
    });
    let mut admin = chat.app.db.connect().await;
    wait_for_query(&mut admin, "pg_sleep(60)").await;
    chat.message_reaches_alice("while the report runs").await;
    // Stop the report rather than wait for it.
    run(
        &mut admin,
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity \
          WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()",
    )
    .await;
    let cancelled = tokio::time::timeout(Duration::from_secs(10), report)
        .await
        .expect("the report stops when cancelled")
        .expect("report task");
    assert!(cancelled.is_err(), "the report was cancelled");
}

/// Takes (`lock`) or releases (`unlock`) the writers' lock exclusively on `conn`: while it
/// is held, no writer can mark itself, so every send waits before it writes.
async fn writers_lock(conn: &mut AsyncPgConnection, action: &str) {
    let (key1, key2) = event_model::WRITER_LOCK;
    run(
        conn,
        &format!("SELECT pg_advisory_{action}({key1}, {key2})"),
    )
    .await;
}

/// Waits until `n` backends of the test's database wait for an advisory lock.
async fn wait_for_lock_waiters(conn: &mut AsyncPgConnection, n: i64) {
    let condition = "wait_event_type = 'Lock' AND wait_event = 'advisory'";
    wait_for_backends(conn, condition, n).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_send_marks_itself_a_writer_of_the_log_before_it_writes() {
    let mut chat = Chat::start().await;
    let mut holder = chat.app.db.connect().await;
    writers_lock(&mut holder, "lock").await;
    let (plain, mentioning) = {
        let sends = futures_util::future::join(
            // One statement, its own transaction.
            send(&chat.app, &chat.bob, &chat.session, "plain"),
            // A transaction around it, for the mention.
            send(&chat.app, &chat.bob, &chat.session, "hi @alice"),
        );
        let mut admin = chat.app.db.connect().await;
        let check = async {
            wait_for_lock_waiters(&mut admin, 2).await;
            // Both wait before taking a sequence number or writing anything.
            let taken = count(
                &mut admin,
                "SELECT coalesce(sum(last_message_seq), 0)::bigint AS n FROM sessions",
            )
            .await;
            let stored = count(&mut admin, "SELECT count(*) AS n FROM messages").await;
            assert_eq!((taken, stored), (0, 0));
            writers_lock(&mut holder, "unlock").await;
        };
        let (sent, ()) = futures_util::future::join(sends, check).await;
        sent
    };
    let mut seqs = [plain["seq"].as_i64(), mentioning["seq"].as_i64()];
    seqs.sort();
    assert_eq!(seqs, [Some(1), Some(2)]);
    let mut bodies = Vec::new();
    // Alice may also be told she was mentioned.
    for _ in 0..4 {
        if bodies.len() == 2 {
            break;
        }
        let event = chat.alice_ws.next_event("e", "events").await;
        if event["kind"] == "MESSAGE_CREATED" {
            bodies.push(event["message"]["body"].as_str().map(str::to_owned));
        }
    }
    bodies.sort();
    assert_eq!(
        bodies,
        [Some("hi @alice".to_owned()), Some("plain".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_sends_with_one_client_message_id_that_race_store_one_message() {
    let mut chat = Chat::start().await;
    let mut holder = chat.app.db.connect().await;
    writers_lock(&mut holder, "lock").await;
    // Both read "no earlier message" before they wait: the unique index decides.
    let send = || {
        chat.app.gql(
            Some(&chat.bob.access),
            SEND,
            json!({ "s": chat.session, "b": "once", "c": "race-1" }),
        )
    };
    let ((first, second), ()) =
        futures_util::future::join(futures_util::future::join(send(), send()), async {
            let mut admin = chat.app.db.connect().await;
            wait_for_lock_waiters(&mut admin, 2).await;
            writers_lock(&mut holder, "unlock").await;
        })
        .await;
    let (first, second) = (
        &ok_data(&first)["sendMessage"],
        &ok_data(&second)["sendMessage"],
    );
    assert_eq!(first["id"], second["id"], "{first} {second}");
    assert_eq!(first["seq"], 1);
    let mut admin = chat.app.db.connect().await;
    let stored = count(&mut admin, "SELECT count(*) AS n FROM messages").await;
    let taken = count(
        &mut admin,
        "SELECT coalesce(sum(last_message_seq), 0)::bigint AS n FROM sessions",
    )
    .await;
    assert_eq!((stored, taken), (1, 1), "the loser gave its number back");
    let event = chat.alice_ws.next_event("e", "events").await;
    assert_eq!(event["message"]["body"], "once", "{event}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_writer_holds_delivery_only_until_its_idle_timeout() {
    let mut chat = Chat::start().await;
    // A server of ours stopped in the middle of writing events (SIGSTOP, say): its pooled
    // connection sits idle inside a writer transaction that has a transaction id.
    let timeout = Duration::from_secs(3);
    let pool = db::build_pool(&chat.app.db.url, 1, timeout).expect("pool");
    let mut stuck = pool.get().await.expect("connection");
    run(&mut stuck, "BEGIN").await;
    event_model::lock_as_writer(&mut stuck)
        .await
        .expect("writer lock");
    run(&mut stuck, "SELECT pg_current_xact_id()").await;

    // A message written after it must wait: the stuck writer could still commit an event
    // that comes before it in the log.
    send(
        &chat.app,
        &chat.bob,
        &chat.session,
        "after the stuck writer",
    )
    .await;
    chat.alice_ws.expect_quiet(Duration::from_secs(1)).await;
    // PostgreSQL cuts the idle transaction after `timeout`; then the message goes out.
    let event = chat.alice_ws.next_event("e", "events").await;
    assert_eq!(
        event["message"]["body"], "after the stuck writer",
        "{event}"
    );
    assert!(
        stuck.batch_execute("SELECT 1").await.is_err(),
        "the stuck connection was terminated"
    );
}

/// A count read with `sql` (a statement selecting a bigint `n`).
async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    use diesel::QueryableByName;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let found: Count = diesel::sql_query(sql)
        .get_result(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    found.n
}

/// Waits (up to 10 s) until `n` other backends of this database (the test's own: tests run in
/// parallel, each in its database) match `condition` in `pg_stat_activity`.
async fn wait_for_backends(conn: &mut AsyncPgConnection, condition: &str, n: i64) {
    let sql = format!(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE ({condition}) AND pid <> pg_backend_pid() \
           AND datname = current_database()"
    );
    for _ in 0..100 {
        if count(conn, &sql).await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not {n} backends with {condition} within 10 s");
}

/// Waits (up to 10 s) until a query whose text holds `text` runs.
async fn wait_for_query(conn: &mut AsyncPgConnection, text: &str) {
    let condition = format!(
        "state = 'active' AND query LIKE '%{}%'",
        text.replace('\'', "''")
    );
    wait_for_backends(conn, &condition, 1).await;
}
