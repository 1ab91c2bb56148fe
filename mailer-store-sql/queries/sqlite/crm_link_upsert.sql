INSERT INTO crm_links (account, external_id, version, body) VALUES ($1, $2, 1, $3)
ON CONFLICT (account) DO UPDATE SET external_id = excluded.external_id, version = crm_links.version + 1, body = excluded.body
RETURNING version
