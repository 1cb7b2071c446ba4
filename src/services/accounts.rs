//! Accounts: registration, sign-in, token rotation, sign-out, profiles, and the admin's
//! management of other accounts.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::auth::tokens::{self, Claims};
use crate::auth::{Auth, Viewer, password};
use crate::error::{AppError, AppResult, unique_violation};
use crate::events::Kick;
use crate::models::token::{self as token_model, NewRefreshToken};
use crate::models::user::{self as user_model, NewUser, Role, User, UserChanges, UserFilter};
use crate::services::input::{DisplayName, Location, Password, SearchText, Username};
use crate::state::AppState;
use crate::throttle::ClientAddress;

/// Largest page of users.
pub const MAX_PAGE: usize = 100;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: usize = 20;

/// A new account's details, validated.
#[derive(Debug)]
pub struct Registration {
    /// Login name.
    pub username: Username,
    /// Password.
    pub password: Password,
    /// Name shown to others.
    pub display_name: DisplayName,
    /// Optional location.
    pub location: Option<Location>,
}

/// Tokens handed out at sign-in and on refresh.
#[derive(Debug)]
pub struct IssuedTokens {
    /// Signed, short-lived access token.
    pub access_token: String,
    /// When the access token expires.
    pub access_expires_at: DateTime<Utc>,
    /// Opaque refresh token; exchanging it rotates it.
    pub refresh_token: String,
    /// When the refresh token expires.
    pub refresh_expires_at: DateTime<Utc>,
    /// The signed-in user.
    pub user: User,
}

const WRONG_CREDENTIALS: &str = "wrong username or password";
const BAD_REFRESH: &str = "the refresh token is not valid: sign in again";

/// Creates an account with the `user` role and signs it in. At most so many new accounts per
/// client address and hour.
pub async fn register(
    state: &AppState,
    client: ClientAddress,
    reg: Registration,
) -> AppResult<IssuedTokens> {
    if let Some(address) = client.0 {
        let rule = &state.throttle.rules().registrations_per_address;
        state.throttle.hit(rule, &address.to_string()).await?;
    }
    create_account(state, reg, Role::User).await.map(|(_, t)| t)
}

/// Creates an account with a given role (the admin CLI uses this) and signs it in.
pub async fn create_account(
    state: &AppState,
    reg: Registration,
    role: Role,
) -> AppResult<(User, IssuedTokens)> {
    let hash = {
        let _turn = state.throttle.hashing_turn().await?;
        password::hash(reg.password.expose().to_owned()).await?
    };
    let mut conn = state.db().await?;
    let tokens = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let new = NewUser {
                id: Uuid::now_v7(),
                username: reg.username.as_str(),
                display_name: reg.display_name.as_str(),
                location: reg.location.as_ref().map(Location::as_str),
                role: role.as_str(),
                password_hash: &hash,
            };
            let user =
                user_model::insert(conn, &new)
                    .await
                    .map_err(|e| match unique_violation(&e) {
                        Some("users_username_key") => {
                            AppError::conflict("that username is already taken")
                        }
                        _ => e.into(),
                    })?;
            issue_new_sign_in(state, conn, user).await
        })
        .await?;
    Ok((tokens.user.clone(), tokens))
}

