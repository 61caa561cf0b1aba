//! Injected faults (`/__dev/faults`): per endpoint family (JWKS, token, discovery) a delay
//! and an optional status to answer with instead of the real response.

use std::time::Duration;

use tokio::sync::Mutex;

/// The longest delay a fault can impose.
const MAX_DELAY: Duration = Duration::from_secs(120);

/// Which endpoint family a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTarget {
    /// JWKS.
    Jwks,
    /// Token endpoint.
    Token,
    /// Discovery.
    Discovery,
}

/// One injected fault.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct Fault {
    /// Status to answer with (None = healthy).
    #[serde(default)]
    pub status: Option<u16>,
    /// Delay before answering.
    #[serde(default)]
    pub delay_ms: u64,
}

/// Faults per endpoint family (the `/__dev/faults` JSON shape).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct FaultSettings {
    /// `/.well-known/jwks.json`.
    #[serde(default)]
    pub jwks: Option<Fault>,
    /// `/oauth/token`.
    #[serde(default)]
    pub token: Option<Fault>,
    /// `/.well-known/openid-configuration`.
    #[serde(default)]
    pub discovery: Option<Fault>,
}

/// The faults in force.
#[derive(Debug, Default)]
pub struct Faults {
    settings: Mutex<FaultSettings>,
}

impl Faults {
    /// Applies the fault for `target`: sleeps its delay, then returns its status if one is
    /// set (the caller decides whether that status means "fail").
    pub async fn strike(&self, target: FaultTarget) -> Option<u16> {
        let fault = {
            let f = self.settings.lock().await;
            match target {
                FaultTarget::Jwks => f.jwks.clone(),
                FaultTarget::Token => f.token.clone(),
                FaultTarget::Discovery => f.discovery.clone(),
            }
        }?;
        if fault.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms).min(MAX_DELAY)).await;
        }
        fault.status
    }

    /// Sets the parts `mentioned` (by their JSON key) from `new`; parts not mentioned keep
    /// their current setting, and a mentioned `null` clears one. Returns the new settings.
    pub async fn update(
        &self,
        new: FaultSettings,
        mentioned: impl Fn(&str) -> bool,
    ) -> FaultSettings {
        let mut f = self.settings.lock().await;
        if mentioned("jwks") {
            f.jwks = new.jwks;
        }
        if mentioned("token") {
            f.token = new.token;
        }
        if mentioned("discovery") {
            f.discovery = new.discovery;
        }
        f.clone()
    }

    /// Clears every fault.
    pub async fn clear(&self) {
        *self.settings.lock().await = FaultSettings::default();
    }

    /// The settings in force.
    pub async fn current(&self) -> FaultSettings {
        self.settings.lock().await.clone()
    }
}
