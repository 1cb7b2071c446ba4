//! The GraphQL schema: per-domain roots merged into one, object types, and helpers shared by
//! resolvers.

pub mod accounts;
pub mod admin;
pub mod batcher;
pub mod conversations;
pub mod eager;
pub mod gateway;
pub mod json;
pub mod limits;
pub mod live;
pub mod loaders;
pub mod media;
pub mod observe;
pub mod prefetch;
pub mod social;
pub mod types;
pub mod variables;

use async_graphql::{
    Context, ID, MergedObject, MergedSubscription, Schema, SchemaBuilder, ValidationMode,
};
use uuid::Uuid;

use crate::auth::{Auth, Viewer};
use crate::config::Config;
use crate::db::{Loan, Reader};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::throttle::ClientAddress;

/// The root query: every domain's queries merged.
#[derive(MergedObject, Default)]
pub struct Query(
    accounts::AccountQuery,
    conversations::ConversationQuery,
    social::SocialQuery,
    admin::AdminQuery,
    live::LiveQuery,
);

/// The root mutation: every domain's mutations merged.
#[derive(MergedObject, Default)]
pub struct Mutation(
    accounts::AccountMutation,
    conversations::ConversationMutation,
    social::SocialMutation,
    admin::AdminMutation,
    media::MediaMutation,
);

/// The root subscription: every domain's subscriptions merged.
#[derive(MergedSubscription, Default)]
pub struct Subscription(live::LiveSubscription);

/// The schema type served over HTTP and WebSocket.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema without server state: enough for the SDL. The request-level rules (limits,
/// metrics, spans) run around it, in [`gateway::Gateway`], not as extensions: an extension's
/// per-field hooks would not see the fields of [`eager::Eager`] objects.
pub fn schema_builder(config: &Config) -> SchemaBuilder<Query, Mutation, Subscription> {
    let builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(config.max_query_depth)
    .limit_complexity(config.max_query_complexity)
    .limit_recursive_depth(64)
    .limit_directives(16);
    if config.introspection {
        builder
    } else {
        builder.disable_introspection()
    }
}

/// The one schema the server and the SDL test both use, behind its request-level rules: built
/// twice, the second validating only what depends on the request (for documents the first
/// has validated, see [`gateway`]); both share one set of loaders, so their batches meet.
pub fn build_gateway(state: AppState) -> gateway::Gateway {
    let config = state.config.clone();
    let loaders = loaders::loaders(state.clone());
    let build = |mode| {
        schema_builder(&config)
            .validation_mode(mode)
            .data(loaders.clone())
            .data(state.clone())
            .finish()
    };
    gateway::Gateway::new(
        build(ValidationMode::Strict),
        build(ValidationMode::Fast),
        limits::RequestLimits::new(&config),
        state,
    )
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    schema_builder(&Config::default()).finish().sdl()
}

/// A connection for a resolver's reads: the one its request lent while it checks the sign-in
/// ([`Loan`]), so that the first reads travel with the check, or else one of the pool's. Held
/// for the resolver's own statements only, never while it waits for a loader (see [`Loan`]).
pub async fn reader(ctx: &Context<'_>) -> AppResult<Reader> {
    if let Some(conn) = ctx.data_opt::<Loan>().and_then(Loan::borrow) {
        return Ok(Reader::Lent(conn));
    }
    Ok(Reader::Pooled(ctx.state().db().await?))
}

/// Resolver helpers on the GraphQL context.
pub trait ContextExt {
    /// The server state.
    fn state(&self) -> &AppState;
    /// The signed-in viewer, or `UNAUTHENTICATED`.
    fn viewer(&self) -> AppResult<&Viewer>;
    /// The viewer if signed in.
    fn viewer_opt(&self) -> Option<&Viewer>;
    /// The client's address (none for in-process requests).
    fn client(&self) -> ClientAddress;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn viewer(&self) -> AppResult<&Viewer> {
        self.data_opt::<Auth>()
            .ok_or_else(|| AppError::unauthenticated("sign in first"))?
            .viewer()
    }

    fn viewer_opt(&self) -> Option<&Viewer> {
        match self.data_opt::<Auth>() {
            Some(Auth::Viewer(v)) => Some(v),
            _ => None,
        }
    }

    fn client(&self) -> ClientAddress {
        self.data_opt::<ClientAddress>()
            .copied()
            .unwrap_or(ClientAddress(None))
    }
}

/// Parses a GraphQL `ID` into a uuid, or `BAD_USER_INPUT`.
pub fn parse_id(id: &ID, what: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str())
        .map_err(|_| AppError::bad_input(format!("{what} is not a valid id")))
}
