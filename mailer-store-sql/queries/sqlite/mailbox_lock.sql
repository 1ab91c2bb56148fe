SELECT id, spacing_us, daily_cap, cap_window, per_minute_cap, timezone, pruned_at, next_send_at, free_at
FROM mailboxes WHERE id = $1
