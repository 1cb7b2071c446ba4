//! The shape of the seeded data set, as formulas shared by the seeder (SQL), the load
//! generator (this file) and the pgbench floors (`bench/pgbench/*.sql`).
//!
//! Every id is a function of a small integer, so a pgbench script can name a random user,
//! session or member with `\set` arithmetic alone: the floor then runs exactly the server's
//! statements, without an extra lookup query that the server does not make.
//!
//! - user `n` (1..=users): id `bench_uuid(1, n)`, sign-in (token family) `bench_uuid(3, n)`.
//! - session `s` (1..=sessions): id `bench_uuid(2, s)`. Sessions `1..=groups` are groups of
//!   5–50 members, the rest direct conversations between two users.
//! - message counts follow a power law over a pseudo-random ranking of the sessions: the
//!   session of rank `k` holds about `c0 / k^0.9` messages.
//!
//! The same formulas are written in SQL in `seed.rs` and in pgbench syntax in
//! `bench/pgbench/common.inc` comments; change the three together.

use uuid::Uuid;

/// Multiplier of the session ranking permutation (prime, coprime with any session count
/// made of factors 2 and 5).
pub const RANK_MULTIPLIER: i64 = 7907;
/// Exponent of the power law of messages per session.
pub const ZIPF_EXPONENT: f64 = 0.9;

/// Sizes of a seeded data set (stored in the `bench_meta` table by the seeder).
#[derive(Debug, Clone, Copy)]
pub struct Dataset {
    /// Number of users.
    pub users: i64,
    /// Number of sessions (groups first, then direct ones).
    pub sessions: i64,
    /// Number of group sessions.
    pub groups: i64,
    /// Number of seeded messages.
    pub messages: i64,
    /// Scale of the power law: rank `k` holds about `c0 / k^0.9` messages.
    pub c0: i64,
    /// Number of sessions (ranks `1..=busy`) holding more than 50 messages.
    pub busy: i64,
}

/// The deterministic id of object `n` of a kind (1 users, 2 sessions, 3 token families).
/// Mirrors the SQL function `bench_uuid(kind, n)`.
pub fn bench_uuid(kind: u32, n: i64) -> Uuid {
    let text = format!("{kind:08x}-0000-7000-8000-{n:012x}");
    Uuid::parse_str(&text).expect("a well-formed uuid")
}

impl Dataset {
    /// Members of group `s` (5–50).
    pub fn group_size(&self, s: i64) -> i64 {
        5 + (s * 7) % 46
    }

    /// User number of member `j` (0-based) of group `s`. Distinct for `j < 50`.
    pub fn group_member(&self, s: i64, j: i64) -> i64 {
        1 + (s * 131 + j * (1 + s % 89)) % self.users
    }

    /// The two users (0-based `a`, `b`) of direct session `s`, as user numbers.
    pub fn direct_pair(&self, s: i64) -> (i64, i64) {
        let i = s - self.groups - 1;
        let a = i % self.users;
        let round = i / self.users;
        let d = 1 + (a * 7919 + round * 2477) % (self.users / 2 - 1);
        (1 + a, 1 + (a + d) % self.users)
    }

    /// Member `pick` (any non-negative number, reduced to a member) of session `s`.
    pub fn member(&self, s: i64, pick: i64) -> i64 {
        if s <= self.groups {
            self.group_member(s, pick % self.group_size(s))
        } else {
            let (a, b) = self.direct_pair(s);
            if pick % 2 == 0 { a } else { b }
        }
    }

    /// The session of rank `k` (1 = busiest): the inverse of the ranking permutation.
    pub fn session_of_rank(&self, k: i64) -> i64 {
        1 + ((k - 1) * self.rank_inverse()) % self.sessions
    }

    /// The multiplicative inverse of [`RANK_MULTIPLIER`] modulo the session count.
    pub fn rank_inverse(&self) -> i64 {
        let (mut t, mut new_t) = (0i64, 1i64);
        let (mut r, mut new_r) = (self.sessions, RANK_MULTIPLIER % self.sessions);
        while new_r != 0 {
            let q = r / new_r;
            (t, new_t) = (new_t, t - q * new_t);
            (r, new_r) = (new_r, r - q * new_r);
        }
        if t < 0 { t + self.sessions } else { t }
    }

    /// About how many messages the session of rank `k` holds (the same approximation the
    /// pgbench scripts use to place a history cursor).
    pub fn approx_count(&self, k: i64) -> i64 {
        (self.c0 as f64 / (k as f64).powf(ZIPF_EXPONENT)) as i64
    }
}

/// A small, fast pseudo-random generator (xorshift64*), one per virtual client.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value; zero is replaced).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform integer in `lo..=hi`, like pgbench's `random(lo, hi)`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo + 1).max(1) as u64;
        lo + (self.next_u64() % span) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Dataset {
        Dataset {
            users: 10_000,
            sessions: 20_000,
            groups: 2_000,
            messages: 1_000_000,
            c0: 57_000,
            busy: 2_400,
        }
    }

    #[test]
    fn rank_inverse_inverts_the_ranking() {
        let d = sample();
        for s in [1, 2, 777, 19_999, 20_000] {
            let k = 1 + ((s - 1) * RANK_MULTIPLIER) % d.sessions;
            assert_eq!(d.session_of_rank(k), s);
        }
    }

    #[test]
    fn direct_pairs_are_distinct_users() {
        let d = sample();
        let mut seen = std::collections::HashSet::new();
        for s in d.groups + 1..=d.sessions {
            let (a, b) = d.direct_pair(s);
            assert_ne!(a, b);
            assert!(seen.insert((a.min(b), a.max(b))), "pair of {s} repeats");
        }
    }
}
