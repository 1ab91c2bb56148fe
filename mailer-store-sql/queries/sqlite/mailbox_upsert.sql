INSERT INTO mailboxes (id, account, spacing_us, daily_cap, cap_window, per_minute_cap, timezone, free_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET spacing_us = excluded.spacing_us, daily_cap = excluded.daily_cap,
    cap_window = excluded.cap_window, per_minute_cap = excluded.per_minute_cap, timezone = excluded.timezone,
    free_at = excluded.free_at
