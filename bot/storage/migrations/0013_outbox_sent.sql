-- A process that takes over sending a messenger's outbox (its sender was killed) starts
-- from the last second's sends, so that it keeps Telegram's limits across the change:
-- this index finds them without reading the whole outbox. Only rows that were sent (or
-- failed) are in it.
CREATE INDEX outbox_sent ON outbox(channel, sent_at) WHERE sent_at IS NOT NULL;
