-- front50's objects: one table for every kind (the JSON body plus the columns we query on),
-- and the history of every version written. See services/front50/store/object_store.h.
CREATE TABLE front50.objects (
  kind        text    NOT NULL,
  id          text    NOT NULL,           -- lower-cased key
  name        text    NOT NULL DEFAULT '',
  application text    NOT NULL DEFAULT '', -- lower-cased owning application
  body        text    NOT NULL,           -- JSON, exactly as saved
  created_at  bigint  NOT NULL,
  created_by  text    NOT NULL,
  updated_at  bigint  NOT NULL,
  updated_by  text    NOT NULL,
  version     bigint  NOT NULL,
  deleted     boolean NOT NULL DEFAULT false,
  PRIMARY KEY (kind, id)
);

-- Names of live pipelines, strategies and projects are unique per application ignoring case;
-- the index makes concurrent duplicate saves fail atomically.
CREATE UNIQUE INDEX objects_unique_name ON front50.objects (kind, application, lower(name))
  WHERE NOT deleted AND kind IN ('pipeline', 'strategy', 'project');
CREATE INDEX objects_by_application ON front50.objects (kind, application) WHERE NOT deleted;

CREATE TABLE front50.object_history (
  kind        text    NOT NULL,
  id          text    NOT NULL,
  version     bigint  NOT NULL,
  name        text    NOT NULL,
  application text    NOT NULL,
  body        text    NOT NULL,
  updated_at  bigint  NOT NULL,
  updated_by  text    NOT NULL,
  deleted     boolean NOT NULL,
  recorded_at bigint  NOT NULL,
  PRIMARY KEY (kind, id, version)
);
