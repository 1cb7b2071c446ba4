//! messenger: a messaging backend served as one GraphQL API.
//!
//! [`Server::start`] prepares everything a running server needs (database, migrations,
//! signing key) and [`build_app`] turns a state into the axum router. `main.rs` is a thin CLI
//! over these.

pub mod auth;
pub mod browser;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod media;
pub mod metrics;
pub mod models;
pub mod services;
pub mod state;
mod sync;
pub mod telemetry;
pub mod throttle;
pub mod web;
pub mod ws;

use anyhow::Context;

use crate::auth::tokens::TokenKey;
use crate::config::Config;
use crate::db::private::PrivatePostgres;
use crate::state::AppState;

/// Builds the router for a state: what the server serves and what tests drive.
pub fn build_app(state: AppState) -> axum::Router {
    http::router(state)
}

/// The database to use: `DATABASE_URL`, or the private PostgreSQL in the data folder, started
/// here (the caller stops it).
pub async fn database(config: &Config) -> anyhow::Result<(String, Option<PrivatePostgres>)> {
    Ok(match &config.database_url {
        Some(url) => (url.clone(), None),
        None => {
            let pg = PrivatePostgres::start(
                &config.data_dir.join("postgres"),
                config.postgres_bin_dir.as_deref(),
            )
            .await?;
            (pg.url("messenger"), Some(pg))
        }
    })
}

/// A prepared server: its state, and the private PostgreSQL it started, if any.
pub struct Server {
    /// The shared state handed to the router.
    pub state: AppState,
    /// The private PostgreSQL, when no `DATABASE_URL` was given.
    pub private_postgres: Option<PrivatePostgres>,
    /// The database URL in use.
    pub database_url: String,
}

impl Server {
    /// Finds or starts the database, creates it if missing, runs migrations (unless turned
    /// off), loads the signing key, builds the pool and opens the media store.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let (database_url, private_postgres) = database(&config).await?;
        match Self::prepare(&config, &database_url).await {
            Ok((token_key, pool, hub_pool, media)) => Ok(Self {
                state: AppState::new(pool, hub_pool, token_key, media, config),
                private_postgres,
                database_url,
            }),
            Err(e) => {
                // Do not leave a server we started running behind a failed start.
                if let Some(mut pg) = private_postgres {
                    let _ = pg.stop().await;
                }
                Err(e)
            }
        }
    }

    async fn prepare(
        config: &Config,
        database_url: &str,
    ) -> anyhow::Result<(TokenKey, db::DbPool, db::DbPool, media::Media)> {
        db::ensure_database(database_url).await?;
        if config.run_migrations {
            db::run_migrations(database_url).await?;
        }
        let token_key = TokenKey::load(config)?;
        let pool = db::build_pool(database_url, config.db_pool_size, config.db_timeout)?;
        let hub_pool = db::build_pool(database_url, 2, config.db_timeout)?;
        let media = media::Media::from_config(config)?;
        Ok((token_key, pool, hub_pool, media))
    }

    /// Stops what [`Server::start`] started.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.state.hub.shutdown();
        self.state
            .hub
            .sockets_closed(std::time::Duration::from_secs(5))
            .await;
        self.state.pool.close();
        if let Some(pg) = self.private_postgres.as_mut() {
            pg.stop().await.context("stopping the private PostgreSQL")?;
        }
        Ok(())
    }
}
