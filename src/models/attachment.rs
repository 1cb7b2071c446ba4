//! The `attachments` table.

use chrono::{DateTime, Utc};
use diesel::prelude::{Insertable, Queryable, Selectable};
use diesel::sql_types::{Array, Uuid as SqlUuid};
use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::Cached;
use crate::db::schema::attachments;

/// A row of `attachments`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = attachments, check_for_backend(diesel::pg::Pg))]
pub struct Attachment {
    /// Primary key; names its objects.
    pub id: Uuid,
    /// Who uploaded it.
    pub uploader_id: Uuid,
    /// The message it is attached to; `None` until sent.
    pub message_id: Option<Uuid>,
    /// Its place among the message's attachments.
    pub position: Option<i16>,
    /// `image` or `file`.
    pub kind: String,
    /// The file name shown and offered for download.
    pub filename: String,
    /// Its media type.
    pub content_type: String,
    /// Size of the stored file in bytes.
    pub byte_size: i64,
    /// Width of an image.
    pub width: Option<i32>,
    /// Height of an image.
    pub height: Option<i32>,
    /// Upload time.
    pub created_at: DateTime<Utc>,
}

impl Attachment {
    /// Whether it is an image (with thumbnails) rather than a file served as sent.
    pub fn is_image(&self) -> bool {
        self.kind == "image"
    }
}

/// Stores an upload (not attached yet).
pub async fn insert(conn: &mut AsyncPgConnection, row: &Attachment) -> diesel::QueryResult<()> {
    diesel::insert_into(attachments::table)
        .values(row)
        .execute(conn)
        .await?;
    Ok(())
}

/// Attaches the uploads `ids` (in that order) to a message, where each is the sender's and not
/// attached yet. Returns how many were.
pub async fn attach(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    uploader: Uuid,
    message_id: Uuid,
) -> diesel::QueryResult<usize> {
    Cached(
        diesel::sql_query(
            "UPDATE attachments SET message_id = $3, \
                    position = array_position($1::uuid[], id) - 1 \
              WHERE id = ANY($1) AND uploader_id = $2 AND message_id IS NULL",
        )
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<SqlUuid, _>(uploader)
        .bind::<SqlUuid, _>(message_id),
    )
    .execute(conn)
    .await
}

/// The attachments of these messages, each message's in order.
pub async fn of_messages(
    conn: &mut AsyncPgConnection,
    message_ids: &[Uuid],
) -> diesel::QueryResult<Vec<Attachment>> {
    attachments::table
        .filter(attachments::message_id.eq_any(message_ids))
        .order((attachments::message_id, attachments::position))
        .select(Attachment::as_select())
        .load(conn)
        .await
}

/// Deletes a message's attachments; returns their ids (whose objects go next).
pub async fn delete_for_message(
    conn: &mut AsyncPgConnection,
    message_id: Uuid,
) -> diesel::QueryResult<Vec<Uuid>> {
    diesel::delete(attachments::table.filter(attachments::message_id.eq(message_id)))
        .returning(attachments::id)
        .get_results(conn)
        .await
}

/// Deletes uploads never attached that are older than `before`; returns their ids.
pub async fn delete_unattached_before(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Uuid>> {
    diesel::delete(
        attachments::table
            .filter(attachments::message_id.is_null())
            .filter(attachments::created_at.lt(before)),
    )
    .returning(attachments::id)
    .get_results(conn)
    .await
}

/// One attachment.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> diesel::QueryResult<Option<Attachment>> {
    use diesel::OptionalExtension;
    attachments::table
        .find(id)
        .select(Attachment::as_select())
        .first(conn)
        .await
        .optional()
}

/// Which of these ids have a row.
pub async fn existing(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> diesel::QueryResult<Vec<Uuid>> {
    attachments::table
        .filter(attachments::id.eq_any(ids))
        .select(attachments::id)
        .load(conn)
        .await
}
