-- Handlings of a queued message that never ended. A worker counts the handling in a
-- transaction of its own, committed before the handler runs; a handler that ends (with
-- success, the row is deleted; with an error, the count is taken back) leaves nothing.
-- So the count is the number of times orca died (or lost its lease) while handling the
-- message: a message that kills orca is dead-lettered after a few, instead of killing
-- every restart.
ALTER TABLE orca.queue ADD COLUMN handling integer NOT NULL DEFAULT 0;
