//! Live subscriptions: replay from a cursor, then the live feed, with authorization applied
//! to every event in order.
//!
//! The feed is one total order (see [`crate::events`]). A subscription keeps the set of
//! sessions its viewer belongs to and updates it from the membership events of that same
//! order, so a removed member stops receiving a session's events from the removal on, with
//! no query per event.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use futures_util::Stream;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::events::{
    Event, EventKind, LiveItem, LiveQueue, Memberships, Position, Received, Stored,
};
use crate::models::event as event_model;
use crate::models::session as session_model;
use crate::state::AppState;

/// Most events replayed on resume; further behind gets `RESYNC`.
pub const MAX_REPLAY: i64 = 10_000;

/// Which events a subscription wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything about the viewer's sessions.
    Viewer,
    /// One session's events.
    Session(Uuid),
}

/// One event as a subscriber receives it.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// An event of the log.
    Stored(Arc<Stored>),
    /// A member is typing (not stored, not replayed).
    Typing {
        /// The conversation.
        session_id: Uuid,
        /// Who types.
        user_id: Uuid,
        /// When.
        at: DateTime<Utc>,
        /// Where to resume: the last stored event before it.
        cursor: Position,
    },
    /// The subscriber fell too far behind; resume from the cursor.
    Lagged(Position),
    /// The cursor is too old to replay: reload, then subscribe from this cursor.
    Resync(Position),
}

impl LiveEvent {
    /// What happened.
    pub fn kind(&self) -> EventKind {
        match self {
            Self::Stored(stored) => stored.event.kind(),
            Self::Typing { .. } => EventKind::Typing,
            Self::Lagged(_) => EventKind::Lagged,
            Self::Resync(_) => EventKind::Resync,
        }
    }

    /// Where to resume after it.
    pub fn cursor(&self) -> Position {
        match self {
            Self::Stored(stored) => stored.position,
            Self::Typing { cursor, .. } | Self::Lagged(cursor) | Self::Resync(cursor) => *cursor,
        }
    }

    /// The stored event, if it is one.
    pub fn stored(&self) -> Option<&Event> {
        match self {
            Self::Stored(stored) => Some(&stored.event),
            _ => None,
        }
    }

    /// The session concerned (none for `LAGGED` and `RESYNC`).
    pub fn session_id(&self) -> Option<Uuid> {
        match self {
            Self::Stored(stored) => Some(stored.event.session_id),
            Self::Typing { session_id, .. } => Some(*session_id),
            Self::Lagged(_) | Self::Resync(_) => None,
        }
    }

    /// Who did it.
    pub fn actor_id(&self) -> Option<Uuid> {
        match self {
            Self::Stored(stored) => Some(stored.event.actor),
            Self::Typing { user_id, .. } => Some(*user_id),
            Self::Lagged(_) | Self::Resync(_) => None,
        }
    }

    /// Whom it concerns.
    pub fn subject_id(&self) -> Option<Uuid> {
        match self {
            Self::Stored(stored) => stored.event.subject(),
            Self::Typing { user_id, .. } => Some(*user_id),
            Self::Lagged(_) | Self::Resync(_) => None,
        }
    }

    /// When it happened (now, for `LAGGED` and `RESYNC`).
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Stored(stored) => stored.at,
            Self::Typing { at, .. } => *at,
            Self::Lagged(_) | Self::Resync(_) => Utc::now(),
        }
    }
}

/// What a subscription knows while it runs: the sessions its viewer belongs to, kept in step
/// with the log's membership events by the one routing rule ([`Event::route`]).
struct Filter {
    viewer: Uuid,
    scope: Scope,
    sessions: HashSet<Uuid>,
}

impl Memberships for Filter {
    fn join(&mut self, session: Uuid, user: Uuid) {
        if user == self.viewer {
            self.sessions.insert(session);
        }
    }

    fn leave(&mut self, session: Uuid, user: Uuid) {
        if user == self.viewer {
            self.sessions.remove(&session);
        }
    }

    fn members(&self, session: Uuid) -> Vec<Uuid> {
        if self.sessions.contains(&session) {
            vec![self.viewer]
        } else {
            Vec::new()
        }
    }
}

enum Verdict {
    Deliver(LiveEvent),
    /// Deliver, then end (the viewer left the one session this subscription is about).
    DeliverAndEnd(LiveEvent),
    Skip,
}

impl Filter {
    fn apply(&mut self, stored: &Arc<Stored>) -> Verdict {
        let event = &stored.event;
        if let Scope::Session(only) = self.scope
            && event.session_id != only
        {
            return Verdict::Skip;
        }
        if !event.route(self).contains(&self.viewer) {
            return Verdict::Skip;
        }
        let live = LiveEvent::Stored(stored.clone());
        if event.leaver() == Some(self.viewer) && matches!(self.scope, Scope::Session(_)) {
            return Verdict::DeliverAndEnd(live);
        }
        Verdict::Deliver(live)
    }
}

