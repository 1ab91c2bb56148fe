-- One row: the store repeats the row tuple to insert a batch's distinct contents at once.
INSERT INTO email_contents (account, digest, content) VALUES ($1, $2, $3)
ON CONFLICT (account, digest) DO NOTHING
