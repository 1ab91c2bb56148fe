-- Under the same UIDVALIDITY the last UID only grows (two readers never move it back); a new UIDVALIDITY
-- replaces the cursor. Every SET expression reads the row as it was.
INSERT INTO inbox_cursors (account, mailbox, uid_validity, last_uid) VALUES ($1, $2, $3, $4)
ON CONFLICT (account, mailbox) DO UPDATE SET
    last_uid = CASE WHEN inbox_cursors.uid_validity = excluded.uid_validity
                    THEN GREATEST(inbox_cursors.last_uid, excluded.last_uid)
                    ELSE excluded.last_uid END,
    uid_validity = excluded.uid_validity
