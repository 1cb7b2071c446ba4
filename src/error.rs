//! The one error type of the request path, and how it reaches clients as `extensions.code`.
//!
//! Model functions return diesel's `QueryResult`; services and resolvers return
//! [`AppResult`]. Internal errors are logged in full here and reach the client only as
//! `INTERNAL` with a generic message.

use async_graphql::ErrorExtensions;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Result of a service or resolver.
pub type AppResult<T> = Result<T, AppError>;

/// What went wrong, in the terms a client can act on.
///
/// It deliberately does not implement `Display`: async-graphql converts any `Display` type
/// into its error without extensions, and every `?` in a resolver must go through
/// [`ErrorExtensions`] instead, so that no error reaches a client without its code.
#[derive(Debug)]
pub enum AppError {
    /// The input breaks a documented rule; the message says which.
    BadInput(String),
    /// No valid credentials, or credentials that no longer work.
    Unauthenticated(String),
    /// Signed in, but not allowed to do this.
    Forbidden(String),
    /// The thing does not exist, or the viewer may not know that it does.
    NotFound(&'static str),
    /// The request clashes with existing data (a taken username, for instance).
    Conflict(String),
    /// Too many requests of this kind; try again after `retry_after` (sent as
    /// `extensions.retryAfter`, whole seconds).
    RateLimited {
        /// What was limited.
        message: String,
        /// When the same request may succeed.
        retry_after: std::time::Duration,
    },
    /// A dependency (the database) is unreachable for now; retrying later may succeed.
    /// The detail is logged, not shown.
    Unavailable(String),
    /// Anything else: logged, never shown.
    Internal(anyhow::Error),
}

impl AppError {
    /// `BAD_USER_INPUT` with a message.
    pub fn bad_input(msg: impl Into<String>) -> Self {
        Self::BadInput(msg.into())
    }

    /// `UNAUTHENTICATED` with a message.
    pub fn unauthenticated(msg: impl Into<String>) -> Self {
        Self::Unauthenticated(msg.into())
    }

    /// `FORBIDDEN` with a message.
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::Forbidden(msg.into())
    }

    /// `CONFLICT` with a message.
    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::Conflict(msg.into())
    }

    /// `RATE_LIMITED` with a message and the wait before trying again.
    pub fn rate_limited(msg: impl Into<String>, retry_after: std::time::Duration) -> Self {
        Self::RateLimited {
            message: msg.into(),
            retry_after,
        }
    }

    /// `INTERNAL`, for errors that are bugs or broken invariants.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }

    /// The message clients see: never internal detail.
    pub fn message(&self) -> String {
        match self {
            Self::BadInput(m)
            | Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::Conflict(m)
            | Self::RateLimited { message: m, .. } => m.clone(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::Unavailable(_) => "the service is temporarily unavailable, try again".into(),
            Self::Internal(_) => "internal error".into(),
        }
    }

    /// For command-line use, where the operator may see everything.
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            Self::Internal(e) => e,
            Self::Unavailable(detail) => anyhow::anyhow!("database unavailable: {detail}"),
            other => anyhow::anyhow!(other.message()),
        }
    }

    /// The `extensions.code` clients see.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadInput(_) => "BAD_USER_INPUT",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// Whether the same request may succeed if simply retried later.
    pub fn retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::RateLimited { .. })
    }
}

/// True when a diesel error means the connection, not the query, failed.
fn is_connection_failure(err: &DieselError) -> bool {
    match err {
        // A socket that closed or broke (diesel-async reports every error that carries no
        // SQLSTATE, which only the connection itself produces, as "unable to send").
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            // The server's own goodbyes (57P01 admin shutdown, 57P02 crash shutdown, 57P03
            // cannot connect now, 25P03 idle-in-transaction timeout) come with a SQLSTATE that
            // diesel-async does not pass on (its error information has no code), so their text
            // is all there is to tell them by.
            let msg = info.message();
            msg.contains("connection closed")
                || msg.contains("terminating connection")
                || msg.contains("the database system is")
                || msg.contains("error communicating with the server")
        }
        _ => false,
    }
}