/// Signs in with a username and password. The error is the same whether the username is
/// unknown or the password wrong, and so is the throttling: after so many attempts without a
/// success a username (known or not) is locked for the rest of its window, and after so many
/// failures a client address; a locked sign-in is refused before any password is hashed.
/// Success clears the username's count.
pub async fn login(
    state: &AppState,
    client: ClientAddress,
    username: &str,
    password_text: &str,
) -> AppResult<IssuedTokens> {
    let throttle = &state.throttle;
    let rules = throttle.rules();
    // Usernames are case-insensitive: so are their failure counts. Bounded, since any text
    // can be sent here.
    let account: String = username.trim().to_lowercase().chars().take(64).collect();
    let address = client.0.map(|a| a.to_string());
    if let Some(address) = &address {
        throttle
            .check(&rules.signin_failures_per_address, address)
            .await?;
    }
    // The attempt counts against the account before its password is checked (a success
    // clears it again): guesses sent at once cannot all pass a check that only counts
    // failures once their hashes are done.
    throttle
        .hit(&rules.signin_failures_per_account, &account)
        .await?;
    let failed = async || {
        if let Some(address) = &address {
            throttle
                .record(&rules.signin_failures_per_address, address)
                .await;
        }
        AppError::unauthenticated(WRONG_CREDENTIALS)
    };
    if password_text.len() > crate::services::input::PASSWORD_MAX_BYTES {
        return Err(failed().await);
    }
    let user = match Username::parse(username) {
        Ok(name) => {
            let mut conn = state.db().await?;
            user_model::find_by_username(&mut conn, name.as_str()).await?
        }
        Err(_) => None,
    };
    let ok = {
        let _turn = throttle.hashing_turn().await?;
        password::verify(
            password_text.to_owned(),
            user.as_ref().map(|(_, hash)| hash.clone()),
        )
        .await?
    };
    let user = match user {
        Some((user, _)) if ok => user,
        _ => return Err(failed().await),
    };
    throttle
        .reset(&rules.signin_failures_per_account, &account)
        .await;
    if !user.is_active() {
        return Err(AppError::unauthenticated("this account is deactivated"));
    }
    let mut conn = state.db().await?;
    conn.transaction::<_, AppError, _>(async move |conn| issue_new_sign_in(state, conn, user).await)
        .await
}

/// Starts a token family for `user` and issues its first tokens.
async fn issue_new_sign_in(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    user: User,
) -> AppResult<IssuedTokens> {
    let family_id = token_model::insert_family(conn, user.id).await?;
    issue_tokens(state, conn, user, family_id).await
}

async fn issue_tokens(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    user: User,
    family_id: Uuid,
) -> AppResult<IssuedTokens> {
    let now = Utc::now();
    let refresh_expires_at = now + state.config.refresh_token_ttl;
    let (refresh_token, hash) = tokens::new_refresh_token().map_err(AppError::internal)?;
    token_model::insert_refresh(
        conn,
        &NewRefreshToken {
            id: Uuid::now_v7(),
            family_id,
            token_hash: &hash,
            expires_at: refresh_expires_at,
        },
    )
    .await?;
    let access_expires_at = now + state.config.access_token_ttl;
    let access_token = state.token_key.sign(&Claims {
        sub: user.id,
        fam: family_id,
        iat: now.timestamp(),
        exp: access_expires_at.timestamp(),
        adm: Role::from_db(&user.role) == Role::Admin,
    });
    Ok(IssuedTokens {
        access_token,
        access_expires_at,
        refresh_token,
        refresh_expires_at,
        user,
    })
}

