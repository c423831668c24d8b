-- The outbox keeps every item it has sent, so an index over all states
-- grows without end while workers only look for the pending ones. Partial
-- indexes hold just the items still waiting (by kind, in the order they are
-- claimed) and the dead letters an operator must look at; they stay small
-- however long the history.
DROP INDEX outbox_due;
CREATE INDEX outbox_pending ON outbox(kind, next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_dead ON outbox(id) WHERE state = 'dead';
