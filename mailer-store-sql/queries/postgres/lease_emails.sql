-- Leases the chosen emails. The status test is written as a CASE on purpose: it keeps the planner on the
-- primary key (one probe per chosen id) instead of the partial queue index, which it would otherwise scan
-- whole when its statistics were taken with an empty queue.
UPDATE emails SET status = 'sending', attempts = attempts + 1, lease_worker = $2, lease_until = $3
WHERE id IN (SELECT jsonb_array_elements_text($4::jsonb)::bigint)
  AND CASE status WHEN 'queued' THEN due_at <= $1 WHEN 'sending' THEN lease_until <= $1 ELSE false END
RETURNING mailbox, id, status, attempts, due_at, sent_at, last_error, spec::text
