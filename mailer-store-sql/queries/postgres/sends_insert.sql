INSERT INTO sends (mailbox, at) SELECT jsonb_array_elements_text($1::jsonb)::bigint, $2
