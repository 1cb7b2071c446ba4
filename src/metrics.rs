//! Prometheus metrics of one server, served at `GET /metrics` (OpenMetrics text): requests by
//! operation and outcome code, their latency, open sockets, live subscriptions, how long
//! events take from commit to the pump, `LAGGED` and `RESYNC` counts, the database pool, the
//! Redis bus and upload outcomes.
//!
//! Each server state has its own registry (prometheus-client, the Prometheus project's Rust
//! client), not a process-wide one: tests run many servers in one process, and each asserts
//! its own figures. Label values are bounded: operation names are the first
//! [`MAX_OPERATION_NAMES`] well-formed ones seen (the rest count as `other`), codes come from
//! the API's fixed set, and nothing carries a user or session id.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::AppState;
use crate::sync::lock;

/// Distinct operation names given labels of their own; later names count as `other`.
pub const MAX_OPERATION_NAMES: usize = 200;

/// The media type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    kind: &'static str,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UploadLabels {
    kind: &'static str,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// What the event hub records: its pump's delay and the notices subscribers get. Cheap to
/// clone; a default one records into no registry (for hubs built outside a server).
#[derive(Clone, Debug)]
pub struct EventMetrics {
    /// Seconds from an event's write (its transaction's start) to the pump routing it.
    pub pump_delay: Histogram,
    /// `LAGGED` notices sent.
    pub lagged: Counter,
    /// `RESYNC` notices sent.
    pub resync: Counter,
    /// Live subscriptions started.
    pub subscriptions_started: Counter,
}

impl Default for EventMetrics {
    fn default() -> Self {
        Self {
            pump_delay: latency_histogram(),
            lagged: Counter::default(),
            resync: Counter::default(),
            subscriptions_started: Counter::default(),
        }
    }
}

/// Values read when scraped rather than counted as they change.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// WebSocket connections open.
    pub open_sockets: usize,
    /// Live subscriptions on this server.
    pub live_subscriptions: usize,
    /// Database connections handed out.
    pub pool_in_use: usize,
    /// Database connections idle in the pool.
    pub pool_idle: usize,
    /// Requests waiting for a database connection.
    pub pool_waiting: usize,
    /// Whether the Redis bus is subscribed (`None`: no `REDIS_URL`).
    pub redis_connected: Option<bool>,
}

/// The metrics of one server. Cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<OperationLabels, Histogram>,
    uploads: Family<UploadLabels, Counter>,
    events: EventMetrics,
    open_sockets: Gauge,
    live_subscriptions: Gauge,
    pool: Family<PoolLabels, Gauge>,
    pool_waiting: Gauge,
    pool_wait: Histogram,
    redis_connected: Gauge,
    operation_names: Mutex<HashSet<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric of the server, all at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("messenger");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL operations answered (queries and mutations, over HTTP and the socket), by operation name, kind and outcome code (OK, or the first error's extensions.code)",
            requests.clone(),
        );
        let latency = Family::<OperationLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL operation, from receiving it to its response",
            latency.clone(),
        );
        let events = EventMetrics::default();
        registry.register(
            "live_subscriptions_started",
            "Live event subscriptions started (their starting point set)",
            events.subscriptions_started.clone(),
        );
        let uploads = Family::<UploadLabels, Counter>::default();
        registry.register(
            "uploads",
            "Uploads by kind and outcome code (OK, or why it was refused)",
            uploads.clone(),
        );
        registry.register(
            "event_pump_delay_seconds",
            "Time from an event's write to this server's pump routing it to subscriptions",
            events.pump_delay.clone(),
        );
        registry.register(
            "events_lagged",
            "LAGGED notices sent to subscribers that fell behind",
            events.lagged.clone(),
        );
        registry.register(
            "events_resync",
            "RESYNC notices sent to subscribers that resumed past retention",
            events.resync.clone(),
        );
        let open_sockets = Gauge::default();
        registry.register(
            "open_sockets",
            "WebSocket connections open",
            open_sockets.clone(),
        );
        let live_subscriptions = Gauge::default();
        registry.register(
            "live_subscriptions",
            "Live event subscriptions on this server",
            live_subscriptions.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections of the request pool, in use or idle",
            pool.clone(),
        );
        let pool_waiting = Gauge::default();
        registry.register(
            "db_pool_waiting",
            "Requests waiting for a database connection",
            pool_waiting.clone(),
        );
        let pool_wait = Histogram::new(exponential_buckets(0.0001, 4.0, 10));
        registry.register(
            "db_pool_wait_seconds",
            "Time requests waited for a database connection (a request that timed out counts its whole wait)",
            pool_wait.clone(),
        );
        let redis_connected = Gauge::default();
        registry.register(
            "redis_connected",
            "1 while the event bus is subscribed to Redis; 0 when it is not, or no REDIS_URL is set",
            redis_connected.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            requests,
            latency,
            uploads,
            events,
            open_sockets,
            live_subscriptions,
            pool,
            pool_waiting,
            pool_wait,
            redis_connected,
            operation_names: Mutex::new(HashSet::new()),
        }))
    }

    /// The handles the event hub records into.
    pub fn events(&self) -> EventMetrics {
        self.0.events.clone()
    }

    /// Records one answered operation: `kind` is `query` or `mutation`, `code` the first
    /// error's code (`None`: no error), `executed` whether it got past validation and ran.
    pub fn request(
        &self,
        operation: Option<&str>,
        kind: &'static str,
        code: Option<&str>,
        took: Duration,
        executed: bool,
    ) {
        let operation = self.operation_label(operation, executed);
        let code = match code {
            None => "OK".to_owned(),
            Some(code) if is_code(code) => code.to_owned(),
            Some(_) => "OTHER".to_owned(),
        };
        self.0
            .latency
            .get_or_create(&OperationLabels {
                operation: operation.clone(),
                kind,
            })
            .observe(took.as_secs_f64());
        self.0
            .requests
            .get_or_create(&RequestLabels {
                operation,
                kind,
                code,
            })
            .inc();
    }

    /// Records how long a request waited for a database connection.
    pub fn pool_waited(&self, waited: Duration) {
        self.0.pool_wait.observe(waited.as_secs_f64());
    }

    /// Records an upload's outcome: `code` is `None` when it was stored.
    pub fn upload(&self, kind: &'static str, code: Option<&'static str>) {
        self.0
            .uploads
            .get_or_create(&UploadLabels {
                kind,
                code: code.unwrap_or("OK"),
            })
            .inc();
    }

    /// The exposition, with the sampled values as of now.
    pub fn render(&self, sample: Sample) -> String {
        let inner = &self.0;
        inner.open_sockets.set(gauge_value(sample.open_sockets));
        inner
            .live_subscriptions
            .set(gauge_value(sample.live_subscriptions));
        inner
            .pool
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(gauge_value(sample.pool_in_use));
        inner
            .pool
            .get_or_create(&PoolLabels { state: "idle" })
            .set(gauge_value(sample.pool_idle));
        inner.pool_waiting.set(gauge_value(sample.pool_waiting));
        inner
            .redis_connected
            .set(i64::from(sample.redis_connected.unwrap_or(false)));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &inner.registry);
        text
    }

    /// The label of an operation name: itself if well-formed and among the first
    /// [`MAX_OPERATION_NAMES`] admitted, else `other`; `anonymous` without a name. A name not
    /// seen before is admitted only with `admit` (its operation ran).
    pub fn operation_label(&self, operation: Option<&str>, admit: bool) -> String {
        let Some(name) = operation else {
            return "anonymous".to_owned();
        };
        if !is_name(name) {
            return "other".to_owned();
        }
        let mut names = lock(&self.0.operation_names);
        if names.contains(name) {
            return name.to_owned();
        }
        if admit && names.len() < MAX_OPERATION_NAMES {
            names.insert(name.to_owned());
            return name.to_owned();
        }
        "other".to_owned()
    }
}

