SELECT nextval(pg_get_serial_sequence('emails', 'id')) FROM generate_series(1, $1)
