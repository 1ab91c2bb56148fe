-- Clicks by email, link and moment (mirror of migrations/sqlite/0006_event_clicks.sql): the honeypot rule
-- looks back at an email's honeypot clicks on every tracking hit (`Store::clicks_since`, queries/*/
-- events_clicks.sql). A click's link id is kept in its own column (NULL for every other event), and a
-- partial index holds clicks only, so the look-back reads those and not every event of the email (opens
-- included).
ALTER TABLE events ADD COLUMN link BIGINT;
UPDATE events SET link = (body -> 'kind' ->> 'link')::bigint WHERE body -> 'kind' ->> 'event' = 'clicked';
CREATE INDEX events_clicks ON events (email, link, at) WHERE link IS NOT NULL;
