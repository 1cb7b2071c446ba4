//! How events are written: inside the transaction of the change they report, which marks
//! itself as a writer of the log first, and a poke to the hub after the commit.
//!
//! [`write`] does this for any change. A plain send is the one exception: its single statement
//! (`message::send`) takes the writers' lock, writes its `MESSAGE_CREATED` row itself, and the
//! sender pokes the hub when it returns.

use diesel_async::{AnsiTransactionManager, AsyncPgConnection, TransactionManager};

use crate::events::{Event, Hub};
use crate::models::event as event_model;

/// Runs `change` in a transaction and stores the events it returns with it; after the commit,
/// pokes the hub so that every server reads them. The transaction's first statement marks it
/// as a writer of the log (see [`event_model::readable_bound`]): readers wait for such
/// transactions only, and they are short (the pool's connections carry a statement timeout
/// and an idle-in-transaction timeout).
///
/// An error from `change` rolls everything back, events included.
pub async fn write<R, E>(
    hub: &Hub,
    conn: &mut AsyncPgConnection,
    change: impl AsyncFnOnce(&mut AsyncPgConnection) -> Result<(R, Vec<Event>), E>,
) -> Result<R, E>
where
    E: From<diesel::result::Error>,
{
    // As diesel-async's `transaction`, whose bounds a caller's closure cannot be forwarded
    // through (they name a private trait).
    AnsiTransactionManager::begin_transaction(conn).await?;
    let outcome = async {
        event_model::lock_as_writer(conn).await?;
        let (value, events) = change(conn).await?;
        let rows: Vec<_> = events.iter().map(Event::to_row).collect();
        event_model::insert(conn, &rows).await?;
        Ok::<_, E>((value, !rows.is_empty()))
    }
    .await;
    match outcome {
        Ok((value, wrote)) => {
            AnsiTransactionManager::commit_transaction(conn).await?;
            if wrote {
                hub.poke();
            }
            Ok(value)
        }
        Err(e) => match AnsiTransactionManager::rollback_transaction(conn).await {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(e),
            Err(rollback) => Err(rollback.into()),
        },
    }
}