impl From<DieselError> for AppError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => Self::NotFound("record"),
            ref e if is_connection_failure(e) => Self::Unavailable(e.to_string()),
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info.message().contains("statement timeout") =>
            {
                Self::Unavailable(info.message().to_owned())
            }
            // A transaction PostgreSQL chose to abort so that others could go on (a deadlock,
            // a serialization failure): nothing of it was kept, and the same request sent
            // again is expected to succeed, so the client is told to retry (sends stay
            // idempotent through their client message id).
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, ref info) => {
                Self::Unavailable(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info.message().contains("deadlock detected") =>
            {
                Self::Unavailable(info.message().to_owned())
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(err: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        // Timeouts, refused connections, a server restarting: all worth a retry.
        Self::Unavailable(err.to_string())
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.extend()
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        match self {
            Self::Internal(e) => tracing::error!(error = ?e, "internal error"),
            Self::Unavailable(detail) => tracing::warn!(%detail, "dependency unavailable"),
            _ => {}
        }
        async_graphql::Error::new(self.message()).extend_with(|_, ext| {
            ext.set("code", self.code());
            if self.retryable() {
                ext.set("retryable", true);
            }
            if let Self::RateLimited { retry_after, .. } = self {
                // Whole seconds, rounded up: never "retry after 0".
                let millis = retry_after.as_millis().max(1);
                ext.set("retryAfter", millis.div_ceil(1000) as u64);
            }
        })
    }
}

/// The name of the constraint a unique violation broke, if that is what `err` is.
pub fn unique_violation(err: &DieselError) -> Option<&str> {
    match err {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            info.constraint_name()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(err: AppError) -> String {
        let gql: async_graphql::Error = err.into();
        let ext = gql.extensions.expect("extensions are set");
        ext.get("code").expect("code is set").to_string()
    }

    #[test]
    fn every_variant_maps_to_its_code() {
        assert_eq!(code_of(AppError::bad_input("x")), "\"BAD_USER_INPUT\"");
        assert_eq!(
            code_of(AppError::unauthenticated("x")),
            "\"UNAUTHENTICATED\""
        );
        assert_eq!(code_of(AppError::forbidden("x")), "\"FORBIDDEN\"");
        assert_eq!(code_of(AppError::NotFound("user")), "\"NOT_FOUND\"");
        assert_eq!(code_of(AppError::conflict("x")), "\"CONFLICT\"");
        assert_eq!(
            code_of(AppError::rate_limited(
                "x",
                std::time::Duration::from_millis(1500)
            )),
            "\"RATE_LIMITED\""
        );
        assert_eq!(
            code_of(AppError::Unavailable("x".into())),
            "\"UNAVAILABLE\""
        );
        assert_eq!(
            code_of(AppError::internal(anyhow::anyhow!("x"))),
            "\"INTERNAL\""
        );
    }

    #[test]
    fn diesel_not_found_is_not_found() {
        assert_eq!(code_of(DieselError::NotFound.into()), "\"NOT_FOUND\"");
    }

    #[test]
    fn an_aborted_transaction_is_worth_a_retry() {
        for (kind, message) in [
            (
                DatabaseErrorKind::SerializationFailure,
                "could not serialize access",
            ),
            (DatabaseErrorKind::Unknown, "deadlock detected"),
        ] {
            let err: AppError =
                DieselError::DatabaseError(kind, Box::new(message.to_owned())).into();
            assert!(err.retryable(), "{message}");
            assert_eq!(code_of(err), "\"UNAVAILABLE\"");
        }
        let other: AppError = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("division by zero".to_owned()),
        )
        .into();
        assert_eq!(code_of(other), "\"INTERNAL\"");
    }

    #[test]
    fn a_lost_connection_is_unavailable_and_retryable() {
        for kind in [
            DatabaseErrorKind::ClosedConnection,
            DatabaseErrorKind::UnableToSendCommand,
        ] {
            let err: AppError =
                DieselError::DatabaseError(kind, Box::new("gone".to_owned())).into();
            assert!(err.retryable());
            assert_eq!(code_of(err), "\"UNAVAILABLE\"");
        }
        let unique: AppError = DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate".to_owned()),
        )
        .into();
        assert_eq!(code_of(unique), "\"INTERNAL\"");
    }

    #[test]
    fn internal_details_are_not_shown() {
        let gql: async_graphql::Error =
            AppError::internal(anyhow::anyhow!("password=hunter2 at db.rs:12")).into();
        assert_eq!(gql.message, "internal error");
    }
}
