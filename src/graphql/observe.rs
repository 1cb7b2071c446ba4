//! Records every operation in the server's [`Metrics`]: its name, kind, outcome code and
//! latency, over HTTP and the socket alike; and, when traces are exported, gives it a span. An async-graphql extension, so that it sees the
//! operation the schema itself parsed (no second parse) and the response after every other
//! extension has given its errors their codes.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextRequest,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Request, Response, ServerResult, Variables};
use tracing::Instrument;

use crate::events::routes::lock;
use crate::metrics::Metrics;

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

#[async_graphql::async_trait::async_trait]
impl Extension for Recorder {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        let code = first_code(&response);
        let operation = lock(&self.operation);
        self.metrics.request(
            operation.name.as_deref(),
            // A request that never parsed has no kind.
            operation.kind.unwrap_or("unknown"),
            code.as_deref(),
            started.elapsed(),
        );
        response
    }

    /// A span for the operation's execution, only when traces are exported (see
    /// `crate::telemetry`): the statements it runs become its children. Made here, once
    /// the operation is parsed, so that its name is the operation's.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if !crate::telemetry::tracing_enabled() {
            return next.run(ctx, operation_name).await;
        }
        let (name, kind) = {
            let operation = lock(&self.operation);
            (
                operation
                    .name
                    .clone()
                    .unwrap_or_else(|| "anonymous".to_owned()),
                operation.kind.unwrap_or("unknown"),
            )
        };
        let span = tracing::info_span!(
            "graphql.operation",
            otel.name = %format_args!("{kind} {name}"),
            graphql.operation.name = %name,
            graphql.operation.type = kind,
            graphql.code = tracing::field::Empty,
        );
        let response = next.run(ctx, operation_name).instrument(span.clone()).await;
        span.record(
            "graphql.code",
            first_code(&response).as_deref().unwrap_or("OK"),
        );
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
        if operation.kind == Some("subscription") {
            self.metrics.subscription_started(operation.name.as_deref());
        }
        Ok(document)
    }
}
