//! Account queries and mutations: registration, sign-in, tokens, profiles, user lookup.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use crate::graphql::eager::{Eager, EagerConnection};
use crate::graphql::types::{AuthPayload, User, decode_cursor, encode_cursor, page_size};
use crate::graphql::{ContextExt, parse_id, reader};
use crate::services::accounts::{self, DEFAULT_PAGE, MAX_PAGE, ProfileUpdate, Registration};
use crate::services::input::{DisplayName, Location, Password, SearchText, Username};

/// Cursor kind of user listings (ordered by username).
const USER_CURSOR: &str = "user";

/// A page of users, ordered by username.
pub type UserConnection = EagerConnection<String, User>;

/// Account queries.
#[derive(Default)]
pub struct AccountQuery;

/// Account queries.
#[Object]
impl AccountQuery {
    /// The signed-in user. `UNAUTHENTICATED` without a valid access token.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Eager<User>> {
        let viewer = ctx.viewer()?;
        Ok(User::from(accounts::me(&*reader(ctx).await?, viewer).await?).into())
    }

    /// A user by id. `NOT_FOUND` if there is none. Needs sign-in.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Eager<User>> {
        ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        Ok(Eager(User::from(
            accounts::get_user(&*reader(ctx).await?, id).await?,
        )))
    }

    /// Active users, ordered by username, whose username or display name contains `search`
    /// (case-insensitive, at most 64 characters). Pages of `first` (1–100, default 20) after
    /// the cursor `after`. Needs sign-in.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<UserConnection> {
        let viewer = ctx.viewer()?;
        list_users(ctx, viewer, search, false, first, after).await
    }
}

/// Shared by `users` and the admin's `allUsers`.
pub(crate) async fn list_users(
    ctx: &Context<'_>,
    viewer: &crate::auth::Viewer,
    search: Option<String>,
    include_deactivated: bool,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<UserConnection> {
    let first = page_size(first, DEFAULT_PAGE, MAX_PAGE)?;
    let search = match search {
        Some(s) => SearchText::parse(&s)?,
        None => None,
    };
    let after_username = match after {
        Some(cursor) => Some(Username::parse(&decode_cursor(USER_CURSOR, &cursor)?)?)
            .map(|u| u.as_str().to_owned()),
        None => None,
    };
    let had_cursor = after_username.is_some();
    let page = accounts::list_users(
        ctx.state(),
        viewer,
        search,
        include_deactivated,
        first,
        after_username,
    )
    .await?;
    let mut connection = Connection::new(had_cursor, page.has_next_page);
    connection.edges.extend(page.users.into_iter().map(|user| {
        Edge::new(
            encode_cursor(USER_CURSOR, &user.username),
            User::from(user).into(),
        )
    }));
    Ok(connection.into())
}

/// A new account.
#[derive(InputObject)]
pub struct RegisterInput {
    /// 3–32 of `a-z 0-9 _ .`; upper case is folded to lower case. Unique.
    pub username: String,
    /// At least 8 characters, at most 1,024 bytes.
    pub password: String,
    /// 1–64 characters after trimming; no control characters.
    pub display_name: String,
    /// Up to 100 characters after trimming; no control characters.
    pub location: Option<String>,
}

/// Credentials.
#[derive(InputObject)]
pub struct LoginInput {
    /// The username (any case).
    pub username: String,
    /// The password.
    pub password: String,
}

/// Profile changes; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// New display name: 1–64 characters after trimming.
    pub display_name: Option<String>,
    /// New location (up to 100 characters); null or empty clears it.
    pub location: MaybeUndefined<String>,
}

/// Account mutations.
#[derive(Default)]
pub struct AccountMutation;

/// Account mutations.
#[Object]
impl AccountMutation {
    /// Creates an account and signs it in. `CONFLICT` if the username is taken (whatever its
    /// case); `BAD_USER_INPUT` naming the rule an input breaks.
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<AuthPayload> {
        let registration = Registration {
            username: Username::parse(&input.username)?,
            password: Password::parse(&input.password)?,
            display_name: DisplayName::parse(&input.display_name)?,
            location: match input.location {
                Some(l) => Location::parse(&l)?,
                None => None,
            },
        };
        Ok(AuthPayload(
            accounts::register(ctx.state(), ctx.client(), registration).await?,
        ))
    }

    /// Signs in. A wrong username and a wrong password get the same `UNAUTHENTICATED` error.
    /// After `MESSENGER_SIGNIN_FAILURES_PER_ACCOUNT` failures a username is locked for the rest
    /// of its window, known or not, and so is a client address after
    /// `MESSENGER_SIGNIN_FAILURES_PER_ADDRESS`: `RATE_LIMITED` with `extensions.retryAfter`.
    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<AuthPayload> {
        Ok(AuthPayload(
            accounts::login(ctx.state(), ctx.client(), &input.username, &input.password).await?,
        ))
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works once: presenting one
    /// that was already exchanged ends its whole sign-in (`UNAUTHENTICATED`).
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        Ok(AuthPayload(
            accounts::refresh(ctx.state(), ctx.client(), &refresh_token).await?,
        ))
    }

    /// Signs out: the sign-in of this refresh token ends, with its access tokens. Returns true.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<bool> {
        accounts::logout(ctx.state(), &refresh_token).await?;
        Ok(true)
    }

    /// Signs the viewer out on every device. Returns true.
    async fn logout_everywhere(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let viewer = ctx.viewer()?;
        accounts::logout_everywhere(ctx.state(), viewer).await?;
        Ok(true)
    }

    /// Changes the viewer's own display name and location.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> async_graphql::Result<Eager<User>> {
        let viewer = ctx.viewer()?;
        let update = ProfileUpdate {
            display_name: input
                .display_name
                .as_deref()
                .map(DisplayName::parse)
                .transpose()?,
            location: match input.location {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(l) => Some(Location::parse(&l)?),
            },
        };
        Ok(User::from(accounts::update_profile(ctx.state(), viewer, update).await?).into())
    }
}
