//! What the server's [`Metrics`] and traces are told about an operation: its name, kind,
//! outcome code and latency, and, when traces are exported, a span around its execution whose
//! children are the statements it runs. [`super::gateway::Gateway`] calls these around the
//! schema (over HTTP the whole request is timed; over the socket its execution, and requests
//! refused before it are not counted there).

use std::time::Duration;

use async_graphql::Name;
use async_graphql::Response;
use async_graphql::parser::types::{ExecutableDocument, OperationType};

use super::limits::selected_operation;
use crate::metrics::Metrics;

/// What a request asked for, as far as it is known.
#[derive(Debug, Default, Clone)]
pub struct Operation {
    /// The name the client chose (`operationName`), or the document's only name.
    pub name: Option<String>,
    /// `query`, `mutation` or `subscription`; `None` until parsed, or when the document does
    /// not say which of its operations to run.
    pub kind: Option<&'static str>,
}

impl Operation {
    /// The operation named `name` (the request's `operationName`) of `document`.
    pub fn of(name: Option<&str>, document: &ExecutableDocument) -> Self {
        let selected = selected_operation(document, name);
        // An unnamed request of a document with one named operation is known by that name.
        let name = name
            .map(str::to_owned)
            .or_else(|| selected.and_then(|(only, _)| only).map(Name::to_string));
        Self {
            name,
            kind: selected.map(|(_, operation)| kind_of(operation.node.ty)),
        }
    }

    /// An operation known only by the name the request gave (its document did not parse).
    pub fn unparsed(name: Option<&str>) -> Self {
        Self {
            name: name.map(str::to_owned),
            kind: None,
        }
    }

    /// Whether it is a subscription.
    pub fn is_subscription(&self) -> bool {
        self.kind == Some("subscription")
    }

    /// Whether it is a query.
    pub fn is_query(&self) -> bool {
        self.kind == Some("query")
    }

    /// Records the answered operation. Its name gets a label of its own only if it
    /// `executed`: names of requests refused before (unparsable, invalid) cannot take the
    /// bounded set of labels.
    pub fn record(&self, metrics: &Metrics, response: &Response, took: Duration, executed: bool) {
        metrics.request(
            self.name.as_deref(),
            // A request that never parsed has no kind.
            self.kind.unwrap_or("unknown"),
            first_code(response).as_deref(),
            took,
            executed,
        );
    }

    /// The span of its execution when traces are exported (see `crate::telemetry`), named by
    /// its bounded label. The label is admitted here, before validation has run (the schema
    /// validates and executes in one call): only while traces are exported can an invalid
    /// operation's name take one of the bounded labels.
    pub fn span(&self, metrics: &Metrics) -> Option<tracing::Span> {
        crate::telemetry::tracing_enabled().then(|| {
            let label = metrics.operation_label(self.name.as_deref(), true);
            let kind = self.kind.unwrap_or("unknown");
            tracing::info_span!(
                "graphql.operation",
                otel.name = %format_args!("{kind} {label}"),
                graphql.operation.name = %label,
                graphql.operation.type = kind,
                graphql.code = tracing::field::Empty,
            )
        })
    }
}

/// The first error's `extensions.code` (`INTERNAL` if it has none); `None` without errors.
pub fn first_code(response: &Response) -> Option<String> {
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
