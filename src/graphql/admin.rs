//! Admin-only operations on other accounts. Every one answers `FORBIDDEN` to non-admins.

use async_graphql::{Context, ID, Object};

use crate::graphql::accounts::{UserConnection, list_users};
use crate::graphql::eager::Eager;
use crate::graphql::types::User;
use crate::graphql::{ContextExt, parse_id};
use crate::models::user::Role;
use crate::services::accounts;

/// Admin queries.
#[derive(Default)]
pub struct AdminQuery;

/// Admin queries.
#[Object]
impl AdminQuery {
    /// Admins only: every account, deactivated ones included, ordered by username, with
    /// `account` details (role, status). Same paging and search rules as `users`.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn all_users(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<UserConnection> {
        let viewer = ctx.viewer()?;
        viewer.require_admin()?;
        list_users(ctx, viewer, search, true, first, after).await
    }
}

/// Admin mutations.
#[derive(Default)]
pub struct AdminMutation;

/// Admin mutations.
#[Object]
impl AdminMutation {
    /// Admins only: deactivates an account. It can no longer sign in, and its tokens stop
    /// working at once. Not for your own account.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Eager<User>> {
        let viewer = ctx.viewer()?;
        viewer.require_admin()?;
        let id = parse_id(&id, "id")?;
        Ok(User::from(accounts::set_active(ctx.state(), viewer, id, false).await?).into())
    }

    /// Admins only: reactivates a deactivated account (it signs in again with its password).
    async fn reactivate_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Eager<User>> {
        let viewer = ctx.viewer()?;
        viewer.require_admin()?;
        let id = parse_id(&id, "id")?;
        Ok(User::from(accounts::set_active(ctx.state(), viewer, id, true).await?).into())
    }

    /// Admins only: changes another account's role.
    async fn set_user_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
        role: Role,
    ) -> async_graphql::Result<Eager<User>> {
        let viewer = ctx.viewer()?;
        viewer.require_admin()?;
        let id = parse_id(&id, "id")?;
        Ok(User::from(accounts::set_role(ctx.state(), viewer, id, role).await?).into())
    }
}