/// `GET /metrics` for a server state.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    let pool = state.pool.status();
    let sample = Sample {
        open_sockets: state.hub.open_sockets(),
        live_subscriptions: state.hub.live_subscriptions(),
        pool_in_use: pool.size.saturating_sub(pool.available),
        pool_idle: pool.available,
        pool_waiting: pool.waiting,
        redis_connected: state.hub.redis_connected(),
    };
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.render(sample),
    )
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A GraphQL name of at most 64 characters.
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An error code as the API writes them (`BAD_USER_INPUT`).
fn is_code(code: &str) -> bool {
    !code.is_empty() && code.len() <= 40 && code.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_stay_bounded() {
        let metrics = Metrics::new();
        for i in 0..MAX_OPERATION_NAMES + 50 {
            metrics.request(Some(&format!("Op{i}")), "query", None, Duration::ZERO, true);
        }
        metrics.request(
            Some("not a name"),
            "query",
            Some("lowercase code"),
            Duration::ZERO,
            true,
        );
        metrics.request(
            None,
            "mutation",
            Some("BAD_USER_INPUT"),
            Duration::ZERO,
            true,
        );
        let text = metrics.render(Sample::default());
        assert!(text.contains(r#"operation="Op0""#), "{text}");
        assert!(!text.contains(&format!("Op{MAX_OPERATION_NAMES}\"")));
        assert!(text.contains(
            r#"messenger_graphql_requests_total{operation="other",kind="query",code="OK"} 50"#
        ));
        assert!(text.contains(
            r#"messenger_graphql_requests_total{operation="other",kind="query",code="OTHER"} 1"#
        ));
        assert!(text.contains(r#"operation="anonymous",kind="mutation",code="BAD_USER_INPUT""#));
        assert!(text.ends_with("# EOF\n"));

        // A name whose request never ran takes no label of its own.
        let fresh = Metrics::new();
        let parse_failed = Some("GRAPHQL_PARSE_FAILED");
        fresh.request(
            Some("Junk1"),
            "unknown",
            parse_failed,
            Duration::ZERO,
            false,
        );
        fresh.request(Some("Real"), "query", None, Duration::ZERO, true);
        let text = fresh.render(Sample::default());
        assert!(!text.contains("Junk1"), "{text}");
        assert!(text.contains(r#"operation="Real""#), "{text}");
    }
}
