-- MiMoLo team store, version 1: hosts, records (partitioned by month), checkpoints,
-- review entries, sync state, chain breaks; the writer and reader roles and their
-- row-level security (docs/team.md). Applied once, in a transaction, by
-- `mimolo team init-db`; everything lives in the schema `mimolo`.

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mimolo_writer') THEN
        CREATE ROLE mimolo_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mimolo_reader') THEN
        CREATE ROLE mimolo_reader NOLOGIN;
    END IF;
END
$roles$;

GRANT USAGE ON SCHEMA mimolo TO mimolo_writer, mimolo_reader;

-- One row per machine: its host key's id (16 hex of SHA-256 of the raw Ed25519 public
-- key, trust/host_ed25519.pub), the machine's name and the person who works on it.
CREATE TABLE mimolo.hosts (
    host_id     text PRIMARY KEY CHECK (host_id ~ '^[0-9a-f]{16}$'),
    host_name   text NOT NULL,
    person      text NOT NULL DEFAULT '',
    public_key  text NOT NULL,              -- PEM (SubjectPublicKeyInfo)
    added_at    timestamptz NOT NULL DEFAULT now()
);

-- Which login role writes for which host: the key of every writer policy.
CREATE TABLE mimolo.host_writers (
    role_name   text PRIMARY KEY,
    host_id     text NOT NULL REFERENCES mimolo.hosts (host_id)
);

-- The host the current role writes for (NULL for any other role). Used as an InitPlan,
-- `(SELECT mimolo.writer_host_id())`, so a batch evaluates it once.
CREATE FUNCTION mimolo.writer_host_id() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT host_id FROM mimolo.host_writers WHERE role_name = current_user::text
$$;

-- Ledger records, one row per line of a host's evidence day files.
CREATE TABLE mimolo.records (
    host_id         text NOT NULL,
    seq             bigint NOT NULL,
    id              text NOT NULL,
    received_at     timestamptz NOT NULL,
    plugin_id       text NOT NULL,
    instance_id     text NOT NULL,
    instance_label  text NOT NULL,
    record          jsonb,                  -- NULL only when jsonb cannot hold it (\u0000)
    line            text NOT NULL,          -- the ledger line exactly, without its newline
    prev            text,                   -- NULL for records from before the chain
    hash            text,
    shipped_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (host_id, seq, received_at)
) PARTITION BY RANGE (received_at);

CREATE INDEX records_received_at ON mimolo.records USING brin (received_at);

-- Creates the month partition that holds `at` when it is missing. SECURITY DEFINER: the
-- writers create partitions on demand without any CREATE privilege of their own.
CREATE FUNCTION mimolo.ensure_month(at timestamptz) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    first_day date := date_trunc('month', at AT TIME ZONE 'UTC')::date;
    part text := format('records_y%sm%s', to_char(first_day, 'YYYY'), to_char(first_day, 'MM'));
