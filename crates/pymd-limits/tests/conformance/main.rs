//! The counters conformance suite: every case is written once against `Arc<dyn Counters>` and
//! run on the in-memory counters and on Redis when `PYMD_TEST_REDIS_URL` is set (each test under
//! a key prefix of its own, so runs never collide; without the variable the Redis variants say
//! they were skipped and pass). Then the [`Limiter`] on top: limits, blocks, and the fallback to
//! memory when Redis is down.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: unwrap, expect and panic are its assertions"
)]

use std::sync::Arc;
use std::time::Duration;

use pymd_limits::{Counters, Decision, Limit, Limiter, MemoryCounters, RedisCounters};
use secrecy::SecretString;

/// A fresh key prefix for one test.
fn prefix() -> String {
    format!("pymd-test:{}:", uuid::Uuid::new_v4().simple())
}

fn redis_url() -> Option<SecretString> {
    std::env::var("PYMD_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .map(SecretString::from)
}

/// Two handles on one set of counters (two app instances on one Redis; for memory, the same
/// process).
struct Backend {
    a: Arc<dyn Counters>,
    b: Arc<dyn Counters>,
}

fn memory() -> Backend {
    let c: Arc<dyn Counters> = Arc::new(MemoryCounters::new());
    Backend {
        a: Arc::clone(&c),
        b: c,
    }
}

fn redis() -> Option<Backend> {
    let url = redis_url()?;
    let p = prefix();
    let open = || -> Arc<dyn Counters> { Arc::new(RedisCounters::new(&url, &p).expect("URL")) };
    Some(Backend {
        a: open(),
        b: open(),
    })
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::$case(crate::memory()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(backend) = crate::redis() else {
                        eprintln!("skipped redis::{}: PYMD_TEST_REDIS_URL is not set", stringify!($case));
                        return;
                    };
                    crate::$case(backend).await;
                }
            )*
        }
    };
}

conformance!(
    hits_count_up_within_a_window_and_say_when_it_ends,
    a_new_window_opens_after_the_old_one_ends,
    concurrent_hits_from_two_instances_are_each_counted_once,
    keys_are_counted_apart,
    flags_expire_and_can_be_removed,
);

const MINUTE: Duration = Duration::from_secs(60);

async fn hits_count_up_within_a_window_and_say_when_it_ends(c: Backend) {
    for expected in 1..=5 {
        let hit = c.a.hit("auth:ip:203.0.113.7", MINUTE).await.expect("hit");
        assert_eq!(hit.count, expected);
        assert!(hit.resets_in <= MINUTE, "{hit:?}");
        assert!(hit.resets_in > MINUTE - Duration::from_secs(5), "{hit:?}");
    }
    // The other instance sees the same window.
    assert_eq!(
        c.b.hit("auth:ip:203.0.113.7", MINUTE)
            .await
            .expect("hit")
            .count,
        6
    );
}

async fn a_new_window_opens_after_the_old_one_ends(c: Backend) {
    let window = Duration::from_millis(300);
    assert_eq!(c.a.hit("w", window).await.expect("hit").count, 1);
    assert_eq!(c.a.hit("w", window).await.expect("hit").count, 2);
    // Waiting out a window is what this case is about (not readiness).
    tokio::time::sleep(Duration::from_millis(450)).await;
    let hit = c.b.hit("w", window).await.expect("hit");
    assert_eq!(hit.count, 1, "a new window");
    assert!(hit.resets_in <= window);
}

async fn concurrent_hits_from_two_instances_are_each_counted_once(c: Backend) {
    let mut tasks = Vec::new();
    for i in 0..60 {
        let counters = if i % 2 == 0 {
            Arc::clone(&c.a)
        } else {
            Arc::clone(&c.b)
        };
        tasks.push(tokio::spawn(async move {
            counters
                .hit("refresh:user:42", MINUTE)
                .await
                .expect("hit")
                .count
        }));
    }
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.expect("task"));
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=60).collect::<Vec<u64>>(),
        "every hit counted exactly once"
    );
}

async fn keys_are_counted_apart(c: Backend) {
    c.a.hit("auth:ip:198.51.100.1", MINUTE).await.expect("hit");
    c.a.hit("auth:ip:198.51.100.1", MINUTE).await.expect("hit");
    assert_eq!(
        c.a.hit("auth:ip:198.51.100.2", MINUTE)
            .await
            .expect("hit")
            .count,
        1
    );
    assert!(
        c.a.flag("auth:ip:198.51.100.1")
            .await
            .expect("flag")
            .is_some(),
        "a counter is a key with a time to live too"
    );
    assert_eq!(
        c.a.flag("block:auth:198.51.100.9").await.expect("flag"),
        None
    );
}

async fn flags_expire_and_can_be_removed(c: Backend) {
    let key = "block:auth:192.0.2.10";
    assert_eq!(c.a.flag(key).await.expect("flag"), None);
    assert!(!c.a.remove(key).await.expect("remove"), "nothing to remove");
    c.a.set_flag(key, Duration::from_secs(1800))
        .await
        .expect("set");
    let left =
        c.b.flag(key)
            .await
            .expect("flag")
            .expect("set on the other instance too");
    assert!(
        left <= Duration::from_secs(1800) && left > Duration::from_secs(1790),
        "{left:?}"
    );
    assert!(c.b.remove(key).await.expect("remove"));
    assert_eq!(c.a.flag(key).await.expect("flag"), None);

    c.a.set_flag(key, Duration::from_millis(200))
        .await
        .expect("set");
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(c.a.flag(key).await.expect("flag"), None, "run out");
}

