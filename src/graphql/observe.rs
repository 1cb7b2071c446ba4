//! Records every query and mutation in the server's [`Metrics`]: its name, kind, outcome code
//! and latency, over HTTP (the whole request) and the socket (its execution: requests refused
//! before it are not counted there); and, when traces are exported, gives it a span.
//!
//! An async-graphql extension, so that it sees the operation the schema itself parsed (no
//! second parse) and the response after every other extension has given its errors their
//! codes.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextRequest,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Request, Response, ServerResult, Variables};
use tracing::Instrument;

use crate::metrics::Metrics;
use crate::sync::lock;

/// The extension's factory: one recorder per request, all writing into `metrics`.
pub struct Observe(pub Metrics);

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Recorder {
            metrics: self.0.clone(),
            operation: Mutex::new(Operation::default()),
        })
    }
}

/// What this request asked for, as far as it is known.
#[derive(Default)]
struct Operation {
    /// The name the client chose (`operationName`), or the document's only name.
    name: Option<String>,
    /// `query`, `mutation` or `subscription`; `None` until parsed.
    kind: Option<&'static str>,
    /// Whether it passed parsing and validation and ran.
    executed: bool,
    /// Whether the request hook sees it whole (HTTP); over the socket only execution is.
    whole_request: bool,
}

struct Recorder {
    metrics: Metrics,
    operation: Mutex<Operation>,
}

/// The first error's `extensions.code` (`INTERNAL` if it has none); `None` without errors.
fn first_code(response: &Response) -> Option<String> {
    response.errors.first().map(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| match x.get("code") {
                Some(async_graphql::Value::String(code)) => Some(code.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "INTERNAL".to_owned())
    })
}

fn kind_of(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

impl Recorder {
    /// Records the answered operation. An operation name gets a label of its own only once
    /// its operation has executed: names of requests refused before (unparsable, invalid)
    /// cannot take the bounded set of labels.
    fn record(&self, code: Option<&str>, took: std::time::Duration) {
        let operation = lock(&self.operation);
        self.metrics.request(
            operation.name.as_deref(),
            // A request that never parsed has no kind.
            operation.kind.unwrap_or("unknown"),
            code,
            took,
            operation.executed,
        );
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Recorder {
    /// Over HTTP: the whole request, parse and validation included.
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        lock(&self.operation).whole_request = true;
        let response = next.run(ctx).await;
        self.record(first_code(&response).as_deref(), started.elapsed());
        response
    }

    /// The execution: recorded here for queries and mutations over the socket (they do not
    /// pass the request hook), and given a span when traces are exported (see
    /// `crate::telemetry`), whose children are the statements it runs.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let (whole_request, span) = {
            let mut operation = lock(&self.operation);
            operation.executed = true;
            // The span's name is a bounded label too: only built when traces are exported.
            let span = crate::telemetry::tracing_enabled().then(|| {
                let label = self
                    .metrics
                    .operation_label(operation.name.as_deref(), true);
                let kind = operation.kind.unwrap_or("unknown");
                tracing::info_span!(
                    "graphql.operation",
                    otel.name = %format_args!("{kind} {label}"),
                    graphql.operation.name = %label,
                    graphql.operation.type = kind,
                    graphql.code = tracing::field::Empty,
                )
            });
            (operation.whole_request, span)
        };
        let response = match &span {
            Some(span) => next.run(ctx, operation_name).instrument(span.clone()).await,
            None => next.run(ctx, operation_name).await,
        };
        let code = first_code(&response);
        if let Some(span) = span {
            span.record("graphql.code", code.as_deref().unwrap_or("OK"));
        }
        if !whole_request {
            self.record(code.as_deref(), started.elapsed());
        }
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        lock(&self.operation).name = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mut operation = lock(&self.operation);
        let chosen = match (&document.operations, operation.name.as_deref()) {
            (DocumentOperations::Single(op), _) => Some(op.node.ty),
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
                ops.iter().next().map(|(name, op)| {
                    operation.name = Some(name.to_string());
                    op.node.ty
                })
            }
            (DocumentOperations::Multiple(_), None) => None,
        };
        operation.kind = chosen.map(kind_of);
        Ok(document)
    }
}
