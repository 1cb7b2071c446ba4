//! `timestamptz` columns read without chrono's calendar walk.
//!
//! PostgreSQL sends a `timestamptz` as microseconds since 2000-01-01 00:00 UTC. diesel turns
//! them into a `DateTime<Utc>` by adding them to that date with chrono's `checked_add_signed`,
//! which steps through the calendar: about 270 instructions a value, 3.6 % of an inbox's
//! instructions (a thousand timestamps of users, members and messages). [`Timestamp`] shifts
//! them to the Unix epoch and lets chrono build the date from the day count
//! (`DateTime::from_timestamp_micros`): the same value for every microsecond chrono can hold,
//! for a fraction of the work (the tests compare the two ways).
//!
//! Model fields read through it with `#[diesel(deserialize_as = Timestamp)]`, or
//! [`NullableTimestamp`] for a nullable column. Writing still goes through diesel's own
//! `ToSql` for `DateTime<Utc>`.

use chrono::{DateTime, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::{BigInt, Nullable, Timestamptz};

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// The time `micros` microseconds after PostgreSQL's epoch; `None` outside chrono's range
/// (PostgreSQL's `infinity` and `-infinity` among them), where diesel's reader fails too.
fn from_pg_micros(micros: i64) -> Option<DateTime<Utc>> {
    micros
        .checked_add(PG_EPOCH_MICROS)
        .and_then(DateTime::from_timestamp_micros)
}

/// A `timestamptz` value, read through the Unix epoch (see the module).
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct Timestamp(pub DateTime<Utc>);

impl FromSql<Timestamptz, Pg> for Timestamp {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let micros = <i64 as FromSql<BigInt, Pg>>::from_sql(value)?;
        from_pg_micros(micros)
            .map(Self)
            .ok_or_else(|| format!("timestamp {micros} µs after 2000 is out of range").into())
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(value: Timestamp) -> Self {
        value.0
    }
}

/// A nullable `timestamptz` value, read as [`Timestamp`] when it is not null.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct NullableTimestamp(pub Option<DateTime<Utc>>);

impl FromSql<Nullable<Timestamptz>, Pg> for NullableTimestamp {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Timestamp::from_sql(value).map(|time| Self(Some(time.0)))
    }

    fn from_nullable_sql(value: Option<PgValue<'_>>) -> deserialize::Result<Self> {
        value.map_or(Ok(Self(None)), Self::from_sql)
    }
}

impl From<NullableTimestamp> for Option<DateTime<Utc>> {
    fn from(value: NullableTimestamp) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeDelta};

    use super::*;

    /// diesel's own reading: PostgreSQL's epoch plus the microseconds, through the calendar.
    fn as_diesel_reads(micros: i64) -> Option<DateTime<Utc>> {
        let epoch = NaiveDate::from_ymd_opt(2000, 1, 1)?.and_hms_opt(0, 0, 0)?;
        epoch
            .checked_add_signed(TimeDelta::microseconds(micros))
            .map(|naive| naive.and_utc())
    }

    #[test]
    fn reads_every_time_as_diesel_does() {
        let day = 86_400_000_000_i64;
        let mut samples = vec![
            0,
            1,
            -1,
            day - 1,
            -day,
            -PG_EPOCH_MICROS,
            -PG_EPOCH_MICROS - 1,
            // 1900-03-01, around a century's skipped leap day, and 2100-02-28.
            -3_155_673_600_000_000,
            3_155_587_200_000_000,
            // 9999-12-31 23:59:59.999999 and 0001-01-01 00:00:00.
            252_455_615_999_999_999,
            -63_082_281_600_000_000,
            i64::MAX,
            i64::MIN,
        ];
        // Pseudo-random times over the whole range (±292 000 years, past chrono's ±262 000 at
        // both ends), and as many within two centuries of 2000.
        let mut x: i64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.extend([x, x % (200 * 366 * day)]);
        }
        for micros in samples {
            assert_eq!(from_pg_micros(micros), as_diesel_reads(micros), "{micros}");
        }
    }
}
