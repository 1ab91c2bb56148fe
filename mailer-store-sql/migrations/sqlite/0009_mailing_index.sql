-- `emails_by_mailing` without the status. SQLite rewrites an index entry whenever a column the index names
-- changes, and an email's status changes twice on its way out (claimed, then sent). With many mailings
-- sending at once, every claim and every group of completions rewrote one page of this index per mailing
-- it touched: about a third of the WAL written per email, and about 10 % of the whole pipeline's
-- throughput (benches/pipeline_throughput.sh, 20 mailings). An index on the mailing alone is written once,
-- when the email is queued. A mailing's counts by status (its progress view) and the cancel of its queued
-- emails now read the mailing's rows through it instead of the index alone.
DROP INDEX emails_by_mailing;
CREATE INDEX emails_by_mailing ON emails (mailing);
