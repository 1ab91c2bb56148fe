SELECT ev.body -> 'kind' ->> 'event' AS kind, COUNT(*) FROM events ev JOIN emails em ON em.id = ev.email
WHERE ev.account = $1
  AND em.account = $1
  AND ($2::bigint IS NULL OR em.mailing = $2)
  AND ($3::bigint IS NULL OR em.mailbox = $3)
  AND ev.body -> 'kind' ->> 'event' IN ('bounced', 'soft_bounced', 'replied', 'auto_replied')
GROUP BY 1
