//! Rate limits: sign-in throttling per account and per client address, and per-user limits on
//! writes, each a fixed window of so many hits.
//!
//! With `REDIS_URL` the windows are counted in Redis, so every server behind a balancer
//! enforces one limit (a Lua script makes the increment and its expiry one atomic step); without
//! it, in this process. While Redis is unreachable each server counts on its own: requests
//! still go through, and the limits hold per server until Redis is back. Written here rather
//! than taken from a crate: the Redis-backed limiters on crates.io bring their own Redis client
//! or framework, and this needs the fallback to local counting, which none of them does.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::sync::lock;

/// How long a sign-in may wait for its turn to hash.
const HASHING_WAIT: Duration = Duration::from_secs(2);
/// What a sign-in or registration that waited `HASHING_WAIT` for a turn to hash is told.
pub const HASHING_BUSY: &str = "too many sign-ins at once: try again";
/// How long one Redis call may take before this server counts on its own.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// How long to count locally after Redis failed, before trying it again.
const REDIS_RETRY: Duration = Duration::from_secs(1);

/// At most `limit` hits of one key in `window`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Names the rule in keys and messages.
    pub name: &'static str,
    /// Hits allowed per window.
    pub limit: u32,
    /// The window.
    pub window: Duration,
    /// What the refusal says (the limit and window are added).
    pub what: &'static str,
    /// How long a refusal waits before it answers: a tarpit for the sign-in rules, whose
    /// refusals cost no hash, so that a client retrying at once gets one a second instead of
    /// thousands (the same for every key, known or not); zero for the per-user write limits.
    pub refusal_delay: Duration,
}

/// Every limit the server applies, from the configuration.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Failed sign-ins per account (by username, known or not): then it is locked until the
    /// window ends.
    pub signin_failures_per_account: Rule,
    /// Failed sign-ins and refreshes per client address.
    pub signin_failures_per_address: Rule,
    /// New accounts per client address.
    pub registrations_per_address: Rule,
    /// Messages sent, edited or deleted per user.
    pub messages_per_user: Rule,
    /// Conversations started and group changes per user.
    pub group_changes_per_user: Rule,
    /// Uploads per user.
    pub uploads_per_user: Rule,
}

impl Rules {
    /// The rules of a configuration.
    pub fn from_config(config: &Config) -> Self {
        let minute = Duration::from_secs(60);
        Self {
            signin_failures_per_account: Rule {
                name: "signin-account",
                refusal_delay: config.signin_refusal_delay,
                limit: config.signin_failures_per_account,
                window: config.signin_lock,
                what: "failed sign-ins for this account",
            },
            signin_failures_per_address: Rule {
                name: "signin-address",
                refusal_delay: config.signin_refusal_delay,
                limit: config.signin_failures_per_address,
                window: config.signin_lock,
                what: "failed sign-ins from this address",
            },
            registrations_per_address: Rule {
                name: "register-address",
                refusal_delay: config.signin_refusal_delay,
                limit: config.registrations_per_address_hour,
                window: Duration::from_secs(3600),
                what: "new accounts from this address",
            },
            messages_per_user: Rule {
                name: "messages",
                refusal_delay: Duration::ZERO,
                limit: config.messages_per_minute,
                window: minute,
                what: "messages sent, edited or deleted",
            },
            group_changes_per_user: Rule {
                name: "groups",
                refusal_delay: Duration::ZERO,
                limit: config.group_changes_per_minute,
                window: minute,
                what: "conversations started and group changes",
            },
            uploads_per_user: Rule {
                name: "uploads",
                refusal_delay: Duration::ZERO,
                limit: config.uploads_per_minute,
                window: minute,
                what: "uploads",
            },
        }
    }
}

