DELETE FROM sends WHERE mailbox IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint) AND at < $2
