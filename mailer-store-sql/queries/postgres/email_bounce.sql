-- A CASE, as in email_fail.sql, so the row is looked up by its primary key and not through the partial
-- queue index.
UPDATE emails SET status = 'failed', last_error = $3
WHERE id = $1 AND account = $2 AND CASE status WHEN 'sent' THEN true ELSE false END
