/**
 * The PostgreSQL schema, as numbered migrations applied in order by `court-file-gateway migrate` (see
 * migratePostgres); `cfg_schema_migrations` records which have run. Never edit a migration that has
 * shipped: add a new one. The gateway checks at start that the database is at exactly the version it knows.
 */
export interface Migration {
  version: number
  name: string
  sql: string
}

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
    CREATE TABLE log_entries (
      idx BIGINT PRIMARY KEY,
      leaf BYTEA NOT NULL,
      leaf_hash BYTEA NOT NULL,
      time TEXT NOT NULL,
      actor TEXT,
      org TEXT,
      court TEXT,
      case_no TEXT,
      grant_id TEXT,
      action TEXT NOT NULL,
      decision TEXT NOT NULL,
      phase TEXT NOT NULL,
      intent_ref BIGINT
    );
    CREATE INDEX log_entries_actor ON log_entries (actor, idx);
    CREATE INDEX log_entries_org ON log_entries (org, idx);
    CREATE INDEX log_entries_court ON log_entries (court, idx);
    CREATE INDEX log_entries_case ON log_entries (case_no, idx);
    CREATE INDEX log_entries_grant ON log_entries (grant_id, idx);
    CREATE INDEX log_entries_intent_ref ON log_entries (intent_ref) WHERE intent_ref IS NOT NULL;
    CREATE INDEX log_entries_open_intents ON log_entries (phase, idx) WHERE phase = 'intent';
    -- The day's allowed reads of each person, from which a restarted quota counter starts.
    CREATE INDEX log_entries_intents_by_time ON log_entries (action, time) WHERE phase = 'intent';

    -- Hashes of complete subtrees: (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level).
    CREATE TABLE log_nodes (
      level SMALLINT NOT NULL,
      idx BIGINT NOT NULL,
      hash BYTEA NOT NULL,
      PRIMARY KEY (level, idx)
    );

    CREATE TABLE log_checkpoints (
      size BIGINT PRIMARY KEY,
      root BYTEA NOT NULL,
      text TEXT NOT NULL,
      signed_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    -- The committed size of the log, one row: an append locks it (FOR UPDATE), so appends from any number
    -- of gateway processes are sequenced one after the other, each starting exactly at the committed size.
    CREATE TABLE log_head (
      one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
      size BIGINT NOT NULL CHECK (size >= 0)
    );
    INSERT INTO log_head (one, size) VALUES (true, 0);

    -- Append-only: the log tables refuse every UPDATE, DELETE and TRUNCATE (an upsert's UPDATE included).
    CREATE FUNCTION log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'access log is append-only' USING ERRCODE = 'integrity_constraint_violation';
    END
    $$;
    CREATE TRIGGER log_entries_append_only BEFORE UPDATE OR DELETE ON log_entries
      FOR EACH ROW EXECUTE FUNCTION log_append_only();
    CREATE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries
      FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
    CREATE TRIGGER log_nodes_append_only BEFORE UPDATE OR DELETE ON log_nodes
      FOR EACH ROW EXECUTE FUNCTION log_append_only();
    CREATE TRIGGER log_nodes_no_truncate BEFORE TRUNCATE ON log_nodes
      FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
    CREATE TRIGGER log_checkpoints_append_only BEFORE UPDATE OR DELETE ON log_checkpoints
      FOR EACH ROW EXECUTE FUNCTION log_append_only();
    CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints
      FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();

    -- The head only ever grows, and never past the entries: a size that shrank would let a later append
    -- collide with history (refused by the primary key), one that grew alone would leave a gap.
    CREATE FUNCTION log_head_grows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.size < OLD.size THEN
        RAISE EXCEPTION 'access log head cannot shrink' USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      IF NEW.size > 0 AND NOT EXISTS (SELECT 1 FROM log_entries WHERE idx = NEW.size - 1) THEN
        RAISE EXCEPTION 'access log head beyond its entries' USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      RETURN NEW;
    END
    $$;
    CREATE TRIGGER log_head_grows BEFORE UPDATE ON log_head FOR EACH ROW EXECUTE FUNCTION log_head_grows();
    CREATE TRIGGER log_head_no_delete BEFORE DELETE ON log_head FOR EACH ROW EXECUTE FUNCTION log_append_only();
    CREATE TRIGGER log_head_no_truncate BEFORE TRUNCATE ON log_head
      FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();

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
    CREATE INDEX grants_open ON grants (created_by, org, case_no, supervision_case);

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
    );
    `,
  },
  {
    version: 2,
    name: 'gateway role',
    // The role the gateway runs as (docs/operators.md#postgresql): it may append to the log and read it, but
    // never UPDATE, DELETE or TRUNCATE a log row, whatever happens to the triggers; migrations run as the
    // tables' owner, another role. A role is shared by every database of the server: it is created once.
    sql: `
    DO $$
    BEGIN
      CREATE ROLE cfg_gateway NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END
    $$;
    DO $$
    BEGIN
      EXECUTE format('GRANT USAGE ON SCHEMA %I TO cfg_gateway', current_schema());
    END
    $$;
    GRANT SELECT ON cfg_schema_migrations TO cfg_gateway;
    GRANT SELECT, INSERT ON log_entries, log_nodes, log_checkpoints TO cfg_gateway;
    GRANT SELECT, UPDATE ON log_head TO cfg_gateway;
    GRANT SELECT, INSERT, UPDATE ON grants, adapters, document_reads TO cfg_gateway;
    `,
  },
  {
    version: 3,
    name: 'intent leases',
    // Several processes append to one log, so an intent without an outcome may be a read still in flight on a
    // live peer: only its own process, or a peer once that process's lease has expired, may close it. Neither
    // table is part of the log (nothing of them is signed), so both may be updated and deleted from.
    sql: `
    -- One row per running gateway process, renewed while it lives; expired rows are presumed dead processes.
    -- Times are the processes' own clocks: the lease's length must exceed the skew between their hosts.
    CREATE TABLE gateway_instances (
      instance TEXT PRIMARY KEY,
      started_at TIMESTAMPTZ NOT NULL,
      renewed_at TIMESTAMPTZ NOT NULL,
      expires_at TIMESTAMPTZ NOT NULL
    );

    -- Every intent without an outcome and the process that appended it: inserted in the intent's
    -- transaction, deleted in its outcome's. An outcome whose row is gone is refused, so an intent is closed
    -- once, whether by its process or by a peer that found that process's lease expired.
    CREATE TABLE open_intents (
      idx BIGINT PRIMARY KEY,
      instance TEXT NOT NULL
    );
    CREATE INDEX open_intents_instance ON open_intents (instance);

    -- Intents already open were appended by processes that held no lease (the empty instance): the first
    -- gateway to start on this schema closes them as interrupted.
    INSERT INTO open_intents (idx, instance)
      SELECT e.idx, '' FROM log_entries e WHERE e.phase = 'intent'
        AND NOT EXISTS (SELECT 1 FROM log_entries o WHERE o.intent_ref = e.idx);

    GRANT SELECT, INSERT, UPDATE, DELETE ON gateway_instances, open_intents TO cfg_gateway;
    `,
  },
  {
    version: 4,
    name: 'one-round-trip append and the sequencer',
    // An append of a batch without state changes in one statement (src/accesslog/postgres-store.ts): the
    // rows first, the head last. The head's row lock is then held only from the UPDATE to the end of the
    // COMMIT, so the next batch of the same sequencer inserts its rows while this one's WAL is flushed, and
    // the head still moves only from exactly the size (and the last leaf) the batch was built on: a batch
    // built on one that failed, or on a tree another process extended, is refused whole.
    sql: `
    CREATE FUNCTION log_append(
      first BIGINT, prev BYTEA,
      -- The leaves end to end, where each ends, and their hashes end to end (32 bytes each): bytes sent as
      -- they are, not as hex text in arrays.
      leaf_bytes BYTEA, leaf_ends INTEGER[], leaf_hashes BYTEA,
      times TEXT[], actors TEXT[], orgs TEXT[], courts TEXT[], case_nos TEXT[], grant_ids TEXT[], actions TEXT[],
      decisions TEXT[], phases TEXT[], intent_refs BIGINT[],
      node_levels SMALLINT[], node_idxs BIGINT[], node_hashes BYTEA,
      opened BIGINT[], opened_by TEXT[], closed BIGINT[], closed_at BIGINT[]
    ) RETURNS VOID LANGUAGE plpgsql AS $$
    DECLARE
      conflict BIGINT;
      found_prev BYTEA;
      head BIGINT;
      tries INTEGER := 0;
      -- Advisory locks of this schema's log, one per index at which a batch ends (the next one starts).
      space BIGINT := hashtext(current_schema())::BIGINT << 32;
    BEGIN
      -- Shared by the pipelined batches in flight: a batch that takes the head lock first (one with state
      -- changes, or from a process that does not sequence) takes this one alone before it, so that it never
      -- waits for rows a pipelined batch inserted while that batch waits for the head (a deadlock).
      PERFORM pg_advisory_xact_lock_shared(1667655427, hashtext(current_schema()));
      -- Held to the end of this transaction: the batch that starts where this one ends waits for it below.
      PERFORM pg_advisory_xact_lock(space | ((first + cardinality(leaf_ends)) & 4294967295));
      INSERT INTO log_entries
        (idx, leaf, leaf_hash, time, actor, org, court, case_no, grant_id, action, decision, phase, intent_ref)
        SELECT first + o.n - 1,
          substring(leaf_bytes FROM coalesce(leaf_ends[o.n - 1], 0) + 1 FOR r.e - coalesce(leaf_ends[o.n - 1], 0)),
          substring(leaf_hashes FROM (o.n - 1) * 32 + 1 FOR 32),
          r.time, r.actor, r.org, r.court, r.case_no, r.grant_id, r.action, r.decision, r.phase, r.intent_ref
        FROM unnest(leaf_ends, times, actors, orgs, courts, case_nos, grant_ids, actions, decisions, phases,
          intent_refs) WITH ORDINALITY
          AS r(e, time, actor, org, court, case_no, grant_id, action, decision, phase, intent_ref, ord)
        CROSS JOIN LATERAL (SELECT r.ord::INTEGER AS n) AS o;
      INSERT INTO log_nodes (level, idx, hash)
        SELECT x.level, x.idx, substring(node_hashes FROM (x.n::INTEGER - 1) * 32 + 1 FOR 32)
        FROM unnest(node_levels, node_idxs) WITH ORDINALITY AS x(level, idx, n);
      -- Intent leases: the intents now open and the process that owns each, and the intents the outcomes
      -- close. An outcome whose intent is not open (closed already, or twice in this batch) refuses the batch,
      -- naming the first such outcome: an intent never gets two outcomes.
      INSERT INTO open_intents (idx, instance) SELECT * FROM unnest(opened, opened_by);
      IF cardinality(closed) > 0 THEN
        WITH gone AS (DELETE FROM open_intents WHERE idx = ANY(closed) RETURNING idx),
        wanted AS (SELECT w.intent, w.at, row_number() OVER (PARTITION BY w.intent ORDER BY w.at) AS n
          FROM unnest(closed, closed_at) AS w(intent, at))
        SELECT min(w.at) INTO conflict FROM wanted w
          WHERE w.n > 1 OR NOT EXISTS (SELECT 1 FROM gone g WHERE g.idx = w.intent);
        IF conflict IS NOT NULL THEN
          RAISE EXCEPTION 'the intent closed at % already has an outcome', conflict
            USING ERRCODE = 'CFG01', DETAIL = conflict::text;
        END IF;
      END IF;
      -- Waits for the batch before (the lock it holds to its end; taken and given back at once, so that this
      -- wait never holds that batch up), then moves the head on only from the size this batch starts at.
      -- The batch before was sent first, but on a loaded server its statement may not have started yet: while
      -- the head is behind, this waits a little and looks again, up to about a second, then gives up.
      LOOP
        PERFORM pg_advisory_lock_shared(space | (first & 4294967295));
        PERFORM pg_advisory_unlock_shared(space | (first & 4294967295));
        UPDATE log_head SET size = first + cardinality(leaf_ends) WHERE size = first;
        EXIT WHEN FOUND;
        SELECT size INTO head FROM log_head;
        tries := tries + 1;
        IF head > first OR tries > 500 THEN
          RAISE EXCEPTION 'append at % but the log head is at %', first, head
            USING ERRCODE = 'CFG02', DETAIL = head::text;
        END IF;
        PERFORM pg_sleep(0.002);
      END LOOP;
      IF prev IS NOT NULL THEN
        SELECT leaf_hash INTO found_prev FROM log_entries WHERE idx = first - 1;
        IF found_prev IS DISTINCT FROM prev THEN
          RAISE EXCEPTION 'append at % is built on another leaf than the one stored there', first
            USING ERRCODE = 'CFG02', DETAIL = first::text;
        END IF;
      END IF;
    END
    $$;
    GRANT EXECUTE ON FUNCTION log_append TO cfg_gateway;

    -- The process that sequences the log's appends for the others (src/accesslog/sequencer.ts): elected by
    -- a session advisory lock, it names here where the others forward their entries and the secret they
    -- prove they hold. Not part of the log: nothing of it is signed, and a stale row only costs a failed
    -- connection (every batch is still checked against the head).
    CREATE TABLE log_sequencer (
      one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
      instance TEXT NOT NULL,
      address TEXT NOT NULL,
      secret TEXT NOT NULL,
      since TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    GRANT SELECT, INSERT, UPDATE ON log_sequencer TO cfg_gateway;
    `,
  },
]
