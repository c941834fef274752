-- kayenta's records: canary configs, canary executions, standalone analyses and metric set pair
-- lists. Each table keeps the JSON body plus the columns kayenta queries on; see
-- services/kayenta/store/kayenta_store.h.
CREATE TABLE kayenta.canary_configs (
  id              text   PRIMARY KEY,
  application     text   NOT NULL DEFAULT '',
  name            text   NOT NULL DEFAULT '',
  applications    text   NOT NULL DEFAULT '[]', -- JSON array of application names
  status          text   NOT NULL DEFAULT '',
  idempotency_key text   NOT NULL DEFAULT '',
  body            text   NOT NULL,
  created_at      bigint NOT NULL,
  updated_at      bigint NOT NULL,
  version         bigint NOT NULL
);
CREATE TABLE kayenta.canary_executions (LIKE kayenta.canary_configs INCLUDING ALL);
CREATE TABLE kayenta.canary_analyses (LIKE kayenta.canary_configs INCLUDING ALL);
CREATE TABLE kayenta.metric_set_pair_lists (LIKE kayenta.canary_configs INCLUDING ALL);

-- A retried create with the same key finds the first record.
CREATE UNIQUE INDEX canary_configs_idem ON kayenta.canary_configs (idempotency_key)
  WHERE idempotency_key <> '';
CREATE UNIQUE INDEX canary_executions_idem ON kayenta.canary_executions (idempotency_key)
  WHERE idempotency_key <> '';
CREATE UNIQUE INDEX canary_analyses_idem ON kayenta.canary_analyses (idempotency_key)
  WHERE idempotency_key <> '';
CREATE UNIQUE INDEX metric_set_pair_lists_idem ON kayenta.metric_set_pair_lists (idempotency_key)
  WHERE idempotency_key <> '';

CREATE INDEX canary_executions_by_app ON kayenta.canary_executions (application, created_at DESC);
CREATE INDEX canary_executions_by_status ON kayenta.canary_executions (status);
CREATE INDEX canary_analyses_by_status ON kayenta.canary_analyses (status);
CREATE INDEX metric_set_pair_lists_by_time ON kayenta.metric_set_pair_lists (created_at DESC);
