//! The HTTP scenarios: what each virtual client asks, and the closed loop that drives many
//! clients for a fixed time and measures them; and the abuse a server must shrug off: a flood
//! of wrong passwords from many addresses, and an operation of 10,000 fields.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::body::Bytes;
use serde_json::json;

use crate::client::{Client, is_success};
use crate::dataset::{Dataset, Rng, bench_uuid};

/// The inbox query of the conversations issue (the one `tests/api/inbox.rs` counts).
pub const INBOX: &str = "query($s: Int!, $m: Int!) { sessions(first: $s) { edges { cursor node { id kind title unreadCount viewerReadUpTo members { role user { id username displayName } } lastMessage { id body sender { username } } messages(last: $m) { edges { node { id seq body createdAt sender { id username } replyTo { id } } } pageInfo { hasPreviousPage } } } } } }";
const USER: &str =
    "query($id: ID!) { user(id: $id) { id username displayName location createdAt } }";
const HISTORY: &str = "query($id: ID!, $before: String!) { session(id: $id) { id messages(last: 50, before: $before) { edges { cursor node { id seq body createdAt editedAt sender { id username displayName } } } pageInfo { hasPreviousPage startCursor } } } }";
const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id seq createdAt clientMessageId } }";
/// The sign-in of the login flood.
const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
/// A password no seeded user has (they all have `seed::PASSWORD`).
const WRONG_PASSWORD: &str = "not-the-loadgen-password";
/// Connections of the login flood.
pub const FLOOD_CONNECTIONS: usize = 64;
/// How long a flood request may go unanswered before it counts as timed out.
const FLOOD_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `user(id)` of a random user.
    User,
    /// 50 messages of a busy session before a random cursor.
    History,
    /// The nested inbox query.
    Inbox,
    /// `sendMessage` with a client message id.
    Send,
}

/// One request: whose token, and the JSON body.
pub struct Call {
    /// User number of the viewer.
    pub viewer: i64,
    /// The GraphQL request body.
    pub body: Bytes,
}

/// Builds the request of a scenario from random numbers drawn as its pgbench script does.
pub fn make_call(kind: Kind, d: &Dataset, rng: &mut Rng, client_key: &str, n: u64) -> Call {
    let (viewer, body) = match kind {
        Kind::User => {
            let viewer = rng.range(1, d.users);
            let target = rng.range(1, d.users);
            let vars = json!({ "id": bench_uuid(1, target).to_string() });
            (viewer, json!({ "query": USER, "variables": vars }))
        }
        Kind::History => {
            let k = rng.range(1, d.busy);
            let s = d.session_of_rank(k);
            let viewer = d.member(s, rng.range(0, 1_000_000));
            let before = rng.range(51, d.approx_count(k).max(51));
            let session = bench_uuid(2, s);
            let cursor = URL_SAFE_NO_PAD.encode(format!("msg:{session}:{before}"));
            let vars = json!({ "id": session.to_string(), "before": cursor });
            (viewer, json!({ "query": HISTORY, "variables": vars }))
        }
        Kind::Inbox => {
            let viewer = rng.range(1, d.users);
            let vars = json!({ "s": 20, "m": 20 });
            (viewer, json!({ "query": INBOX, "variables": vars }))
        }
        Kind::Send => {
            let s = rng.range(1, d.sessions);
            let viewer = d.member(s, rng.range(0, 1_000_000));
            let vars = json!({ "input": {
                "sessionId": bench_uuid(2, s).to_string(),
                "body": format!("loadgen message {n} from {client_key}"),
                "clientMessageId": format!("lg-{client_key}-{n}"),
            }});
            (viewer, json!({ "query": SEND, "variables": vars }))
        }
    };
    Call {
        viewer,
        body: Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
    }
}

/// What the clients of one scenario measured (after the warm-up).
#[derive(Debug, Default)]
pub struct Measured {
    /// Latencies of all requests, µs, sorted.
    pub latencies_us: Vec<u64>,
    /// Requests that failed (transport error, non-200, or GraphQL `errors`).
    pub errors: u64,
    /// One failure, as an example.
    pub sample_error: Option<String>,
}

impl Measured {
    /// A percentile of the latencies, ms.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        crate::pgbench::percentile_ms(&self.latencies_us, p)
    }

    /// Adds the requests of another run of the same scenario.
    pub fn merge(&mut self, other: Measured) {
        self.latencies_us.extend(other.latencies_us);
        self.latencies_us.sort_unstable();
        self.errors += other.errors;
        if self.sample_error.is_none() {
            self.sample_error = other.sample_error;
        }
    }
}

