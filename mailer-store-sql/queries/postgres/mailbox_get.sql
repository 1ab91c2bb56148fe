SELECT id, spacing_us, daily_cap, cap_window, per_minute_cap, timezone, next_send_at, pruned_at
FROM mailboxes WHERE id = $1 AND account = $2
