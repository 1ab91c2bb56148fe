//! Queue policy: spacing, daily caps, provider presets, priorities and retries, as pure functions.
