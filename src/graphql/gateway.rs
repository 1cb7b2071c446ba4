//! The schema behind the rules every request passes first, for HTTP and the socket alike:
//! the request limits (size, fields, introspection; [`super::limits`]), a code on every error,
//! the operation's metrics and its span ([`super::observe`]).
//!
//! These run around the schema rather than as async-graphql extensions because with any
//! extension installed, async-graphql sends every resolved field through its extension chain
//! (a resolve-info lookup by type name and a boxed future per field, per list item too): a
//! fifth of the instructions of an inbox request, for hooks that only ever look at the
//! request as a whole. The document is parsed once, here (or taken from the documents
//! admitted before), and handed to the schema.
//!
//! A query runs while its sign-in is checked, not after: on the viewer its token claims,
//! with its first reads lent the connection the check is on ([`Loan`]), so that they reach
//! PostgreSQL together and are answered without a round trip between them. The answer waits
//! for the check and is kept only if the check confirms that viewer; otherwise (a sign-in
//! ended, an account deactivated, a role changed since the token was issued) the query runs
//! again as the viewer the check found. A query writes nothing, so its run on a claim that
//! fails leaves no trace; a mutation's check comes first, as does a subscription's (on the
//! socket, at `connection_init`).
//!
//! A kept document that the schema has validated once runs on a second instance of the same
//! schema whose validation keeps only what depends on the request (depth, complexity): the
//! other rules depend on the document alone, and the values of the variables, the one thing
//! validation checked that varies, are checked here on every request
//! ([`super::variables`]). Validation was a fifth of a `user(id)` request's instructions.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::{BatchRequest, BatchResponse, Request, Response};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tracing::Instrument;

use crate::auth::tokens::Claims;
use crate::auth::{Auth, Viewer};
use crate::db::Loan;
use crate::error::AppResult;
use crate::services::accounts::{self, Credentials};
use crate::state::AppState;
use crate::throttle::ClientAddress;

use super::AppSchema;
use super::eager::Shapes;
use super::limits::{Kept, RequestLimits, coded};
use super::observe::{Operation, first_code};
use super::variables::VariableTypes;

/// The schema with its request-level rules; cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    schema: AppSchema,
    /// The same schema (same types and data) validating in async-graphql's `Fast` mode: for
    /// kept documents it has validated before.
    validated: AppSchema,
    variables: Arc<VariableTypes>,
    limits: Arc<RequestLimits>,
    /// For the sign-in checks, and the metrics every operation records into. Behind its own
    /// `Arc`: the router clones the gateway for every request, and a whole `AppState` is a
    /// dozen reference counts to bump and drop.
    state: Arc<AppState>,
}

impl Gateway {
    /// `schema` under `limits`, recording into `state`'s metrics; `validated` is the same schema
    /// built with `ValidationMode::Fast`; sign-ins are checked in `state`'s database.
    pub fn new(
        schema: AppSchema,
        validated: AppSchema,
        limits: RequestLimits,
        state: AppState,
    ) -> Self {
        Self {
            schema,
            validated,
            variables: Arc::new(VariableTypes::default()),
            limits: Arc::new(limits),
            state: Arc::new(state),
        }
    }

    /// A GraphQL-over-HTTP request (one operation or a batch, run one after the other) from
    /// `client` with `credentials`, each operation timed whole: parse and validation
    /// included, refusals counted. An error when a sign-in could not be checked (the
    /// database is unreachable): then no operation's answer is sent.
    pub async fn execute_batch(
        &self,
        batch: BatchRequest,
        credentials: Credentials,
        client: ClientAddress,
    ) -> AppResult<BatchResponse> {
        Ok(match batch {
            BatchRequest::Single(request) => {
                BatchResponse::Single(self.execute(request, credentials, client).await?)
            }
            BatchRequest::Batch(requests) => {
                let mut responses = Vec::with_capacity(requests.len());
                for request in requests {
                    responses.push(self.execute(request, credentials.clone(), client).await?);
                }
                BatchResponse::Batch(responses)
            }
        })
    }

    /// One operation over HTTP, timed whole.
    async fn execute(
        &self,
        mut request: Request,
        credentials: Credentials,
        client: ClientAddress,
    ) -> AppResult<Response> {
        let started = Instant::now();
        let (operation, admitted) = self.admit(&mut request, true);
        let response = match (admitted, credentials) {
            (Err(refusal), _) => refusal,
            (Ok(kept), Credentials::Claimed(claims))
                if operation.is_query() && request.uploads.is_empty() =>
            {
                // Boxed for the reason `run` boxes the execution.
                Box::pin(self.run_while_confirming(request, &operation, kept, claims, client))
                    .await?
            }
            (Ok(kept), credentials) => {
                let auth = accounts::settle(&self.state, credentials).await?;
                self.run(request.data(auth).data(client), &operation, kept)
                    .await
            }
        };
        let ran = !failed_before_execution(&response);
        operation.record(&self.state.metrics, &response, started.elapsed(), ran);
        Ok(response)
    }

