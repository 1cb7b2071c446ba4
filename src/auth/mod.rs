//! Who is asking: password hashing, signed access tokens, opaque refresh tokens, and the
//! [`Viewer`] that every request carries.

pub mod password;
pub mod tokens;

use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::models::user::Role;

/// A signed-in, active user, as checked against the database for this request.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The user.
    pub user_id: Uuid,
    /// The sign-in (token family) the access token belongs to.
    pub family_id: Uuid,
    /// The user's role now (not when the token was issued).
    pub role: Role,
    /// When the access token expires (Unix seconds): sockets close then.
    pub token_expires_at: i64,
}

impl Viewer {
    /// The viewer a verified token claims, with the role it was issued with: what a query runs
    /// as while the database confirms it (see [`crate::graphql::gateway`]).
    pub fn claimed(claims: &tokens::Claims) -> Self {
        Self {
            user_id: claims.sub,
            family_id: claims.fam,
            role: if claims.adm { Role::Admin } else { Role::User },
            token_expires_at: claims.exp,
        }
    }

    /// Whether the viewer is an administrator.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Ok for admins, `FORBIDDEN` for everyone else.
    pub fn require_admin(&self) -> AppResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::forbidden("this needs the admin role"))
        }
    }
}

/// The outcome of reading a request's credentials.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No credentials were sent.
    Anonymous,
    /// A valid token of an active user.
    Viewer(Viewer),
    /// Credentials were sent but do not work; the reason is safe to show.
    Invalid(&'static str),
}

impl Auth {
    /// The viewer, or `UNAUTHENTICATED`.
    pub fn viewer(&self) -> AppResult<&Viewer> {
        match self {
            Self::Viewer(v) => Ok(v),
            Self::Anonymous => Err(AppError::unauthenticated("sign in first")),
            Self::Invalid(reason) => Err(AppError::unauthenticated(*reason)),
        }
    }
}

/// The token an `Authorization` value presents. A value that is not a bearer token presents
/// an empty token, which fails verification: sending credentials that do not parse is an
/// invalid sign-in, not an anonymous one.
pub fn presented_token(header: &str) -> &str {
    bearer_token(header).unwrap_or("")
}

/// Reads a bearer token from an `Authorization` header value.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
