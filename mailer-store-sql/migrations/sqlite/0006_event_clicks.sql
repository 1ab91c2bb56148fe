-- Clicks by email, link and moment (mirror of migrations/postgres/0007_event_clicks.sql): the honeypot rule
-- looks back at an email's honeypot clicks on every tracking hit (`Store::clicks_since`, queries/*/
-- events_clicks.sql). A partial index holds clicks only, so the look-back reads those and not every event
-- of the email (opens included), however many the email has gathered.
CREATE INDEX events_clicks ON events (email, json_extract(body, '$.kind.link'), at)
    WHERE json_extract(body, '$.kind.event') = 'clicked';
