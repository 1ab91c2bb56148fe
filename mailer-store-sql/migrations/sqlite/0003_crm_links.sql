-- The link of each account to its CRM account: the CRM's id (unique), a version every write bumps (the
-- tokens' compare-and-swap compares it) and the rest as JSON, the tokens in it sealed.
CREATE TABLE crm_links (
    account     BIGINT PRIMARY KEY,
    external_id BIGINT NOT NULL UNIQUE,
    version     BIGINT NOT NULL,
    body        TEXT NOT NULL
);
