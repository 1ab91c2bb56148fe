-- `mailer_claim` as in 0008_claim_uncapped.sql, but a mailbox whose limits are lifted (`spacing_us` 0, no
-- daily cap, no per-minute cap: `SendingLimits::lifted`) gives an even share of the claim instead of one
-- email: after the first pass (one email of every mailbox, locking them), a second pass adds, for each
-- lifted mailbox locked, up to `ceil(p_limit / lifted mailboxes) - 1` more of its claimable emails, best
-- first, after every first email (so every mailbox's first email comes before any mailbox's second, as
-- `Store::claim_due` says and SQLite's claim_candidates.sql does). Their sends are counted like any other;
-- the lease re-checks each email as before. `sent` now joins a candidate by its email (a mailbox may have
-- several), and a mailbox's row is moved once per claim.
--
-- The first pass reads one email per mailbox: an ordered scan of `emails_queue` (mailbox, priority, seq, id)
-- that stops at the first claimable row. Planned with the statistics of a small or freshly filled table, the
-- function's cached plan fetched every queued email of each mailbox with a bitmap scan and sorted them
-- instead (100 mailboxes × 100 emails per claim in `benches/store.rs` `drain/postgres4`: 25 ms a claim, and
-- a drain between 2.3 and 6.2 s from run to run): bitmap scans are off inside the function
-- (`SET enable_bitmapscan = off` below; a later replacement of the function must keep it).
CREATE OR REPLACE FUNCTION mailer_claim(
    p_now BIGINT,
    p_limit BIGINT,
    p_worker TEXT,
    p_until BIGINT,
    p_minute_since BIGINT,
    p_day_since BIGINT,
    p_prune_every BIGINT,
    p_keep_since BIGINT,
    p_max BIGINT
)
RETURNS TABLE (
    o_rank BIGINT,
    o_slow BOOLEAN,
    o_account BIGINT,
    o_mailbox BIGINT,
    o_id BIGINT,
    o_status TEXT,
    o_attempts BIGINT,
    o_due_at BIGINT,
    o_sent_at BIGINT,
    o_last_error TEXT,
    o_spec TEXT
)
LANGUAGE plpgsql VOLATILE SET enable_bitmapscan = off AS $fn$
DECLARE
    r RECORD;
    v_mailbox BIGINT[] := '{}';
    v_email BIGINT[] := '{}';
    v_account BIGINT[] := '{}';
    v_spacing BIGINT[] := '{}';
    v_cap BIGINT[] := '{}';
    v_minute_cap BIGINT[] := '{}';
    v_pruned BIGINT[] := '{}';
    v_slow BOOLEAN[];
    v_idle BIGINT[];
    v_lifted BIGINT;
BEGIN
    FOR r IN
        SELECT m.id AS mailbox, m.account, m.spacing_us, m.daily_cap, m.per_minute_cap, m.pruned_at, e.id AS email
        FROM mailboxes m
        CROSS JOIN LATERAL (
            SELECT q.id, q.priority, q.seq FROM emails q LEFT JOIN mailings g ON g.id = q.mailing
            WHERE q.mailbox = m.id
              AND q.status IN ('queued', 'sending')
              AND ((q.status = 'queued' AND q.due_at <= p_now) OR (q.status = 'sending' AND q.lease_until <= p_now))
              AND (g.status IS NULL OR g.status = 'running')
            ORDER BY q.priority, q.seq, q.id
            LIMIT 1) e
        WHERE NOT m.idle AND (m.free_at IS NULL OR m.free_at <= p_now)
        ORDER BY e.priority, e.seq, e.id
        LIMIT p_limit
        FOR UPDATE OF m SKIP LOCKED
    LOOP
        v_mailbox := v_mailbox || r.mailbox;
        v_email := v_email || r.email;
        v_account := v_account || r.account;
        v_spacing := v_spacing || r.spacing_us;
        v_cap := v_cap || r.daily_cap;
        v_minute_cap := v_minute_cap || r.per_minute_cap;
        v_pruned := v_pruned || r.pruned_at;
    END LOOP;
    IF cardinality(v_mailbox) < p_limit THEN
        -- Locked first, checked after in a statement of its own (see the top of this file).
        SELECT array_agg(b.id) INTO v_idle FROM (
            SELECT m.id FROM mailboxes m
            WHERE NOT m.idle AND m.id <> ALL (v_mailbox)
              AND NOT EXISTS (SELECT 1 FROM emails q WHERE q.mailbox = m.id AND q.status IN ('queued', 'sending'))
            FOR UPDATE OF m SKIP LOCKED) b;
        IF v_idle IS NOT NULL THEN
            UPDATE mailboxes m SET idle = true
            WHERE m.id = ANY (v_idle)
              AND NOT EXISTS (SELECT 1 FROM emails q WHERE q.mailbox = m.id AND q.status IN ('queued', 'sending'));
        END IF;
    END IF;
    IF cardinality(v_mailbox) = 0 THEN
        RETURN;
    END IF;

    -- The second pass: more emails of the lifted mailboxes locked above (their locks are held).
    IF cardinality(v_mailbox) < p_limit THEN
        SELECT count(*) INTO v_lifted FROM unnest(v_spacing, v_cap, v_minute_cap) AS u(spacing, cap, minute_cap)
        WHERE u.spacing = 0 AND u.cap = 4294967295 AND u.minute_cap IS NULL;
        IF v_lifted > 0 AND (p_limit + v_lifted - 1) / v_lifted > 1 THEN
            FOR r IN
                SELECT u.mailbox, u.account, u.spacing, u.cap, u.minute_cap, u.pruned, e.id AS email
                FROM unnest(v_mailbox, v_email, v_account, v_spacing, v_cap, v_minute_cap, v_pruned)
                    AS u(mailbox, first, account, spacing, cap, minute_cap, pruned)
                CROSS JOIN LATERAL (
                    SELECT q.id, q.priority, q.seq,
                           row_number() OVER (ORDER BY q.priority, q.seq, q.id) AS turn
                    FROM emails q LEFT JOIN mailings g ON g.id = q.mailing
                    WHERE q.mailbox = u.mailbox AND q.id <> u.first
                      AND q.status IN ('queued', 'sending')
                      AND ((q.status = 'queued' AND q.due_at <= p_now) OR (q.status = 'sending' AND q.lease_until <= p_now))
                      AND (g.status IS NULL OR g.status = 'running')
                    ORDER BY q.priority, q.seq, q.id
                    LIMIT (p_limit + v_lifted - 1) / v_lifted - 1) e
                WHERE u.spacing = 0 AND u.cap = 4294967295 AND u.minute_cap IS NULL
                ORDER BY e.turn, e.priority, e.seq, e.id
                LIMIT p_limit - cardinality(v_mailbox)
            LOOP
                v_mailbox := v_mailbox || r.mailbox;
                v_email := v_email || r.email;
                v_account := v_account || r.account;
                v_spacing := v_spacing || r.spacing;
                v_cap := v_cap || r.cap;
                v_minute_cap := v_minute_cap || r.minute_cap;
                v_pruned := v_pruned || r.pruned;
            END LOOP;
        END IF;
    END IF;

    -- A statement of its own: a fresh snapshot, taken after the mailboxes were locked.
    SELECT array_agg(k.day + 1 >= u.cap OR (u.minute_cap IS NOT NULL AND k.minute + 1 >= u.minute_cap) ORDER BY u.i)
    INTO v_slow
    FROM unnest(v_mailbox, v_cap, v_minute_cap) WITH ORDINALITY AS u(mailbox, cap, minute_cap, i)
    CROSS JOIN LATERAL (
        SELECT COUNT(*) FILTER (WHERE s.at > p_minute_since) AS minute, COUNT(*) AS day
        FROM sends s WHERE s.mailbox = u.mailbox AND s.at >= p_day_since
          -- no cap, nothing to count (`SendingLimits::NO_DAILY_CAP`, no per-minute cap)
          AND (u.cap < 4294967295 OR u.minute_cap IS NOT NULL)) k;

    RETURN QUERY
    WITH cand AS (
        SELECT u.* FROM unnest(v_mailbox, v_email, v_account, v_spacing, v_pruned, v_slow)
            WITH ORDINALITY AS u(mailbox, email, account, spacing, pruned, slow, i)
    ),
    -- The status test is a CASE so that the planner probes the primary key (see lease_emails.sql).
    leased AS (
        UPDATE emails q SET status = 'sending', attempts = q.attempts + 1, lease_worker = p_worker, lease_until = p_until
        WHERE q.id = ANY (ARRAY(SELECT c.email FROM cand c WHERE NOT c.slow))
          AND CASE q.status WHEN 'queued' THEN q.due_at <= p_now WHEN 'sending' THEN q.lease_until <= p_now ELSE false END
        RETURNING q.account, q.mailbox, q.id, q.status, q.attempts, q.due_at, q.sent_at, q.last_error, q.spec::text AS spec
    ),
    sent AS (
        SELECT c.i, c.spacing, c.pruned, c.pruned < p_now - p_prune_every AS prune, l.*
        FROM leased l JOIN cand c ON c.email = l.id
    ),
    recorded AS (
        INSERT INTO sends (mailbox, at) SELECT s.mailbox, p_now FROM sent s
    ),
    pruned AS (
        DELETE FROM sends d USING sent s WHERE s.prune AND d.mailbox = s.mailbox AND d.at < p_keep_since
    ),
    moved AS (
        UPDATE mailboxes m
        SET next_send_at = x.next_send, free_at = x.next_send,
            pruned_at = CASE WHEN x.prune THEN p_now ELSE x.pruned END
        FROM (SELECT DISTINCT ON (s.mailbox) s.mailbox, s.prune, s.pruned,
                     CASE WHEN s.spacing > p_max - p_now THEN p_max ELSE p_now + s.spacing END AS next_send
              FROM sent s ORDER BY s.mailbox, s.i) x
        WHERE m.id = x.mailbox
    )
    SELECT s.i, false, s.account, s.mailbox, s.id, s.status, s.attempts, s.due_at, s.sent_at, s.last_error, s.spec
    FROM sent s
    UNION ALL
    SELECT c.i, true, c.account, c.mailbox, c.email, NULL, NULL, NULL, NULL, NULL, NULL
    FROM cand c WHERE c.slow
    ORDER BY 1;
END
$fn$;

