-- orca's executions and its durable message queue. See services/orca/engine/store.h.
-- An execution is one JSON document (Spinnaker's shape); the columns are what we query on.
CREATE TABLE orca.executions (
  id             text    PRIMARY KEY,
  type           text    NOT NULL,           -- PIPELINE | ORCHESTRATION
  application    text    NOT NULL,
  config_id      text,                       -- pipelineConfigId
  status         text    NOT NULL,
  waiting        boolean NOT NULL DEFAULT false,  -- queued by limitConcurrent / max
  build_time     bigint  NOT NULL,
  correlation_id text    UNIQUE,
  body           text    NOT NULL
);
CREATE INDEX executions_by_app ON orca.executions (application, type, build_time DESC);
CREATE INDEX executions_by_config ON orca.executions (config_id, build_time DESC);
CREATE INDEX executions_waiting ON orca.executions (config_id, build_time) WHERE waiting;
CREATE INDEX executions_unfinished ON orca.executions (config_id)
  WHERE status IN ('RUNNING', 'PAUSED');

-- One row per distinct pending message. The fingerprint (md5 of the message JSON) makes a
-- second push of an identical message only move its delivery time. A claimed row is locked
-- FOR UPDATE, together with its execution, until the handler's transaction ends.
CREATE TABLE orca.queue (
  id           bigserial PRIMARY KEY,
  fingerprint  text    NOT NULL UNIQUE,
  execution_id text    NOT NULL,
  body         text    NOT NULL,
  deliver_at   bigint  NOT NULL,             -- epoch ms
  enqueued_at  bigint  NOT NULL,
  attempts     integer NOT NULL DEFAULT 0
);
CREATE INDEX queue_by_delivery ON orca.queue (deliver_at);
CREATE INDEX queue_by_execution ON orca.queue (execution_id);

-- Messages whose handler kept failing.
CREATE TABLE orca.dead_letters (
  id           bigserial PRIMARY KEY,
  execution_id text    NOT NULL,
  body         text    NOT NULL,
  error        text    NOT NULL,
  at           bigint  NOT NULL
);
