//! Rate limits per caller: its token in auth mode, else its address. In
//! memory (governor) per gateway by default; with `REDIS_URL`, in Redis, so
//! every replica takes from one allowance (issue 18, point 3).
//!
//! Both are GCRA with the same rate and burst. The Redis one is a Lua
//! script, atomic on the server, on the server's clock (replicas' clocks
//! may disagree). If Redis cannot be reached, the gateway falls back to its
//! in-memory limits (logged once per outage) rather than refusing
//! everyone: a limit is there against overload, not to guard data.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::{AppError, RateLimit};

/// Whose allowance a request takes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum RateKey {
    Ip(IpAddr),
    /// A token id of the auth service (a prefix of its hash: not a secret).
    Token(String),
}

impl RateKey {
    fn redis_key(&self) -> String {
        match self {
            RateKey::Ip(ip) => format!("augment:gateway:rate:ip:{ip}"),
            RateKey::Token(id) => format!("augment:gateway:rate:token:{id}"),
        }
    }
}

/// GCRA: the key holds the theoretical arrival time (TAT) in µs on Redis's
/// clock. A request is allowed when the new TAT is at most `burst`
/// intervals ahead; the answer is 0, or the µs to wait.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local new_tat = tat + interval
local ahead = new_tat - now
if ahead > interval * burst then
  return math.ceil(ahead - interval * burst)
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil(ahead / 1000) + 1)
return 0
";

struct Shared {
    connection: redis::aio::ConnectionManager,
    script: redis::Script,
    /// Whether the last call failed: warnings go out on changes, not per request.
    down: AtomicBool,
}

pub(crate) struct Limiter {
    local: DefaultKeyedRateLimiter<RateKey>,
    checks: AtomicU64,
    shared: Option<Shared>,
    interval_us: u64,
    burst: u32,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").field("shared", &self.shared.is_some()).finish_non_exhaustive()
    }
}

impl Limiter {
    /// In memory, or in Redis at `redis_url` (connected on first use, and
    /// again after a failure, by the connection manager).
    pub(crate) fn new(limit: RateLimit, redis_url: Option<&str>) -> Result<Self, AppError> {
        let quota = Quota::per_second(limit.per_second).allow_burst(limit.burst);
        let shared = match redis_url {
            None => None,
            Some(url) => {
                let client = redis::Client::open(url).map_err(|e| AppError::InvalidRedisUrl(e.to_string()))?;
                // Short timeouts: a slow Redis must not slow every request.
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_millis(500)))
                    .set_response_timeout(Some(Duration::from_millis(500)))
                    .set_number_of_retries(1);
                let connection =
                    client.get_connection_manager_lazy(config).map_err(|e| AppError::InvalidRedisUrl(e.to_string()))?;
                Some(Shared { connection, script: redis::Script::new(GCRA), down: AtomicBool::new(false) })
            }
        };
        Ok(Limiter {
            local: RateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
            shared,
            interval_us: 1_000_000 / u64::from(limit.per_second.get()),
            burst: limit.burst.get(),
        })
    }

    /// `Ok` when the request may go on, else how long to wait.
    pub(crate) async fn check(&self, key: RateKey) -> Result<(), Duration> {
        if let Some(shared) = &self.shared {
            let mut connection = shared.connection.clone();
            let answer: redis::RedisResult<u64> = shared
                .script
                .key(key.redis_key())
                .arg(self.interval_us)
                .arg(self.burst)
                .invoke_async(&mut connection)
                .await;
            match answer {
                Ok(wait_us) => {
                    if shared.down.swap(false, Ordering::Relaxed) {
                        tracing::info!("rate limits are shared through Redis again");
                    }
                    return if wait_us == 0 { Ok(()) } else { Err(Duration::from_micros(wait_us)) };
                }
                Err(err) => {
                    if !shared.down.swap(true, Ordering::Relaxed) {
                        tracing::warn!(error = %err, "Redis is unreachable; rate limits are per gateway until it is back");
                    }
                }
            }
        }
        self.check_locally(&key)
    }

    fn check_locally(&self, key: &RateKey) -> Result<(), Duration> {
        // Forget idle clients now and then so the table does not grow forever.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.local.retain_recent();
            self.local.shrink_to_fit();
        }
        self.local.check_key(key).map_err(|not_until| not_until.wait_time_from(self.local.clock().now()))
    }
}
