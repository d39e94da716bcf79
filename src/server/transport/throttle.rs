//! Failed authentications per client address, so that guessing tokens is slow.
//!
//! Only failures count (governor's GCRA, `N` per minute with a burst of `N`): a client using a
//! good token is never slowed down. Once an address has failed too often, every request from
//! it gets 429 with `Retry-After` *before* its token is looked at, until that time passes: a
//! brute force cannot tell a good guess from a bad one while it is refused. governor cannot ask
//! "would this be allowed?" without counting it, so the addresses currently refused are kept
//! beside it, with the time they are heard again.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Addresses remembered at most, in each of the two maps; past it the forgotten ones are those
/// whose state has run out. Bounds the memory a flood of addresses can take.
const MAX_TRACKED: usize = 65_536;

/// The failed-authentication budget of every client address.
pub struct AuthThrottle {
    failures: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses over their budget, and when they are heard again.
    refused: Mutex<HashMap<IpAddr, Instant>>,
}

impl AuthThrottle {
    /// `per_minute` failures a minute per address, all of which may come at once.
    pub fn new(per_minute: NonZeroU32) -> Self {
        AuthThrottle {
            failures: RateLimiter::keyed(Quota::per_minute(per_minute)),
            refused: Mutex::new(HashMap::new()),
        }
    }

    /// How long `addr` still has to wait, when it is refused now.
    pub fn refused(&self, addr: IpAddr) -> Option<Duration> {
        let key = client_key(addr);
        let refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        let until = *refused.get(&key)?;
        until
            .checked_duration_since(Instant::now())
            .filter(|wait| !wait.is_zero())
    }

    /// Counts a failed authentication from `addr`. When it was one too many: how long the
    /// address now has to wait (it is refused until then).
    pub fn failed(&self, addr: IpAddr) -> Option<Duration> {
        let key = client_key(addr);
        if self.failures.len() > MAX_TRACKED {
            self.failures.retain_recent();
        }
        let not_until = self.failures.check_key(&key).err()?;
        let wait = not_until.wait_time_from(self.failures.clock().now());
        let now = Instant::now();
        let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        if refused.len() >= MAX_TRACKED {
            refused.retain(|_, until| *until > now);
        }
        if refused.len() < MAX_TRACKED {
            refused.insert(key, now + wait);
        }
        Some(wait)
    }
}

/// The unit an address is counted in: an IPv4 address, or an IPv6 /64 (one host usually owns a
/// whole /64, so counting single IPv6 addresses would count nothing).
fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                IpAddr::V4(v4)
            } else {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_per_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(client_key(mapped), "127.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn only_the_failure_past_the_budget_is_refused() {
        let throttle = AuthThrottle::new(NonZeroU32::new(3).unwrap());
        let addr: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(throttle.failed(addr), None);
            assert_eq!(throttle.refused(addr), None);
        }
        let wait = throttle
            .failed(addr)
            .expect("the fourth failure is one too many");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(throttle.refused(addr).is_some());
        assert_eq!(throttle.refused("192.0.2.2".parse().unwrap()), None);
    }
}
