-- Clicks by email, link and moment (mirror of migrations/postgres/0007_event_clicks.sql): the honeypot rule
-- looks back at an email's honeypot clicks on every tracking hit (`Store::clicks_since`, queries/*/
-- events_clicks.sql). A click's link id is kept in its own column (NULL for every other event), and a
-- partial index holds clicks only, so the look-back reads those and not every event of the email (opens
-- included), and writing an event parses no JSON.
ALTER TABLE events ADD COLUMN link BIGINT;
UPDATE events SET link = json_extract(body, '$.kind.link') WHERE json_extract(body, '$.kind.event') = 'clicked';
CREATE INDEX events_clicks ON events (email, link, at) WHERE link IS NOT NULL;