enum RefreshOutcome {
    Rotated(Box<IssuedTokens>),
    Refused(&'static str),
    Reused,
}

/// Exchanges a refresh token for new tokens, rotating it. Presenting a token that was already
/// rotated revokes its whole sign-in: someone else may hold a copy. Refused tokens count as
/// failed sign-ins of the client address (guessing tokens is as throttled as guessing
/// passwords).
pub async fn refresh(
    state: &AppState,
    client: ClientAddress,
    refresh_token: &str,
) -> AppResult<IssuedTokens> {
    let rule = &state.throttle.rules().signin_failures_per_address;
    let address = client.0.map(|a| a.to_string());
    if let Some(address) = &address {
        state.throttle.check(rule, address).await?;
    }
    let refreshed = rotate(state, refresh_token).await;
    if let (Err(AppError::Unauthenticated(_)), Some(address)) = (&refreshed, &address) {
        state.throttle.record(rule, address).await;
    }
    refreshed
}

async fn rotate(state: &AppState, refresh_token: &str) -> AppResult<IssuedTokens> {
    let hash = tokens::hash_refresh_token(refresh_token);
    let mut conn = state.db().await?;
    let outcome = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let Some((token, user_id, revoked_at)) =
                token_model::find_refresh_for_update(conn, &hash).await?
            else {
                return Ok(RefreshOutcome::Refused(BAD_REFRESH));
            };
            if revoked_at.is_some() {
                return Ok(RefreshOutcome::Refused(BAD_REFRESH));
            }
            if token.used_at.is_some() {
                token_model::revoke_family(conn, token.family_id).await?;
                tracing::warn!(family = %token.family_id, "refresh token reused: sign-in revoked");
                return Ok(RefreshOutcome::Reused);
            }
            if token.expires_at <= Utc::now() {
                return Ok(RefreshOutcome::Refused(
                    "the refresh token has expired: sign in again",
                ));
            }
            let user = match user_model::find(conn, user_id).await? {
                Some(user) if user.is_active() => user,
                _ => return Ok(RefreshOutcome::Refused("this account is deactivated")),
            };
            token_model::mark_used(conn, token.id).await?;
            let issued = issue_tokens(state, conn, user, token.family_id).await?;
            Ok(RefreshOutcome::Rotated(Box::new(issued)))
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated(tokens) => Ok(*tokens),
        RefreshOutcome::Refused(msg) => Err(AppError::unauthenticated(msg)),
        RefreshOutcome::Reused => Err(AppError::unauthenticated(
            "this refresh token was already used, so its sign-in has been revoked: sign in again",
        )),
    }
}

/// Ends the sign-in a refresh token belongs to: its refresh and access tokens stop working.
pub async fn logout(state: &AppState, refresh_token: &str) -> AppResult<()> {
    let hash = tokens::hash_refresh_token(refresh_token);
    let mut conn = state.db().await?;
    let family = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let (token, _, _) = token_model::find_refresh_for_update(conn, &hash)
                .await?
                .ok_or_else(|| AppError::unauthenticated(BAD_REFRESH))?;
            token_model::revoke_family(conn, token.family_id).await?;
            Ok(token.family_id)
        })
        .await?;
    // Sockets opened with this sign-in close too.
    state.hub.kick(Kick::Family(family));
    Ok(())
}

/// Ends every sign-in of the viewer, on every device.
pub async fn logout_everywhere(state: &AppState, viewer: &Viewer) -> AppResult<()> {
    let mut conn = state.db().await?;
    token_model::revoke_all_for_user(&mut conn, viewer.user_id).await?;
    state.hub.kick(Kick::User(viewer.user_id));
    Ok(())
}

/// What a request's token claims, checked by its signature and expiry alone: the database
/// has not confirmed it yet.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// No credentials were sent.
    Anonymous,
    /// A token that does not verify; the reason is safe to show.
    Invalid(&'static str),
    /// A token we signed that has not expired.
    Claimed(Claims),
}

/// Reads an `Authorization` header's token: its signature and expiry, no database.
pub fn credentials(state: &AppState, token: Option<&str>) -> Credentials {
    match token.map(|token| state.token_key.verify(token, Utc::now())) {
        None => Credentials::Anonymous,
        Some(Ok(claims)) => Credentials::Claimed(claims),
        Some(Err(e)) => Credentials::Invalid(e.message()),
    }
}

/// Confirms a token's claims on `conn`, in one statement: the user is active, the sign-in
/// has not ended, and their role now.
pub async fn confirm(conn: &AsyncPgConnection, claims: &Claims) -> AppResult<Auth> {
    Ok(
        match user_model::active_role_for_token(conn, claims.sub, claims.fam).await? {
            Some(role) => Auth::Viewer(Viewer {
                role: Role::from_db(&role),
                ..Viewer::claimed(claims)
            }),
            None => Auth::Invalid("this sign-in has ended or the account is deactivated"),
        },
    )
}

/// Settles credentials into an [`Auth`], confirming claimed ones on a connection of the pool.
pub async fn settle(state: &AppState, credentials: Credentials) -> AppResult<Auth> {
    match credentials {
        Credentials::Anonymous => Ok(Auth::Anonymous),
        Credentials::Invalid(reason) => Ok(Auth::Invalid(reason)),
        Credentials::Claimed(claims) => confirm(&*state.db().await?, &claims).await,
    }
}