BEGIN
    IF to_regclass(format('mimolo.%I', part)) IS NOT NULL THEN
        RETURN part;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('mimolo.ensure_month'));
    BEGIN
        EXECUTE format(
            'CREATE TABLE mimolo.%I PARTITION OF mimolo.records FOR VALUES FROM (%L) TO (%L)',
            part,
            (first_day::timestamp AT TIME ZONE 'UTC'),
            ((first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC')
        );
    EXCEPTION WHEN duplicate_table THEN
        NULL;  -- another writer made it between our look and our lock
    END;
    RETURN part;
END
$$;
REVOKE ALL ON FUNCTION mimolo.ensure_month(timestamptz) FROM PUBLIC;

-- Signed chain checkpoints (operations/evidence/YYYY/YYYYMMDD.checkpoint.json entries),
-- each checked against the host's public key on arrival.
CREATE TABLE mimolo.checkpoints (
    host_id       text NOT NULL REFERENCES mimolo.hosts (host_id),
    entry_hash    text NOT NULL,            -- sha256 of the entry's canonical bytes with sig
    day           date NOT NULL,
    kind          text NOT NULL,
    seq           bigint NOT NULL,
    hash          text NOT NULL,
    signed_at     timestamptz,
    key_id        text NOT NULL,
    signature_ok  boolean NOT NULL,
    doc           jsonb NOT NULL,
    shipped_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (host_id, entry_hash)
);
CREATE INDEX checkpoints_host_seq ON mimolo.checkpoints (host_id, seq);

-- The review layer's append-only files (operations/review/<kind>.jsonl): one row per
-- line, keyed by the line's own `id`.
CREATE TABLE mimolo.review_entries (
    host_id     text NOT NULL REFERENCES mimolo.hosts (host_id),
    kind        text NOT NULL,              -- the file's stem: adjustments, invoices
    id          text NOT NULL,
    line_no     bigint NOT NULL,            -- 1-based line number in the host's file
    doc         jsonb,
    line        text NOT NULL,
    shipped_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (host_id, kind, id)
);

-- Per host: the last record the store has acknowledged (the shipper resumes after it).
CREATE TABLE mimolo.sync_state (
    host_id           text PRIMARY KEY REFERENCES mimolo.hosts (host_id),
    last_seq          bigint NOT NULL DEFAULT 0,
    last_hash         text,
    last_received_at  timestamptz,
    records           bigint NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- What verification on arrival found wrong with a host's chain. Records are never
-- dropped for it: a flagged record is stored like any other.
CREATE TABLE mimolo.chain_breaks (
    break_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id      text NOT NULL REFERENCES mimolo.hosts (host_id),
    seq          bigint,
    kind         text NOT NULL,             -- edited, unlinked, gap, out_of_order, unreadable, rewritten
    detail       text NOT NULL,
    expected     text,
    found        text,                      -- for unreadable: the line's sha256
    line         bytea,                     -- an unreadable line's bytes (others are in records)
    detected_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (host_id, seq, kind, found)   -- a replay flags nothing twice
);

-- Privileges: writers insert (and read back) their own host's rows only; readers read all.
GRANT SELECT ON mimolo.hosts, mimolo.host_writers, mimolo.records, mimolo.checkpoints,
    mimolo.review_entries, mimolo.sync_state, mimolo.chain_breaks, mimolo.schema_version
    TO mimolo_reader, mimolo_writer;
GRANT INSERT ON mimolo.records, mimolo.checkpoints, mimolo.review_entries,
    mimolo.chain_breaks TO mimolo_writer;
GRANT INSERT, UPDATE ON mimolo.sync_state TO mimolo_writer;
GRANT EXECUTE ON FUNCTION mimolo.ensure_month(timestamptz) TO mimolo_writer;

ALTER TABLE mimolo.hosts ENABLE ROW LEVEL SECURITY;
ALTER TABLE mimolo.host_writers ENABLE ROW LEVEL SECURITY;
ALTER TABLE mimolo.records ENABLE ROW LEVEL SECURITY;
ALTER TABLE mimolo.checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE mimolo.review_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE mimolo.sync_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE mimolo.chain_breaks ENABLE ROW LEVEL SECURITY;

CREATE POLICY reader_all ON mimolo.hosts FOR SELECT TO mimolo_reader USING (true);
CREATE POLICY reader_all ON mimolo.host_writers FOR SELECT TO mimolo_reader USING (true);
CREATE POLICY reader_all ON mimolo.records FOR SELECT TO mimolo_reader USING (true);
CREATE POLICY reader_all ON mimolo.checkpoints FOR SELECT TO mimolo_reader USING (true);
CREATE POLICY reader_all ON mimolo.review_entries FOR SELECT TO mimolo_reader USING (true);
CREATE POLICY reader_all ON mimolo.sync_state FOR SELECT TO mimolo_reader USING (true);
CREATE POLICY reader_all ON mimolo.chain_breaks FOR SELECT TO mimolo_reader USING (true);

CREATE POLICY writer_self ON mimolo.host_writers FOR SELECT TO mimolo_writer
    USING (role_name = current_user::text);
CREATE POLICY writer_own_host ON mimolo.hosts FOR SELECT TO mimolo_writer
    USING (host_id = (SELECT mimolo.writer_host_id()));
CREATE POLICY writer_own_host ON mimolo.records FOR ALL TO mimolo_writer
    USING (host_id = (SELECT mimolo.writer_host_id()))
    WITH CHECK (host_id = (SELECT mimolo.writer_host_id()));
CREATE POLICY writer_own_host ON mimolo.checkpoints FOR ALL TO mimolo_writer
    USING (host_id = (SELECT mimolo.writer_host_id()))
    WITH CHECK (host_id = (SELECT mimolo.writer_host_id()));
CREATE POLICY writer_own_host ON mimolo.review_entries FOR ALL TO mimolo_writer
    USING (host_id = (SELECT mimolo.writer_host_id()))
    WITH CHECK (host_id = (SELECT mimolo.writer_host_id()));
CREATE POLICY writer_own_host ON mimolo.sync_state FOR ALL TO mimolo_writer
    USING (host_id = (SELECT mimolo.writer_host_id()))
    WITH CHECK (host_id = (SELECT mimolo.writer_host_id()));
CREATE POLICY writer_own_host ON mimolo.chain_breaks FOR ALL TO mimolo_writer
    USING (host_id = (SELECT mimolo.writer_host_id()))
    WITH CHECK (host_id = (SELECT mimolo.writer_host_id()));
