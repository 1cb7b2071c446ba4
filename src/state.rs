//! [`AppState`]: what every request can reach. Cheap to clone.

use std::sync::Arc;

use crate::auth::tokens::TokenKey;
use crate::config::Config;
use crate::db::{DbPool, PooledConn};
use crate::error::AppResult;
use crate::events::{Hub, HubConfig};
use crate::media::Media;
use crate::metrics::Metrics;
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
    /// What `/metrics` reports.
    pub metrics: Metrics,
}

impl AppState {
    /// A server's state over these parts: fresh metrics, throttle counters, and an event hub
    /// reading on `hub_pool` (its own, so request load cannot starve it).
    pub fn new(
        pool: DbPool,
        hub_pool: DbPool,
        token_key: TokenKey,
        media: Media,
        config: Config,
    ) -> Self {
        let metrics = Metrics::new();
        let hub = Hub::start(
            hub_pool,
            HubConfig {
                metrics: metrics.events(),
                ..config.hub()
            },
        );
        let media = media.with_url_key(token_key.derive("attachment urls"));
        Self {
            pool,
            token_key,
            media,
            hub,
            throttle: Throttle::new(&config),
            metrics,
            config: Arc::new(config),
        }
    }

    /// A pooled connection, or a retryable `UNAVAILABLE` error.
    pub async fn db(&self) -> AppResult<PooledConn> {
        let asked = std::time::Instant::now();
        let conn = self.pool.get().await;
        self.metrics.pool_waited(asked.elapsed());
        Ok(conn?)
    }
}
