import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { SqliteLogStore, type SqliteLogStoreOptions } from '../accesslog/sqlite-store.js'
import { SqliteAdapterStore } from '../adapters/sqlite-store.js'
import { SqliteGrantStore } from '../grants/sqlite-store.js'
import type { Storage } from './storage.js'

export type SqliteDatabase = Database.Database

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many have run. Never edit a
 * migration that has shipped: add a new one.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE log_entries (
    idx INTEGER PRIMARY KEY,
    leaf BLOB NOT NULL,
    leaf_hash BLOB NOT NULL,
    time TEXT NOT NULL,
    actor TEXT,
    org TEXT,
    court TEXT,
    case_no TEXT,
    grant_id TEXT,
    action TEXT NOT NULL,
    decision TEXT NOT NULL,
    phase TEXT NOT NULL,
    intent_ref INTEGER
  );
  CREATE INDEX log_entries_actor ON log_entries (actor, idx);
  CREATE INDEX log_entries_org ON log_entries (org, idx);
  CREATE INDEX log_entries_court ON log_entries (court, idx);
  CREATE INDEX log_entries_case ON log_entries (case_no, idx);
  CREATE INDEX log_entries_grant ON log_entries (grant_id, idx);
  CREATE INDEX log_entries_intent_ref ON log_entries (intent_ref) WHERE intent_ref IS NOT NULL;
  CREATE INDEX log_entries_open_intents ON log_entries (phase, idx) WHERE phase = 'intent';

  -- Hashes of complete subtrees: (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level).
  CREATE TABLE log_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
  ) WITHOUT ROWID;

  CREATE TABLE log_checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    text TEXT NOT NULL,
    signed_at TEXT NOT NULL
  );

  -- Append-only: the log tables refuse every UPDATE and DELETE.
  CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
  CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
  CREATE TRIGGER log_nodes_no_update BEFORE UPDATE ON log_nodes BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
  CREATE TRIGGER log_nodes_no_delete BEFORE DELETE ON log_nodes BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
  CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
  CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;

  CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    org TEXT NOT NULL,
    created_by TEXT NOT NULL,
    court TEXT NOT NULL,
    case_no TEXT NOT NULL,
    supervision_case TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL
  );
  CREATE INDEX grants_org ON grants (org, created_at);

  CREATE TABLE adapters (
    id TEXT PRIMARY KEY,
    court TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL
  );

  CREATE TABLE document_reads (
    reader TEXT NOT NULL,
    day TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (reader, day)
  ) WITHOUT ROWID;
  `,
  // 2: INSERT OR REPLACE (or REPLACE) deletes the row it replaces without firing DELETE triggers, so the
  // append-only triggers of version 1 let it rewrite history. Refuse any insert whose key already exists,
  // before a conflict clause can apply (RAISE also overrides OR IGNORE: insert-if-absent must test first).
  `
  CREATE TRIGGER log_entries_no_replace BEFORE INSERT ON log_entries
    WHEN EXISTS (SELECT 1 FROM log_entries WHERE idx = NEW.idx)
    BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
  CREATE TRIGGER log_nodes_no_replace BEFORE INSERT ON log_nodes
    WHEN EXISTS (SELECT 1 FROM log_nodes WHERE level = NEW.level AND idx = NEW.idx)
    BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
  CREATE TRIGGER log_checkpoints_no_replace BEFORE INSERT ON log_checkpoints
    WHEN EXISTS (SELECT 1 FROM log_checkpoints WHERE size = NEW.size)
    BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
  `,
  // 3: the indexes of log_entries leave the durable commit (src/accesslog/sqlite-filters.ts): seven of a
  // single-entry commit's eleven WAL pages were theirs. log_filters is filled from log_entries in batches.
  `
  CREATE TABLE log_filters (
    idx INTEGER PRIMARY KEY,
    actor TEXT,
    org TEXT,
    court TEXT,
    case_no TEXT,
    grant_id TEXT,
    phase TEXT NOT NULL,
    intent_ref INTEGER
  );
  CREATE INDEX log_filters_actor ON log_filters (actor, idx);
  CREATE INDEX log_filters_org ON log_filters (org, idx);
  CREATE INDEX log_filters_court ON log_filters (court, idx);
  CREATE INDEX log_filters_case ON log_filters (case_no, idx);
  CREATE INDEX log_filters_grant ON log_filters (grant_id, idx);
  CREATE INDEX log_filters_intents ON log_filters (idx) WHERE phase = 'intent';
  CREATE INDEX log_filters_intent_ref ON log_filters (intent_ref) WHERE intent_ref IS NOT NULL;
  CREATE TRIGGER log_filters_no_update BEFORE UPDATE ON log_filters BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
  CREATE TRIGGER log_filters_no_delete BEFORE DELETE ON log_filters BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
  INSERT INTO log_filters (idx, actor, org, court, case_no, grant_id, phase, intent_ref)
    SELECT idx, actor, org, court, case_no, grant_id, phase, intent_ref FROM log_entries ORDER BY idx;
  DROP INDEX log_entries_actor;
  DROP INDEX log_entries_org;
  DROP INDEX log_entries_court;
  DROP INDEX log_entries_case;
  DROP INDEX log_entries_grant;
  DROP INDEX log_entries_intent_ref;
  DROP INDEX log_entries_open_intents;
  `,
  // 4: a tree node's key is the last leaf it covers, then its level (src/accesslog/sqlite-nodes.ts, lastLeafOf):
  // the nodes one append completes all end at its leaf, so they are neighbours on one page at the end of the
  // table, rather than one page per level as with (level, idx). They were 2.8 of a single-entry commit's 5.2 WAL
  // pages. (idx is not kept: it is (last_leaf + 1) / 2^level - 1.)
  `
  CREATE TABLE log_nodes_by_last_leaf (
    last_leaf INTEGER NOT NULL,
    level INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (last_leaf, level)
  ) WITHOUT ROWID;
  INSERT INTO log_nodes_by_last_leaf (last_leaf, level, hash)
    SELECT ((idx + 1) << level) - 1, level, hash FROM log_nodes ORDER BY 1, 2;
  DROP TABLE log_nodes;
  ALTER TABLE log_nodes_by_last_leaf RENAME TO log_nodes;
  CREATE TRIGGER log_nodes_no_update BEFORE UPDATE ON log_nodes BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
  CREATE TRIGGER log_nodes_no_delete BEFORE DELETE ON log_nodes BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
  CREATE TRIGGER log_nodes_no_replace BEFORE INSERT ON log_nodes
    WHEN EXISTS (SELECT 1 FROM log_nodes WHERE last_leaf = NEW.last_leaf AND level = NEW.level)
    BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
  `,
]

/**
 * Opens (creating if needed) the gateway's SQLite file. WAL lets readers run beside the single writer;
 * synchronous=FULL makes every commit durable (fsync) before it returns, which the access log relies on.
 */
export function openSqlite(path: string, migrations: readonly string[] = SQLITE_MIGRATIONS): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('foreign_keys = ON')
  // better-sqlite3 waits synchronously: a long busy wait would freeze every request, so give up after 1 s
  // (nothing else writes this file in normal operation; a lock held longer is a fault to report).
  db.pragma('busy_timeout = 1000')
  migrate(db, migrations)
  return db
}

function migrate(db: SqliteDatabase, migrations: readonly string[]): void {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > migrations.length) {
    throw new Error(`database schema version ${current} is newer than this gateway (${migrations.length})`)
  }
  for (let version = current; version < migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version]!)
      db.pragma(`user_version = ${version + 1}`)
    })()
  }
}

/** The stores of one SQLite file (see Storage), and its connection for the stores not yet behind Storage. */
export function openSqliteStorage(
  path: string,
  options: SqliteLogStoreOptions = {},
): Storage & { readonly db: SqliteDatabase; readonly log: SqliteLogStore } {
  const db = openSqlite(path)
  const log = new SqliteLogStore(db, options)
  return {
    db,
    log,
    grants: new SqliteGrantStore(db),
    adapters: new SqliteAdapterStore(db),
    async close() {
      await log.close()
      db.close()
    },
  }
}
