-- Up Migration

-- Keys of the HTTP API (README "HTTP API"). Only the SHA-256 of a key is stored: the key itself
-- is printed once by `rebound api-keys create` and cannot be recovered from this table. A
-- request is authorised by hashing the key it presents and looking the hash up. A revoked key
-- keeps its row (who had access, and until when) and no longer authorises anything.
CREATE TABLE api_keys (
  id          text        PRIMARY KEY,
  name        text        NOT NULL,
  scope       text        NOT NULL CHECK (scope IN ('send', 'read', 'admin')),
  key_hash    bytea       NOT NULL UNIQUE CHECK (length(key_hash) = 32),
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

-- Down Migration
DROP TABLE api_keys;