struct Subscription {
    hub: crate::events::Hub,
    filter: Filter,
    seen: Option<event_model::Snapshot>,
    /// Set while delivering a replay: the feed's receiver may overflow meanwhile with events
    /// the replay already covers, which is no fault of the client's.
    catching_up: bool,
    replay: VecDeque<LiveEvent>,
    live: LiveQueue,
    last: Position,
    done: bool,
}

/// Starts a subscription. With `after`, first every persisted event after that cursor
/// (from the database), then live ones, with nothing lost or repeated at the seam.
pub async fn subscribe(
    state: &AppState,
    viewer: &Viewer,
    scope: Scope,
    after: Option<Position>,
) -> AppResult<impl Stream<Item = LiveEvent> + Send + 'static + use<>> {
    let mut conn = state.db().await?;
    let sessions: HashSet<Uuid> = match scope {
        Scope::Viewer => event_model::session_ids_of(&mut conn, viewer.user_id)
            .await?
            .into_iter()
            .collect(),
        Scope::Session(id) => {
            session_model::find_member(&mut conn, id, viewer.user_id)
                .await?
                .ok_or(AppError::NotFound("session"))?;
            HashSet::from([id])
        }
    };
    // A server that has just started: its pump's position is no seam until it has one.
    state.hub.started().await?;
    let (live, _) = state.hub.subscribe(viewer.user_id, &sessions);
    let mut sub = Subscription {
        hub: state.hub.clone(),
        filter: Filter {
            viewer: viewer.user_id,
            scope,
            sessions,
        },
        seen: None,
        replay: VecDeque::new(),
        live,
        last: Position::default(),
        catching_up: false,
        done: false,
    };
    match after {
        Some(after) => sub.catch_up(after).await?,
        None => {
            // "From now": the feed's events up to the stable head are past, and so are events
            // that had committed before this point but were not yet stable (an older
            // transaction was still running).
            let (live, head) = state.hub.subscribe(viewer.user_id, &sub.filter.sessions);
            sub.live = live;
            sub.last = head.max(event_model::stable_head(&conn).await?);
            sub.seen = Some(event_model::current_snapshot(&mut conn).await?);
        }
    }
    state.hub.subscription_started();
    Ok(futures_util::stream::unfold(sub, next_event))
}

/// Where the log stands now: every event that commits after this call comes after it. A
/// client reads it before it loads state with queries and subscribes from it, so nothing
/// that happens between its queries and its subscription is lost.
pub async fn head(conn: &AsyncPgConnection) -> AppResult<Position> {
    Ok(event_model::stable_head(conn).await?)
}

/// Tries at reading the viewer's memberships in step with the feed when resuming, before the
/// resume is refused as retryable (each try means a membership of theirs changed within a
/// round trip).
const MEMBERSHIP_ATTEMPTS: usize = 8;

/// The viewer's sessions around a cursor, within the subscription's scope.
struct SessionsAt {
    /// Those they belonged to at the cursor.
    at_cursor: HashSet<Uuid>,
    /// Those whose events may matter since: at the cursor, or their membership changed.
    replayed: HashSet<Uuid>,
}

impl Subscription {
    /// The viewer's sessions at `from` and those whose membership changed since.
    async fn memberships(
        &self,
        conn: &mut AsyncPgConnection,
        from: Position,
    ) -> AppResult<SessionsAt> {
        let history = event_model::memberships_since(conn, self.filter.viewer, from).await?;
        let in_scope = |session: &Uuid| match self.filter.scope {
            Scope::Viewer => true,
            Scope::Session(only) => *session == only,
        };
        let at_cursor: HashSet<Uuid> = history.at.into_iter().filter(in_scope).collect();
        let replayed = history
            .changed
            .into_iter()
            .filter(in_scope)
            .chain(at_cursor.iter().copied())
            .collect();
        Ok(SessionsAt {
            at_cursor,
            replayed,
        })
    }

