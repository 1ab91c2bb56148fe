-- One row: the store repeats the row tuple (renumbering its parameters) to insert many rows at once, in
-- order. `link` is the link id of a click, NULL for other events. No row conflicts (the id is new).
INSERT INTO events (account, email, entity, at, link, body)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT DO NOTHING