// --- the Limiter ---------------------------------------------------------------------------

const AUTH: Limit = Limit {
    name: "auth",
    max: 10,
    window: MINUTE,
};

async fn eleven_hits(limiter: &Limiter, subject: &str) -> Vec<Decision> {
    let mut out = Vec::new();
    for _ in 0..11 {
        out.push(limiter.check(&AUTH, subject).await);
    }
    out
}

fn assert_ten_then_limited(decisions: &[Decision]) {
    for (i, d) in decisions[..10].iter().enumerate() {
        assert_eq!(
            *d,
            Decision::Allowed {
                remaining: 9 - i as u64
            },
            "hit {}",
            i + 1
        );
    }
    match decisions[10] {
        Decision::Limited { retry_after_secs } => assert!((1..=60).contains(&retry_after_secs)),
        other => panic!("the 11th hit must be limited: {other:?}"),
    }
}

#[tokio::test]
async fn the_limiter_allows_max_hits_per_window_then_gives_retry_after() {
    let limiter = Limiter::in_memory();
    assert_ten_then_limited(&eleven_hits(&limiter, "203.0.113.1").await);
    // Another subject has its own count.
    assert_eq!(
        limiter.check(&AUTH, "203.0.113.2").await,
        Decision::Allowed { remaining: 9 }
    );
    assert_eq!(limiter.backend(), "memory");
}

#[tokio::test]
async fn the_limiter_shares_limits_through_redis() {
    let Some(url) = redis_url() else {
        eprintln!("skipped: PYMD_TEST_REDIS_URL is not set");
        return;
    };
    let p = prefix();
    let one = Limiter::shared(Arc::new(RedisCounters::new(&url, &p).expect("URL")));
    let two = Limiter::shared(Arc::new(RedisCounters::new(&url, &p).expect("URL")));
    for _ in 0..5 {
        one.check(&AUTH, "203.0.113.3").await;
        two.check(&AUTH, "203.0.113.3").await;
    }
    assert!(
        matches!(
            one.check(&AUTH, "203.0.113.3").await,
            Decision::Limited { .. }
        ),
        "ten hits across two instances"
    );
    assert_eq!(one.backend(), "redis");
    assert!(!one.is_degraded());

    one.block("auth", "203.0.113.3", Duration::from_secs(1800))
        .await;
    assert!(
        two.blocked("auth", "203.0.113.3").await.is_some(),
        "a block is seen by every instance"
    );
    assert!(two.unblock("auth", "203.0.113.3").await);
    assert!(one.blocked("auth", "203.0.113.3").await.is_none());
}

#[tokio::test]
async fn with_redis_down_limits_fall_back_to_memory_never_to_no_limit() {
    // Nothing listens on this port: every Redis call fails (fast, bounded).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let url = SecretString::from(format!("redis://127.0.0.1:{port}"));
    let limiter = Limiter::shared(Arc::new(RedisCounters::new(&url, &prefix()).expect("URL")));

    let started = std::time::Instant::now();
    assert_ten_then_limited(&eleven_hits(&limiter, "203.0.113.4").await);
    assert!(limiter.is_degraded());
    assert_eq!(limiter.backend(), "memory (redis unavailable)");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "an outage must not make every request wait: {:?}",
        started.elapsed()
    );

    limiter
        .block("auth", "203.0.113.4", Duration::from_secs(60))
        .await;
    assert!(
        limiter.blocked("auth", "203.0.113.4").await.is_some(),
        "blocks fall back too"
    );
    assert!(limiter.unblock("auth", "203.0.113.4").await);
    assert!(limiter.blocked("auth", "203.0.113.4").await.is_none());
}

#[test]
fn a_bad_redis_url_is_refused_without_repeating_it() {
    let err = RedisCounters::new(
        &SecretString::from("redis://:hunter2@[::1".to_owned()),
        "p:",
    )
    .err()
    .expect("refused");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_that_accepts_but_never_answers_costs_concurrent_requests_one_timeout_at_most() {
    // A "Redis" that takes connections and says nothing (a hung host, a black-holed port).
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let url = SecretString::from(format!("redis://127.0.0.1:{port}"));
    let limiter = Limiter::shared(Arc::new(RedisCounters::new(&url, &prefix()).expect("URL")));
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let l = limiter.clone();
        tasks.push(tokio::spawn(async move {
            l.check(&AUTH, &format!("203.0.113.{i}")).await
        }));
    }
    for t in tasks {
        assert!(
            matches!(t.await.expect("task"), Decision::Allowed { .. }),
            "limited from memory"
        );
    }
    assert!(limiter.is_degraded());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "40 concurrent requests queued behind one hung connection: {:?}",
        started.elapsed()
    );
    holder.abort();
}
