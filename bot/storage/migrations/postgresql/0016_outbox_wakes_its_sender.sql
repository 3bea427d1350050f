-- Whatever queues outbox rows wakes the process that sends them: a NOTIFY on the channel
-- every Relais process LISTENs to (bot/cluster.py), sent by the server when the
-- transaction that queued them commits. It was a statement of its own after the commit:
-- one more round trip and one more transaction waiting for the disk for every update
-- answered, and nothing at all from the command line (a broadcast queued there waited for
-- the sender's next look). Notifications of one transaction are folded into one.
CREATE FUNCTION relais_outbox_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('relais_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_queued AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION relais_outbox_queued();
