-- The sender claims the most urgent due rows of one messenger many times a second. This
-- index holds only the rows still waiting, in the order a lane sends them (rank, then
-- first due), so a claim reads the rows it takes and no others: the same cost with 1,000
-- or 200,000 messages waiting.
CREATE INDEX outbox_pending ON outbox(channel, priority, not_before, id)
    WHERE status = 'pending';

-- A broadcast's recipients are queued in short steps, by ranges of volunteer ids, so that
-- nothing else waits long for the database meanwhile. `queue_end` is the highest volunteer
-- id when it started (those who join later are not in it); `queued_through` the highest
-- already queued; queueing is over when they meet (both NULL for broadcasts queued before).
ALTER TABLE broadcasts ADD COLUMN queue_end INTEGER;
ALTER TABLE broadcasts ADD COLUMN queued_through INTEGER;
