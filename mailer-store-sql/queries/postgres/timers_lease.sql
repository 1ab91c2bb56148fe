UPDATE timers SET lease_worker = $1, ready_at = $2 WHERE id IN (SELECT jsonb_array_elements_text($3::jsonb)::bigint)