    /// Runs an admitted query as the viewer `claims` names while the database confirms the
    /// claim (see the module doc); the answer is the confirmed viewer's.
    async fn run_while_confirming(
        &self,
        request: Request,
        operation: &Operation,
        kept: Option<Arc<Kept>>,
        claims: Claims,
        client: ClientAddress,
    ) -> AppResult<Response> {
        let mut again = copy(&request);
        let claimed = Viewer::claimed(&claims);
        let conn = Arc::new(self.state.db().await?);
        let loan = Loan::new(conn.clone());
        let request = request
            .data(Auth::Viewer(claimed.clone()))
            .data(client)
            .data(loan.clone());
        let check = async move {
            let confirmed = accounts::confirm(&conn, &claims).await;
            // The reads that borrowed the connection keep it until their statements are
            // done; nothing else holds it while the query goes on.
            loan.end();
            confirmed
        };
        // Both are polled before either waits, so the query's first statements and the check
        // are queued on the connection together and go out in one write.
        let (response, confirmed) = futures_util::join!(self.run(request, operation, kept), check);
        let auth = confirmed?;
        if matches!(&auth, Auth::Viewer(viewer) if viewer.role == claimed.role) {
            return Ok(response);
        }
        // Admitted again (its document is kept by now): the copy carries nothing of the run.
        Ok(match self.admit(&mut again, true).1 {
            Ok(kept) => {
                self.run(again.data(auth).data(client), operation, kept)
                    .await
            }
            Err(refusal) => refusal,
        })
    }

    /// An operation over the socket: a subscription's stream, or a query's or mutation's one
    /// answer (recorded when it executed: over the socket only execution is timed).
    pub fn execute_stream(&self, mut request: Request) -> BoxStream<'static, Response> {
        let (operation, admitted) = self.admit(&mut request, false);
        let kept = match admitted {
            Ok(kept) => kept,
            Err(refusal) => return futures_util::stream::once(async { refusal }).boxed(),
        };
        if operation.is_subscription() {
            // A subscription whose root field fails (not a member, the database unreachable
            // while a server starts or stops) never started: its error belongs to the
            // operation, not to an event, so the socket answers it with `error` (and the
            // client subscribes again) instead of a `next` that looks like a broken event.
            let mut first = true;
            return self
                .schema
                .execute_stream(request)
                .map(coded)
                .map(move |mut response| {
                    if std::mem::take(&mut first)
                        && matches!(response.data, async_graphql::Value::Null)
                    {
                        for error in &mut response.errors {
                            error.path.clear();
                        }
                    }
                    response
                })
                .boxed();
        }
        let gateway = self.clone();
        futures_util::stream::once(async move {
            let started = Instant::now();
            let response = gateway.run(request, &operation, kept).await;
            if !failed_before_execution(&response) {
                operation.record(&gateway.state.metrics, &response, started.elapsed(), true);
            }
            response
        })
        .boxed()
    }

    /// Parses the request and checks its limits and its variables' values: the operation it
    /// asks for, and its kept document or the refusal to answer with. An admitted request
    /// gets its cache of object [`Shapes`], which writes objects as JSON if the response is
    /// `written` by [`super::json`] (HTTP's) and the document allows it.
    fn admit(
        &self,
        request: &mut Request,
        written: bool,
    ) -> (Operation, Result<Option<Arc<Kept>>, Response>) {
        let name = request.operation_name.clone();
        match self.limits.admit(request, &self.variables) {
            Ok(admitted) => {
                let operation = Operation::of(name.as_deref(), admitted.document);
                let kept = admitted.kept;
                let written = written && kept.as_ref().is_some_and(|kept| kept.unique_keys());
                request.data.insert(if written {
                    Shapes::written()
                } else {
                    Shapes::default()
                });
                (operation, Ok(kept))
            }
            Err(error) => (
                Operation::unparsed(name.as_deref()),
                Err(Response::from_errors(vec![error])),
            ),
        }
    }

    /// Validates and executes an admitted request, in the operation's span when traces are
    /// exported; a kept document validated before skips the rules that depend on it alone.
    async fn run(
        &self,
        request: Request,
        operation: &Operation,
        kept: Option<Arc<Kept>>,
    ) -> Response {
        let validated = kept.as_ref().is_some_and(|kept| kept.validated());
        let schema = if validated {
            &self.validated
        } else {
            &self.schema
        };
        // On the heap: async-graphql's execution is a large future, and inline it made every
        // future that awaits this one as large, copied whole each time one is moved (a
        // request's handler is moved a few times before it first runs).
        let execution = Box::pin(schema.execute(request));
        let response = match operation.span(&self.state.metrics) {
            Some(span) => {
                let response = coded(execution.instrument(span.clone()).await);
                let code = first_code(&response);
                span.record("graphql.code", code.as_deref().unwrap_or("OK"));
                response
            }
            None => coded(execution.await),
        };
        if let Some(kept) = kept.filter(|_| !validated)
            && !failed_before_execution(&response)
        {
            kept.mark_validated();
        }
        response
    }
}

/// A new request with `request`'s operation and variables, for a second run.
fn copy(request: &Request) -> Request {
    let mut again = Request::new(request.query.clone()).variables(request.variables.clone());
    again.operation_name = request.operation_name.clone();
    again.extensions = request.extensions.clone();
    again.introspection_mode = request.introspection_mode;
    again
}

/// A parse or validation failure: the operation never ran, so there is no data and no error
/// has a path (HTTP answers it with 400, the socket with an `error` message, and metrics do
/// not admit its name).
pub fn failed_before_execution(response: &Response) -> bool {
    matches!(response.data, async_graphql::Value::Null)
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}