/// Reads an `Authorization` header into an [`Auth`]: the token's signature and expiry, then
/// one query for the user's state and the sign-in's.
pub async fn authenticate(state: &AppState, token: Option<&str>) -> AppResult<Auth> {
    settle(state, credentials(state, token)).await
}

/// The viewer's own account.
pub async fn me(conn: &AsyncPgConnection, viewer: &Viewer) -> AppResult<User> {
    get_user(conn, viewer.user_id).await
}

/// Any user by id (public fields are for the GraphQL layer to choose).
pub async fn get_user(conn: &AsyncPgConnection, id: Uuid) -> AppResult<User> {
    user_model::find(conn, id)
        .await?
        .ok_or(AppError::NotFound("user"))
}

/// Profile changes, validated. `location: Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfileUpdate {
    /// New display name.
    pub display_name: Option<DisplayName>,
    /// New location, or `Some(None)` to clear.
    pub location: Option<Option<Location>>,
}

/// Changes the viewer's own profile.
pub async fn update_profile(
    state: &AppState,
    viewer: &Viewer,
    update: ProfileUpdate,
) -> AppResult<User> {
    let changes = UserChanges {
        display_name: update.display_name.as_ref().map(DisplayName::as_str),
        location: update
            .location
            .as_ref()
            .map(|l| l.as_ref().map(Location::as_str)),
        updated_at: Some(Utc::now()),
    };
    let mut conn = state.db().await?;
    Ok(user_model::update(&mut conn, viewer.user_id, &changes).await?)
}

/// A page of users ordered by username, and whether more follow.
#[derive(Debug)]
pub struct UserPage {
    /// The users of this page.
    pub users: Vec<User>,
    /// Whether there are more after the last one.
    pub has_next_page: bool,
}

/// Lists users matching `search`; deactivated accounts only when an admin asks for them.
/// Someone who blocked the viewer is not listed (admins see everyone).
pub async fn list_users(
    state: &AppState,
    viewer: &Viewer,
    search: Option<SearchText>,
    include_deactivated: bool,
    first: usize,
    after_username: Option<String>,
) -> AppResult<UserPage> {
    if include_deactivated {
        viewer.require_admin()?;
    }
    let filter = UserFilter {
        like_pattern: search.as_ref().map(SearchText::like_pattern),
        include_deactivated,
        after_username,
        hidden_from: (!viewer.is_admin()).then_some(viewer.user_id),
    };
    let mut conn = state.db().await?;
    let mut users = user_model::list(&mut conn, &filter, first as i64 + 1).await?;
    let has_next_page = users.len() > first;
    users.truncate(first);
    Ok(UserPage {
        users,
        has_next_page,
    })
}

/// Deactivates (or reactivates) another account. Deactivation ends all its sign-ins.
pub async fn set_active(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    active: bool,
) -> AppResult<User> {
    viewer.require_admin()?;
    if id == viewer.user_id {
        return Err(AppError::bad_input(
            "you cannot deactivate or reactivate your own account",
        ));
    }
    let mut conn = state.db().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let user = user_model::find(conn, id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        if user.is_active() == active {
            return Ok(user);
        }
        if active {
            Ok(user_model::set_deactivated(conn, id, None).await?)
        } else {
            token_model::revoke_all_for_user(conn, id).await?;
            Ok(user_model::set_deactivated(conn, id, Some(Utc::now())).await?)
        }
    })
    .await
    .inspect(|user| {
        if !user.is_active() {
            // Their open sockets close at once, on every server.
            state.hub.kick(Kick::User(user.id));
        }
    })
}

/// Changes another account's role.
pub async fn set_role(state: &AppState, viewer: &Viewer, id: Uuid, role: Role) -> AppResult<User> {
    viewer.require_admin()?;
    if id == viewer.user_id {
        return Err(AppError::bad_input("you cannot change your own role"));
    }
    let mut conn = state.db().await?;
    user_model::find(&conn, id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    Ok(user_model::set_role(&mut conn, id, role).await?)
}