/// The client's address as this server sees it (the peer, or a forwarded address from a
/// trusted proxy); `None` for requests that came through no socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl ClientAddress {
    /// The client of a request from `peer`: the peer itself, unless it is in one of the
    /// `trusted` proxies' networks, in which case the nearest address of `X-Forwarded-For`
    /// that is not.
    pub fn of(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> Self {
        let Some(peer) = peer else {
            return Self(None);
        };
        let is_trusted = |a: &IpAddr| trusted.iter().any(|net| net.contains(a));
        if !is_trusted(&peer) {
            return Self(Some(peer));
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        let client = forwarded
            .into_iter()
            .rev()
            .find(|a| !is_trusted(a))
            .unwrap_or(peer);
        Self(Some(client))
    }
}

/// The counters. Cheap to clone.
#[derive(Clone)]
pub struct Throttle(Arc<Inner>);

struct Inner {
    rules: Rules,
    /// Password hashes computed at once.
    hashing: tokio::sync::Semaphore,
    local: Mutex<HashMap<String, (Instant, u32)>>,
    redis: Option<RedisCounter>,
}

impl Throttle {
    /// Counters for `config`'s rules, in Redis when it names one.
    pub fn new(config: &Config) -> Self {
        let redis = config.redis_url.as_deref().and_then(|url| {
            let client = redis::Client::open(url).ok()?;
            Some(RedisCounter {
                client,
                prefix: format!("{}:limit", config.redis_channel),
                conn: tokio::sync::Mutex::new(None),
                down_until: Mutex::new(None),
            })
        });
        Self(Arc::new(Inner {
            rules: Rules::from_config(config),
            hashing: tokio::sync::Semaphore::new(config.hash_concurrency),
            local: Mutex::new(HashMap::new()),
            redis,
        }))
    }

    /// The rules.
    pub fn rules(&self) -> &Rules {
        &self.0.rules
    }

    /// A turn to hash a password: argon2 takes a core for tens of milliseconds, so only
    /// `MESSENGER_HASH_CONCURRENCY` run at once and a flood of sign-ins cannot starve every
    /// other request. A caller that waits more than two seconds is told to come back.
    pub async fn hashing_turn(&self) -> AppResult<tokio::sync::SemaphorePermit<'_>> {
        match tokio::time::timeout(HASHING_WAIT, self.0.hashing.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(AppError::rate_limited(HASHING_BUSY, Duration::from_secs(1))),
        }
    }

    /// Counts one hit of `key`; `RATE_LIMITED` (counting nothing more) once the window holds
    /// the rule's limit.
    pub async fn hit(&self, rule: &Rule, key: &str) -> AppResult<()> {
        let (count, left) = self.count(rule, key, 1).await;
        if count > rule.limit {
            return Err(refusal(rule, left).await);
        }
        Ok(())
    }

    /// Counts one write of `user` under `rule` (one of the per-user rules).
    pub async fn write_by(
        &self,
        rule: impl Fn(&Rules) -> &Rule,
        user: uuid::Uuid,
    ) -> AppResult<()> {
        self.hit(rule(&self.0.rules), &user.to_string()).await
    }

    /// `RATE_LIMITED` if the window of `key` already holds the rule's limit; counts nothing.
    pub async fn check(&self, rule: &Rule, key: &str) -> AppResult<()> {
        let (count, left) = self.count(rule, key, 0).await;
        if count >= rule.limit {
            return Err(refusal(rule, left).await);
        }
        Ok(())
    }

    /// Counts one hit of `key` without refusing anything (a failure to remember).
    pub async fn record(&self, rule: &Rule, key: &str) {
        self.count(rule, key, 1).await;
    }

    /// Forgets the hits of `key`.
    pub async fn reset(&self, rule: &Rule, key: &str) {
        let name = format!("{}:{key}", rule.name);
        if let Some(redis) = &self.0.redis {
            redis.clear(&name).await;
        }
        lock(&self.0.local).remove(&name);
    }

    /// The hits of `key` in its window after adding `add`, and the time the window has left.
    async fn count(&self, rule: &Rule, key: &str, add: u32) -> (u32, Duration) {
        let name = format!("{}:{key}", rule.name);
        if let Some(redis) = &self.0.redis
            && let Some(counted) = redis.count(&name, rule.window, add).await
        {
            return counted;
        }
        let now = Instant::now();
        let mut local = lock(&self.0.local);
        if local.len() > 100_000 {
            local.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(3600));
        }
        let entry = local.entry(name).or_insert((now, 0));
        if now.duration_since(entry.0) >= rule.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(add);
        (
            entry.1,
            rule.window.saturating_sub(now.duration_since(entry.0)),
        )
    }
}

/// The refusal of `rule`, answered after its refusal delay.
async fn refusal(rule: &Rule, left: Duration) -> AppError {
    if !rule.refusal_delay.is_zero() {
        tokio::time::sleep(rule.refusal_delay).await;
    }
    AppError::rate_limited(
        format!(
            "too many {}: at most {} in {} s, try again later",
            rule.what,
            rule.limit,
            rule.window.as_secs()
        ),
        left.max(Duration::from_secs(1)),
    )
}

/// Counts `KEYS[1]` up by `ARGV[2]` (or reads it, with 0) in a window of `ARGV[1]` ms that
/// starts with its first hit; returns the count and the window's milliseconds left.
const COUNT_SCRIPT: &str = r"
local n
if tonumber(ARGV[2]) > 0 then
  n = redis.call('INCRBY', KEYS[1], ARGV[2])
  if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
else
  n = tonumber(redis.call('GET', KEYS[1]) or '0')
end
return {n, redis.call('PTTL', KEYS[1])}
";

struct RedisCounter {
    client: redis::Client,
    prefix: String,
    conn: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// Set after a failure: count locally until then.
    down_until: Mutex<Option<Instant>>,
}

