-- Recording an agency's answer rewrites the delivery and touches its filing.
-- Every index on a column such a write changes is written again with it.
-- No query looks deliveries up by protocol (the desk's search matches
-- protocols within each filing's deliveries), so that index only costs.
-- The desk sorts a user's few filings by last change in memory, so the
-- owner's index need not hold updated_at, which every answer changes.
DROP INDEX deliveries_protocol;
DROP INDEX filings_owner;
CREATE INDEX filings_owner ON filings(owner_id);
