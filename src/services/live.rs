//! Live subscriptions: replay from a cursor, then the live feed, with authorization applied
//! to every event in order.
//!
//! The feed is one total order (see [`crate::events`]). A subscription keeps the set of
//! sessions its viewer belongs to and updates it from the membership events of that same
//! order, so a removed member stops receiving a session's events from the removal on, with
//! no query per event.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Utc};
use futures_util::Stream;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::events::{EventKind, LiveItem, LiveQueue, Position, Received};
use crate::models::event::{self as event_model, EventRow};
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
pub struct LiveEvent {
    /// What happened.
    pub kind: EventKind,
    /// Where to resume after this event.
    pub cursor: Position,
    /// The session concerned (none for `LAGGED` and `RESYNC`).
    pub session_id: Option<Uuid>,
    /// Who did it.
    pub actor_id: Option<Uuid>,
    /// Whom it concerns.
    pub subject_id: Option<Uuid>,
    /// The message concerned.
    pub message_id: Option<Uuid>,
    /// Small extra data.
    pub detail: Option<serde_json::Value>,
    /// When it happened.
    pub at: DateTime<Utc>,
}

impl LiveEvent {
    fn stored(row: &EventRow, kind: EventKind) -> Self {
        Self {
            kind,
            cursor: row.position(),
            session_id: Some(row.session_id),
            actor_id: row.actor_id,
            subject_id: row.subject_id,
            message_id: row.message_id,
            detail: row.detail.clone(),
            at: row.created_at,
        }
    }

    fn notice(kind: EventKind, cursor: Position) -> Self {
        Self {
            kind,
            cursor,
            session_id: None,
            actor_id: None,
            subject_id: None,
            message_id: None,
            detail: None,
            at: Utc::now(),
        }
    }
}

/// What a subscription knows while it runs.
struct Filter {
    viewer: Uuid,
    scope: Scope,
    sessions: HashSet<Uuid>,
}

enum Verdict {
    Deliver(LiveEvent),
    /// Deliver, then end (the viewer left the one session this subscription is about).
    DeliverAndEnd(LiveEvent),
    Skip,
}

impl Filter {
    fn apply(&mut self, row: &EventRow) -> Verdict {
        let Some(kind) = EventKind::from_db(&row.kind) else {
            return Verdict::Skip;
        };
        if let Scope::Session(only) = self.scope
            && row.session_id != only
        {
            return Verdict::Skip;
        }
        let about_viewer = row.subject_id == Some(self.viewer);
        let joined =
            about_viewer && matches!(kind, EventKind::SessionCreated | EventKind::MemberAdded);
        let departed =
            about_viewer && matches!(kind, EventKind::MemberRemoved | EventKind::MemberLeft);
        if joined {
            self.sessions.insert(row.session_id);
        }
        if !self.sessions.contains(&row.session_id) {
            return Verdict::Skip;
        }
        // Others' news of a session being created is not for this viewer.
        if kind == EventKind::SessionCreated && !about_viewer {
            return Verdict::Skip;
        }
        let event = LiveEvent::stored(row, kind);
        if departed {
            self.sessions.remove(&row.session_id);
            if matches!(self.scope, Scope::Session(_)) {
                return Verdict::DeliverAndEnd(event);
            }
        }
        Verdict::Deliver(event)
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
            sub.last = head.max(event_model::stable_head(&mut conn).await?);
            sub.seen = Some(event_model::current_snapshot(&mut conn).await?);
        }
    }
    state.hub.subscription_started();
    Ok(futures_util::stream::unfold(sub, next_event))
}

impl Subscription {
    /// Replays from the database everything after `from` up to the stable head, and takes a
    /// fresh receiver of the feed for what follows. The receiver is taken first: everything
    /// after the feed's position arrives through it, so replaying up to the head and
    /// skipping what the receiver repeats leaves no gap and no duplicate.
    async fn catch_up(&mut self, from: Position) -> AppResult<()> {
        let (live, head) = self
            .hub
            .subscribe(self.filter.viewer, &self.filter.sessions);
        self.live = live;
        let mut conn = self.hub.pool().get().await?;
        let start = head.max(event_model::stable_head(&mut conn).await?);
        // Never hand out again what the client already has.
        self.last = start.max(from);
        self.catching_up = true;
        if from >= start {
            return Ok(());
        }
        if self.hub.is_pruned(from).await? {
            self.replay
                .push_back(LiveEvent::notice(EventKind::Resync, start));
            return Ok(());
        }
        let ids: Vec<Uuid> = self.filter.sessions.iter().copied().collect();
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
            self.replay
                .push_back(LiveEvent::notice(EventKind::Resync, start));
            return Ok(());
        }
        for row in &rows {
            match self.filter.apply(row) {
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

async fn next_event(mut sub: Subscription) -> Option<(LiveEvent, Subscription)> {
    if let Some(event) = sub.replay.pop_front() {
        return Some((event, sub));
    }
    if sub.done {
        return None;
    }
    loop {
        match sub.live.recv().await {
            Received::Item(LiveItem::Stored(row)) => {
                if row.position() <= sub.last {
                    continue; // already replayed
                }
                sub.last = row.position();
                if sub.seen.as_ref().is_some_and(|s| s.saw(row.xid)) {
                    continue; // committed before the subscription began
                }
                match sub.filter.apply(&row) {
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
                    let event = LiveEvent {
                        session_id: Some(session_id),
                        subject_id: Some(user_id),
                        actor_id: Some(user_id),
                        at,
                        ..LiveEvent::notice(EventKind::Typing, sub.last)
                    };
                    return Some((event, sub));
                }
            }
            Received::Lagged if sub.catching_up => {
                // Read the rest of the backlog from the database instead.
                let from = sub.last;
                if sub.catch_up(from).await.is_err() {
                    sub.done = true;
                    return Some((LiveEvent::notice(EventKind::Lagged, from), sub));
                }
                if let Some(event) = sub.replay.pop_front() {
                    return Some((event, sub));
                }
            }
            Received::Lagged => {
                sub.done = true;
                return Some((LiveEvent::notice(EventKind::Lagged, sub.last), sub));
            }
            Received::Closed => return None,
        }
    }
}

/// Tells the other members of a session that the viewer is typing. Not stored; limited per
/// minute (`RATE_LIMITED`).
pub async fn typing(state: &AppState, viewer: &Viewer, session_id: Uuid) -> AppResult<()> {
    let mut conn = state.db().await?;
    session_model::find_member(&mut conn, session_id, viewer.user_id)
        .await?
        .ok_or(AppError::NotFound("session"))?;
    state.hub.typing(session_id, viewer.user_id)
}