impl RedisCounter {
    /// A connection, or `None` while Redis is taken to be down.
    async fn connection(&self) -> Option<redis::aio::MultiplexedConnection> {
        if lock(&self.down_until).is_some_and(|until| Instant::now() < until) {
            return None;
        }
        let mut conn = self.conn.lock().await;
        if conn.is_none() {
            let connect = self.client.get_multiplexed_async_connection();
            match tokio::time::timeout(REDIS_TIMEOUT, connect).await {
                Ok(Ok(c)) => *conn = Some(c),
                _ => {
                    self.failed();
                    return None;
                }
            }
        }
        conn.clone()
    }

    fn failed(&self) {
        let mut down = lock(&self.down_until);
        if down.is_none() {
            tracing::warn!("Redis unreachable: rate limits are counted on this server alone");
        }
        *down = Some(Instant::now() + REDIS_RETRY);
    }

    async fn forget_connection(&self) {
        *self.conn.lock().await = None;
        self.failed();
    }

    async fn count(&self, name: &str, window: Duration, add: u32) -> Option<(u32, Duration)> {
        let mut conn = self.connection().await?;
        let mut command = redis::cmd("EVAL");
        command
            .arg(COUNT_SCRIPT)
            .arg(1)
            .arg(format!("{}:{name}", self.prefix))
            .arg(window.as_millis() as u64)
            .arg(add);
        let call = command.query_async::<(i64, i64)>(&mut conn);
        match tokio::time::timeout(REDIS_TIMEOUT, call).await {
            Ok(Ok((count, left_ms))) => {
                if lock(&self.down_until).take().is_some() {
                    tracing::info!("Redis reachable again: rate limits are shared");
                }
                let left = Duration::from_millis(left_ms.max(0) as u64);
                Some((count.clamp(0, u32::MAX as i64) as u32, left))
            }
            _ => {
                self.forget_connection().await;
                None
            }
        }
    }

    async fn clear(&self, name: &str) {
        let Some(mut conn) = self.connection().await else {
            return;
        };
        let mut command = redis::cmd("DEL");
        command.arg(format!("{}:{name}", self.prefix));
        let call = command.query_async::<i64>(&mut conn);
        if !matches!(tokio::time::timeout(REDIS_TIMEOUT, call).await, Ok(Ok(_))) {
            self.forget_connection().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let client: IpAddr = "203.0.113.7".parse().expect("ip");
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "198.51.100.1, 203.0.113.7".parse().expect("header"),
        );
        let trusted = [ipnet::IpNet::from(proxy)];
        // From a trusted proxy: the nearest address it was told (the first one is the
        // client's own claim, which anyone can forge).
        assert_eq!(
            ClientAddress::of(Some(proxy), &headers, &trusted),
            ClientAddress(Some(client))
        );
        // From anyone else, the header is ignored.
        assert_eq!(
            ClientAddress::of(Some(client), &headers, &trusted),
            ClientAddress(Some(client))
        );
        // A proxy network: any proxy in it is believed, and proxies in it are skipped.
        let network: [ipnet::IpNet; 1] = ["10.0.0.0/16".parse().expect("network")];
        let mut chain = HeaderMap::new();
        chain.insert(
            "x-forwarded-for",
            "203.0.113.7, 10.0.3.4".parse().expect("header"),
        );
        assert_eq!(
            ClientAddress::of(Some("10.0.9.9".parse().expect("ip")), &chain, &network),
            ClientAddress(Some(client))
        );
        assert_eq!(
            ClientAddress::of(None, &headers, &trusted),
            ClientAddress(None)
        );
    }

    #[tokio::test]
    async fn with_redis_down_each_server_counts_alone_and_requests_go_through() {
        let config = Config {
            messages_per_minute: 2,
            // Nothing listens on port 1.
            redis_url: Some("redis://127.0.0.1:1".into()),
            ..Config::default()
        };
        let throttle = Throttle::new(&config);
        let rule = throttle.rules().messages_per_user.clone();
        throttle.hit(&rule, "u").await.expect("allowed");
        throttle.hit(&rule, "u").await.expect("allowed");
        let refused = throttle.hit(&rule, "u").await.expect_err("counted locally");
        assert_eq!(refused.code(), "RATE_LIMITED");
    }

    #[tokio::test]
    async fn a_window_holds_its_limit_then_refuses_until_it_ends() {
        let config = Config {
            messages_per_minute: 3,
            ..Config::default()
        };
        let throttle = Throttle::new(&config);
        let rule = throttle.rules().messages_per_user.clone();
        for _ in 0..3 {
            throttle.hit(&rule, "u").await.expect("within the limit");
        }
        let refused = throttle.hit(&rule, "u").await.expect_err("over the limit");
        assert_eq!(refused.code(), "RATE_LIMITED");
        throttle
            .hit(&rule, "v")
            .await
            .expect("another key has its own window");
        throttle.reset(&rule, "u").await;
        throttle.hit(&rule, "u").await.expect("reset");
    }
}
