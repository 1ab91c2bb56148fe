//! Sending limits of common providers, held as data.

use std::time::Duration;

use crate::model::{CapWindow, SendingLimits};

/// A named set of sending limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPreset {
    /// Stable key, e.g. `google_workspace`.
    pub key: &'static str,
    /// Human name.
    pub name: &'static str,
    /// The limits.
    pub limits: SendingLimits,
}

const fn limits(spacing_ms: u64, daily_cap: u32, window: CapWindow, per_minute_cap: Option<u32>) -> SendingLimits {
    SendingLimits {
        spacing: Duration::from_millis(spacing_ms),
        daily_cap,
        window,
        per_minute_cap,
    }
}

/// The presets: the widget's default (1 per second, 2,000 a day), then providers' published caps.
pub const PRESETS: &[ProviderPreset] = &[
    ProviderPreset {
        key: "default",
        name: "Default (1 per second, 2,000 per day)",
        limits: limits(1_000, 2_000, CapWindow::Rolling24h, None),
    },
    ProviderPreset {
        key: "google_workspace",
        name: "Google Workspace",
        limits: limits(1_000, 2_000, CapWindow::Rolling24h, None),
    },
    ProviderPreset {
        key: "google_workspace_trial",
        name: "Google Workspace (trial)",
        limits: limits(1_000, 500, CapWindow::Rolling24h, None),
    },
    ProviderPreset {
        key: "gmail",
        name: "Gmail (free account)",
        limits: limits(2_000, 500, CapWindow::Rolling24h, None),
    },
    ProviderPreset {
        key: "microsoft_365",
        name: "Microsoft 365 / Exchange Online",
        limits: limits(2_000, 10_000, CapWindow::Rolling24h, Some(30)),
    },
    ProviderPreset {
        key: "yandex",
        name: "Yandex 360",
        limits: limits(1_000, 3_000, CapWindow::CalendarDay, None),
    },
    ProviderPreset {
        key: "smtp_relay",
        name: "Dedicated SMTP service (SendPulse and the like)",
        limits: limits(100, 100_000, CapWindow::CalendarDay, None),
    },
];

/// The preset with this key.
pub fn preset(key: &str) -> Option<&'static ProviderPreset> {
    PRESETS.iter().find(|p| p.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_hold_the_published_caps() {
        let google = preset("google_workspace").expect("google");
        assert_eq!(
            (google.limits.daily_cap, google.limits.window),
            (2_000, CapWindow::Rolling24h)
        );
        let ms = preset("microsoft_365").expect("microsoft");
        assert_eq!((ms.limits.daily_cap, ms.limits.per_minute_cap), (10_000, Some(30)));
        assert_eq!(
            preset("default").map(|p| p.limits.clone()),
            Some(SendingLimits::default())
        );
        let mut keys: Vec<_> = PRESETS.iter().map(|p| p.key).collect();
        keys.dedup();
        assert_eq!(keys.len(), PRESETS.len(), "duplicate preset keys");
    }
}
