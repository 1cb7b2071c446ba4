//! [`AppState`]: what every request can reach. Cheap to clone.

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Object;

use crate::auth::tokens::TokenKey;
use crate::config::Config;
use crate::db::DbPool;
use crate::error::AppResult;
use crate::events::Hub;
use crate::media::Media;
use crate::throttle::Throttle;

/// Shared server state.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub pool: DbPool,
    /// Signs and checks access tokens.
    pub token_key: TokenKey,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// Media storage and upload processing.
    pub media: Media,
    /// Live events of this server.
    pub hub: Hub,
    /// Rate limits and sign-in throttling.
    pub throttle: Throttle,
}

impl AppState {
    /// A pooled connection, or a retryable `UNAVAILABLE` error.
    pub async fn db(&self) -> AppResult<Object<AsyncPgConnection>> {
        Ok(self.pool.get().await?)
    }
}