/// Drives `clients` closed-loop clients (each sends its next request when the previous
/// one is answered) for `warmup + duration`, recording only requests started after the
/// warm-up.
#[allow(clippy::too_many_arguments)]
pub async fn drive(
    addr: SocketAddr,
    kind: Kind,
    clients: usize,
    warmup: Duration,
    duration: Duration,
    d: Dataset,
    tokens: Arc<Vec<String>>,
    run_key: String,
) -> Measured {
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let tokens = tokens.clone();
        let client_key = format!("{run_key}-{c}");
        tasks.push(tokio::spawn(async move {
            let mut rng =
                Rng::new(((c as u64 + 1) * 0x5851_F42D) ^ start.elapsed().as_nanos() as u64);
            let mut out = Measured::default();
            let mut client: Option<Client> = None;
            let mut n = 0u64;
            while Instant::now() < end {
                let conn = match connected(&mut client, addr).await {
                    Ok(conn) => conn,
                    Err(e) => {
                        out.errors += 1;
                        out.sample_error.get_or_insert(e);
                        continue;
                    }
                };
                n += 1;
                let call = make_call(kind, &d, &mut rng, &client_key, n);
                let token = &tokens[call.viewer as usize];
                let sent = Instant::now();
                let result = conn.post(token, call.body).await;
                let took = sent.elapsed();
                let ok = match &result {
                    Ok((status, body)) => {
                        let ok = is_success(*status, body);
                        if !ok && sent >= measure_from {
                            out.sample_error.get_or_insert_with(|| {
                                format!(
                                    "{status}: {}",
                                    String::from_utf8_lossy(&body[..body.len().min(300)])
                                )
                            });
                        }
                        ok
                    }
                    Err(e) => {
                        if sent >= measure_from {
                            out.sample_error.get_or_insert(format!("{e:#}"));
                        }
                        client = None;
                        false
                    }
                };
                if sent >= measure_from {
                    out.latencies_us.push(took.as_micros() as u64);
                    if !ok {
                        out.errors += 1;
                    }
                }
            }
            out
        }));
    }
    let mut all = Measured::default();
    for task in tasks {
        if let Ok(part) = task.await {
            all.latencies_us.extend(part.latencies_us);
            all.errors += part.errors;
            if all.sample_error.is_none() {
                all.sample_error = part.sample_error;
            }
        }
    }
    all.latencies_us.sort_unstable();
    all
}

/// What the login flood got back, over its whole run.
#[derive(Debug, Default)]
pub struct FloodMeasured {
    /// Sign-ins sent.
    pub sent: u64,
    /// `UNAUTHENTICATED`: a password was checked, and it was wrong.
    pub unauthenticated: u64,
    /// `RATE_LIMITED` because the username was locked (too many failures for the account).
    pub locked_account: u64,
    /// `RATE_LIMITED` because the client address was locked.
    pub locked_address: u64,
    /// `RATE_LIMITED` because the sign-in waited too long for its turn to hash.
    pub busy: u64,
    /// Any other answer: another code, `RATE_LIMITED` for another reason, or no error at all.
    pub other: u64,
    /// No answer within [`FLOOD_TIMEOUT`], or a broken connection.
    pub timeouts: u64,
    /// `UNAUTHENTICATED` answers per user number: the passwords the server actually checked.
    pub checked_per_account: HashMap<i64, u32>,
    /// Latencies of the answered sign-ins, µs, sorted.
    pub latencies_us: Vec<u64>,
    /// One answer of the `other` kind (or a transport error), as an example.
    pub sample_other: Option<String>,
}

