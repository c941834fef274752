-- echo: accepted events (the durable queue of deliveries), the claims of
-- cron slots (one fire per slot across instances) and the notification
-- outbox. Times are epoch milliseconds of the writing instance's clock.
CREATE TABLE IF NOT EXISTS echo.events (
  id text PRIMARY KEY,
  idempotency_key text UNIQUE,            -- NULL when the client gave none
  type text NOT NULL,
  source text NOT NULL DEFAULT '',
  application text NOT NULL DEFAULT '',
  created_at bigint NOT NULL,             -- details.created
  accepted_at bigint NOT NULL,
  state text NOT NULL,                    -- ACCEPTED, DELIVERED, FAILED, IGNORED
  body text NOT NULL,                     -- the event JSON
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL DEFAULT 0,
  claimed_by text NOT NULL DEFAULT '',
  claim_expires_at bigint NOT NULL DEFAULT 0,
  error text NOT NULL DEFAULT '',
  executions text NOT NULL DEFAULT '[]',  -- [{id, application}]
  updated_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS events_pending ON echo.events (next_attempt_at)
  WHERE state = 'ACCEPTED';
CREATE INDEX IF NOT EXISTS events_recent ON echo.events (accepted_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS echo.cron_slots (
  trigger_id text NOT NULL,
  pipeline_id text NOT NULL,
  slot_at bigint NOT NULL,
  claimed_by text NOT NULL,
  claimed_at bigint NOT NULL,
  event_id text NOT NULL,
  PRIMARY KEY (trigger_id, pipeline_id, slot_at)
);

CREATE TABLE IF NOT EXISTS echo.notifications (
  id text PRIMARY KEY,
  group_id text NOT NULL,                 -- event id, or the direct notification id
  idempotency_key text UNIQUE,            -- direct notifications: "<key>#<n>"
  type text NOT NULL,
  message text NOT NULL,                  -- the rendered message JSON
  state text NOT NULL,                    -- PENDING, SENT, FAILED
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL DEFAULT 0,
  claimed_by text NOT NULL DEFAULT '',
  claim_expires_at bigint NOT NULL DEFAULT 0,
  error text NOT NULL DEFAULT '',
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_pending ON echo.notifications (next_attempt_at)
  WHERE state = 'PENDING';
CREATE INDEX IF NOT EXISTS notifications_group ON echo.notifications (group_id);
