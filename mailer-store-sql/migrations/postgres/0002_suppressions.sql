-- The suppression list: addresses an account no longer sends to (unsubscribes, later hard bounces).
-- Addresses are stored lowercase.
CREATE TABLE suppressions (
    account BIGINT NOT NULL,
    address TEXT NOT NULL,
    reason  TEXT NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (account, address)
);