    /// Replays from the database everything after `from` up to the stable head, and takes a
    /// fresh receiver of the feed for what follows. The receiver is taken first: everything
    /// after the feed's position arrives through it, so replaying up to the head and
    /// skipping what the receiver repeats leaves no gap and no duplicate.
    async fn catch_up(&mut self, from: Position) -> AppResult<()> {
        let mut conn = self.hub.pool().get().await?;
        // What the viewer belonged to at the cursor, which may differ from now: a session
        // joined since must not show its earlier events, one left since must show those
        // before the leaving. Both kinds are replayed and the filter sorts them out.
        let viewer = self.filter.viewer;
        let mut sessions = self.memberships(&mut conn, from).await?;
        // The feed's routes take every session that may matter (the filter decides): those
        // of the cursor, those changed since, and those the viewer has now.
        let mut routes: HashSet<Uuid> = sessions
            .replayed
            .union(&self.filter.sessions)
            .copied()
            .collect();
        let mut attempts = 0;
        let start = loop {
            let (live, head) = self.hub.subscribe(viewer, &routes);
            let start = head.max(event_model::stable_head(&conn).await?);
            // The memberships were read before the receiver was taken: a change that committed
            // in between, and that the feed passed before the receiver was there, is in
            // neither, and the events of a session joined then would be neither routed nor
            // replayed (seen in the randomized test). Read after `start`, they hold every
            // change up to it; while they name a session the routes lack, take the receiver
            // again with it.
            sessions = self.memberships(&mut conn, from).await?;
            if sessions.replayed.is_subset(&routes) {
                self.live = live;
                break start;
            }
            attempts += 1;
            if attempts == MEMBERSHIP_ATTEMPTS {
                return Err(AppError::Unavailable(
                    "the viewer's memberships kept changing while resuming".into(),
                ));
            }
            routes.extend(sessions.replayed.iter().copied());
        };
        let SessionsAt {
            at_cursor,
            replayed,
        } = sessions;
        self.filter.sessions = at_cursor;
        // Never hand out again what the client already has.
        self.last = start.max(from);
        self.catching_up = true;
        if from >= start {
            return Ok(());
        }
        if self.hub.is_pruned(from).await? {
            self.replay.push_back(LiveEvent::Resync(start));
            return Ok(());
        }
        let ids: Vec<Uuid> = replayed.into_iter().collect();
        let rows = event_model::replay_for_user(
            &mut conn,
            self.filter.viewer,
            &ids,
            from,
            start,
            MAX_REPLAY + 1,
        )
        .await?;
        if rows.len() as i64 > MAX_REPLAY {
            self.replay.push_back(LiveEvent::Resync(start));
            return Ok(());
        }
        for stored in rows.iter().filter_map(Event::from_row) {
            match self.filter.apply(&Arc::new(stored)) {
                Verdict::Deliver(e) => self.replay.push_back(e),
                Verdict::DeliverAndEnd(e) => {
                    self.replay.push_back(e);
                    self.done = true;
                    break;
                }
                Verdict::Skip => {}
            }
        }
        Ok(())
    }
}

/// The subscription's next event, with `LAGGED` and `RESYNC` counted in the metrics.
async fn next_event(sub: Subscription) -> Option<(LiveEvent, Subscription)> {
    let (event, sub) = next_event_uncounted(sub).await?;
    match event {
        LiveEvent::Lagged(_) => sub.hub.metrics().lagged.inc(),
        LiveEvent::Resync(_) => sub.hub.metrics().resync.inc(),
        _ => 0,
    };
    Some((event, sub))
}

async fn next_event_uncounted(mut sub: Subscription) -> Option<(LiveEvent, Subscription)> {
    if let Some(event) = sub.replay.pop_front() {
        return Some((event, sub));
    }
    if sub.done {
        return None;
    }
    loop {
        match sub.live.recv().await {
            Received::Item(LiveItem::Stored(stored)) => {
                if stored.position <= sub.last {
                    continue; // already replayed
                }
                sub.last = stored.position;
                if sub
                    .seen
                    .as_ref()
                    .is_some_and(|s| s.saw(stored.position.xid))
                {
                    continue; // committed before the subscription began
                }
                match sub.filter.apply(&stored) {
                    Verdict::Deliver(e) => {
                        // Live delivery has begun: a lag from now on is the client's own
                        // (unless the queue already overflowed while the replay went out).
                        if !sub.live.has_lagged() {
                            sub.catching_up = false;
                        }
                        return Some((e, sub));
                    }
                    Verdict::DeliverAndEnd(e) => {
                        sub.done = true;
                        return Some((e, sub));
                    }
                    Verdict::Skip => {}
                }
            }
            Received::Item(LiveItem::Typing {
                session_id,
                user_id,
                at,
            }) => {
                let wanted = sub.filter.sessions.contains(&session_id)
                    && user_id != sub.filter.viewer
                    && match sub.filter.scope {
                        Scope::Viewer => true,
                        Scope::Session(only) => only == session_id,
                    };
                if wanted {
                    let event = LiveEvent::Typing {
                        session_id,
                        user_id,
                        at,
                        cursor: sub.last,
                    };
                    return Some((event, sub));
                }
            }
            Received::Lagged if sub.catching_up => {
                // Read the rest of the backlog from the database instead.
                let from = sub.last;
                if sub.catch_up(from).await.is_err() {
                    sub.done = true;
                    return Some((LiveEvent::Lagged(from), sub));
                }
                if let Some(event) = sub.replay.pop_front() {
                    return Some((event, sub));
                }
            }
            Received::Lagged => {
                sub.done = true;
                return Some((LiveEvent::Lagged(sub.last), sub));
            }
            Received::Closed => return None,
        }
    }
}

/// Tells the other members of a session that the viewer is typing. Not stored; limited per
/// minute (`RATE_LIMITED`).
pub async fn typing(state: &AppState, viewer: &Viewer, session_id: Uuid) -> AppResult<()> {
    let mut conn = state.db().await?;
    let (session, _) = session_model::find_for_member(&conn, session_id, viewer.user_id)
        .await?
        .ok_or(AppError::NotFound("session"))?;
    crate::services::blocks::check_direct(&mut conn, &session, viewer.user_id).await?;
    state.hub.typing(session_id, viewer.user_id)
}