/// Floods the server with wrong passwords for `duration`: `connections` connections, each
/// sending its next sign-in as soon as the previous one is answered, for a random user among
/// the first `accounts` of the data set, each request from a random address (in
/// `X-Forwarded-For`: a botnet behind a trusted proxy).
pub async fn flood(
    addr: SocketAddr,
    d: Dataset,
    accounts: i64,
    connections: usize,
    duration: Duration,
) -> FloodMeasured {
    let start = Instant::now();
    let end = start + duration;
    let accounts = accounts.clamp(1, d.users);
    let mut tasks = Vec::new();
    for c in 0..connections {
        tasks.push(tokio::spawn(async move {
            let mut rng =
                Rng::new(((c as u64 + 1) * 0x2545_F491) ^ start.elapsed().as_nanos() as u64);
            let mut out = FloodMeasured::default();
            let mut client: Option<Client> = None;
            while Instant::now() < end {
                let conn = match connected(&mut client, addr).await {
                    Ok(conn) => conn,
                    Err(e) => {
                        out.timeouts += 1;
                        out.sample_other.get_or_insert(e);
                        continue;
                    }
                };
                let user = rng.range(1, accounts);
                // The seed names user n `user` + n padded to five digits.
                let vars = json!({ "i": {
                    "username": format!("user{user:05}"),
                    "password": WRONG_PASSWORD,
                }});
                let body = serde_json::to_vec(&json!({ "query": LOGIN, "variables": vars }))
                    .unwrap_or_default();
                let address = Ipv4Addr::from(rng.next_u64() as u32).to_string();
                out.sent += 1;
                let sent = Instant::now();
                let answer = tokio::time::timeout(
                    FLOOD_TIMEOUT,
                    conn.post_from(Some(&address), "", Bytes::from(body)),
                )
                .await;
                let took = sent.elapsed();
                let (status, body) = match answer {
                    Ok(Ok(answer)) => answer,
                    Ok(Err(e)) => {
                        out.timeouts += 1;
                        out.sample_other.get_or_insert(format!("{e:#}"));
                        client = None;
                        continue;
                    }
                    Err(_) => {
                        out.timeouts += 1;
                        out.sample_other
                            .get_or_insert(format!("no answer in {FLOOD_TIMEOUT:?}"));
                        client = None;
                        continue;
                    }
                };
                out.latencies_us.push(took.as_micros() as u64);
                let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let error = &answer["errors"][0];
                let message = error["message"].as_str().unwrap_or_default();
                match error["extensions"]["code"].as_str() {
                    Some("UNAUTHENTICATED") => {
                        out.unauthenticated += 1;
                        *out.checked_per_account.entry(user).or_default() += 1;
                    }
                    Some("RATE_LIMITED") if message.contains("for this account") => {
                        out.locked_account += 1;
                    }
                    Some("RATE_LIMITED") if message.contains("from this address") => {
                        out.locked_address += 1;
                    }
                    Some("RATE_LIMITED") if message.contains("at once") => out.busy += 1,
                    _ => {
                        out.other += 1;
                        out.sample_other.get_or_insert_with(|| {
                            format!(
                                "{status}: {}",
                                String::from_utf8_lossy(&body[..body.len().min(300)])
                            )
                        });
                    }
                }
            }
            out
        }));
    }
    let mut all = FloodMeasured::default();
    for task in tasks {
        if let Ok(part) = task.await {
            all.sent += part.sent;
            all.unauthenticated += part.unauthenticated;
            all.locked_account += part.locked_account;
            all.locked_address += part.locked_address;
            all.busy += part.busy;
            all.other += part.other;
            all.timeouts += part.timeouts;
            for (user, n) in part.checked_per_account {
                *all.checked_per_account.entry(user).or_default() += n;
            }
            all.latencies_us.extend(part.latencies_us);
            if all.sample_other.is_none() {
                all.sample_other = part.sample_other;
            }
        }
    }
    all.latencies_us.sort_unstable();
    all
}

/// The query of `fields` aliased `__typename`s (`{ a0: __typename a1: __typename … }`).
pub fn aliases_query(fields: usize) -> String {
    let fields: Vec<String> = (0..fields).map(|i| format!("a{i}: __typename")).collect();
    format!("{{ {} }}", fields.join(" "))
}

/// Sends the 10,000-alias query `requests` times in a row on one connection, without
/// credentials, after a few unmeasured ones; each answer must be a `BAD_USER_INPUT` refusal
/// without data (anything else counts as an error).
pub async fn too_large(addr: SocketAddr, requests: usize) -> anyhow::Result<Measured> {
    const WARMUP: usize = 10;
    let body = Bytes::from(serde_json::to_vec(
        &json!({ "query": aliases_query(10_000) }),
    )?);
    let mut client = Client::connect(addr).await?;
    let mut out = Measured::default();
    for i in 0..WARMUP + requests {
        let sent = Instant::now();
        let (status, answer) = client.post("", body.clone()).await?;
        let took = sent.elapsed();
        if i < WARMUP {
            continue;
        }
        out.latencies_us.push(took.as_micros() as u64);
        let parsed: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
        let refused = parsed["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
            && parsed["data"].is_null();
        if !refused {
            out.errors += 1;
            out.sample_error.get_or_insert_with(|| {
                format!(
                    "{status}: {}",
                    String::from_utf8_lossy(&answer[..answer.len().min(300)])
                )
            });
        }
    }
    out.latencies_us.sort_unstable();
    Ok(out)
}

/// The loop's keep-alive connection, opened when there is none; on failure the error's text,
/// after a short pause so that a refusing server is not hammered.
async fn connected(client: &mut Option<Client>, addr: SocketAddr) -> Result<&mut Client, String> {
    if client.is_none() {
        match Client::connect(addr).await {
            Ok(conn) => *client = Some(conn),
            Err(e) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Err(format!("{e:#}"));
            }
        }
    }
    client.as_mut().ok_or_else(|| "no connection".to_owned())
}
