//! The load generator every scenario shares: `N` keep-alive connections over loopback for a
//! bounded time, each worker timing its own requests, so every server in a run is driven by
//! the same code and its figures compare.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What one scenario measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Requests (or sign-ins) completed, errors included.
    pub requests: usize,
    /// Answers with another status than expected, and requests that got no answer.
    pub errors: usize,
    /// Wall time from the first request to the last answer.
    pub elapsed: Duration,
    /// Every request's latency in microseconds, sorted.
    pub latencies_us: Vec<u64>,
}

impl Outcome {
    /// The `p` quantile (0–1) of the latencies in milliseconds (0 when nothing ran).
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i.min(self.latencies_us.len() - 1)] as f64 / 1000.0
    }

    /// Completed requests per second of wall time.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }

    fn gather(start: Instant, parts: Vec<(Vec<u64>, usize)>) -> Outcome {
        let elapsed = start.elapsed();
        let mut latencies_us = Vec::new();
        let mut errors = 0;
        for (lat, e) in parts {
            latencies_us.extend(lat);
            errors += e;
        }
        latencies_us.sort_unstable();
        Outcome {
            requests: latencies_us.len(),
            errors,
            elapsed,
            latencies_us,
        }
    }
}

/// One `GET` scenario: `url` with a bearer token from `tokens`, expecting `expect`.
#[derive(Debug, Clone)]
pub struct Load {
    pub url: String,
    /// The tokens requests carry, in turn. With `cycle` the list repeats; without it the
    /// scenario ends early once every token was sent once (no token is sent twice).
    pub tokens: Arc<Vec<String>>,
    pub cycle: bool,
    /// The status every answer must have.
    pub expect: u16,
    pub connections: usize,
    pub duration: Duration,
}

/// Runs `load` and measures it.
pub async fn drive(client: &reqwest::Client, load: &Load) -> Outcome {
    let start = Instant::now();
    let deadline = start + load.duration;
    let next = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..load.connections {
        let (client, load, next) = (client.clone(), load.clone(), next.clone());
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(4096);
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let i = if load.cycle { i % load.tokens.len() } else { i };
                let Some(token) = load.tokens.get(i) else {
                    break;
                };
                let t0 = Instant::now();
                if !one_get(&client, &load.url, token, load.expect).await {
                    errors += 1;
                }
                lat.push(t0.elapsed().as_micros() as u64);
            }
            (lat, errors)
        }));
    }
    let mut parts = Vec::new();
    for h in handles {
        if let Ok(part) = h.await {
            parts.push(part);
        }
    }
    Outcome::gather(start, parts)
}

/// One request, its body read to the end; whether the status was `expect`.
async fn one_get(client: &reqwest::Client, url: &str, token: &str, expect: u16) -> bool {
    match client.get(url).bearer_auth(token).send().await {
        Ok(r) => {
            let ok = r.status().as_u16() == expect;
            r.bytes().await.is_ok() && ok
        }
        Err(_) => false,
    }
}

/// Full browser sign-ins through `base` from `connections` concurrent fresh browsers for
/// `duration` (`client` must not follow redirects).
pub async fn drive_logins(
    client: &reqwest::Client,
    base: &str,
    connections: usize,
    duration: Duration,
) -> Outcome {
    let start = Instant::now();
    let deadline = start + duration;
    let mut handles = Vec::new();
    for _ in 0..connections {
        let (client, base) = (client.clone(), base.to_owned());
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                if crate::signin::one_login(&client, &base).await.is_err() {
                    errors += 1;
                }
                lat.push(t0.elapsed().as_micros() as u64);
            }
            (lat, errors)
        }));
    }
    let mut parts = Vec::new();
    for h in handles {
        if let Ok(part) = h.await {
            parts.push(part);
        }
    }
    Outcome::gather(start, parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(latencies_us: Vec<u64>, secs: u64) -> Outcome {
        Outcome {
            requests: latencies_us.len(),
            errors: 0,
            elapsed: Duration::from_secs(secs),
            latencies_us,
        }
    }

    #[test]
    fn percentiles_read_the_sorted_latencies_in_milliseconds() {
        let o = outcome((1..=100).map(|i| i * 1000).collect(), 2);
        assert_eq!(o.percentile_ms(0.5), 51.0);
        assert_eq!(o.percentile_ms(0.99), 99.0);
        assert_eq!(o.rate(), 50.0);
    }

    #[test]
    fn an_empty_outcome_has_no_rate_and_no_latency() {
        let o = outcome(Vec::new(), 0);
        assert_eq!(o.percentile_ms(0.99), 0.0);
        assert_eq!(o.rate(), 0.0);
    }
}
