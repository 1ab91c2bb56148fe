-- The ids (`jti`) of spent one-time widget tokens (mirror of migrations/postgres/0005_kommo_jti.sql): a
-- token is accepted once across every process on this store, and its id is kept until the token's own
-- expiry (`expires_at`, microseconds), after which it is pruned.
CREATE TABLE kommo_jti (
    account    BIGINT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (account, jti)
);
CREATE INDEX kommo_jti_by_expiry ON kommo_jti (expires_at);
