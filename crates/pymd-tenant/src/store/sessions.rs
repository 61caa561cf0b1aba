//! SSO sessions (the `auth0` cookie): started by a completed login, found (and their idle
//! timer touched) by `/authorize`, ended by logout, expired by their absolute and idle
//! lifetimes.

use std::collections::HashMap;

use tokio::sync::Mutex;

use super::retain;
use crate::util::random_urlsafe;

/// An SSO session.
#[derive(Debug, Clone)]
pub struct Session {
    /// `sid` (32 URL-safe chars).
    pub sid: String,
    /// User.
    pub user_id: String,
    /// Created (unix).
    pub created_at: i64,
    /// Last used (unix).
    pub last_active: i64,
    /// Authentication time.
    pub auth_time: i64,
    /// The clients that received tokens in this session (the ones a back-channel logout is
    /// sent to), in order of first use.
    pub clients: Vec<String>,
}

/// Absolute and idle session lifetimes (seconds).
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// Since creation.
    pub absolute: i64,
    /// Since last use.
    pub idle: i64,
}

impl Session {
    fn live(&self, life: Lifetimes, now: i64) -> bool {
        now - self.created_at <= life.absolute && now - self.last_active <= life.idle
    }
}

/// The live sessions, keyed by cookie value.
#[derive(Debug, Default)]
pub struct Sessions {
    by_cookie: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session for `user_id` authenticated at `now`; returns it with its cookie value.
    pub async fn start(&self, user_id: &str, now: i64) -> (Session, String) {
        let cookie = random_urlsafe(43);
        let s = Session {
            sid: random_urlsafe(32),
            user_id: user_id.to_string(),
            created_at: now,
            last_active: now,
            auth_time: now,
            clients: Vec::new(),
        };
        self.by_cookie
            .lock()
            .await
            .insert(cookie.clone(), s.clone());
        (s, cookie)
    }

    /// The live session for a cookie value, touching its idle timer (an expired one is
    /// dropped).
    pub async fn current(&self, cookie: &str, life: Lifetimes, now: i64) -> Option<Session> {
        let mut sessions = self.by_cookie.lock().await;
        let s = sessions.get_mut(cookie)?;
        if !s.live(life, now) {
            sessions.remove(cookie);
            return None;
        }
        s.last_active = now;
        Some(s.clone())
    }

    /// Ends the session of a cookie value (if `only_sid` is set, only when it is that
    /// session); returns the ended session.
    pub async fn end(&self, cookie: &str, only_sid: Option<&str>) -> Option<Session> {
        let mut sessions = self.by_cookie.lock().await;
        match sessions.get(cookie) {
            Some(s) if only_sid.is_none_or(|sid| sid == s.sid) => sessions.remove(cookie),
            _ => None,
        }
    }

    /// Records that `client_id` received tokens in the session `sid` (no-op for an unknown or
    /// ended session, or a client already recorded).
    pub async fn join(&self, sid: &str, client_id: &str) {
        let mut sessions = self.by_cookie.lock().await;
        if let Some(s) = sessions.values_mut().find(|s| s.sid == sid)
            && !s.clients.iter().any(|c| c == client_id)
        {
            s.clients.push(client_id.to_string());
        }
    }

    /// Drops expired sessions; returns how many.
    pub async fn sweep(&self, life: Lifetimes, now: i64) -> usize {
        retain(&mut *self.by_cookie.lock().await, |s| s.live(life, now))
    }

    /// How many sessions are kept.
    #[cfg(test)]
    pub async fn len(&self) -> usize {
        self.by_cookie.lock().await.len()
    }
}
