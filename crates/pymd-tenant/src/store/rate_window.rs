//! The Management API's request counter: a fixed one-second window.

use tokio::sync::Mutex;

#[derive(Debug, Default)]
struct Window {
    /// Window start (unix secs).
    second: i64,
    /// Requests in it.
    count: u32,
}

/// Requests counted per wall-clock second.
#[derive(Debug, Default)]
pub struct RateWindow {
    window: Mutex<Window>,
}

impl RateWindow {
    /// Counts one request at `now`; returns the count in the current second, this one
    /// included.
    pub async fn hit(&self, now: i64) -> u32 {
        let mut w = self.window.lock().await;
        if w.second != now {
            w.second = now;
            w.count = 0;
        }
        w.count = w.count.saturating_add(1);
        w.count
    }
}
