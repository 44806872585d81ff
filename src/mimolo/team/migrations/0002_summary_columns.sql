-- MiMoLo team store, version 2: what the timeline derivation reads, as plain columns of
-- mimolo.records written by the shipper (so the team view reads no JSON), and a per
-- host-day count kept by a trigger (so the team view checks its cache without a scan).
-- Existing rows are backfilled from their `record` where that is certain to give what
-- the local reader gives; the others keep NULL columns and the team view decodes their
-- `line`, as it does for any record that is not a usable summary. From this version on
-- the shipper leaves `record` NULL (the line holds the summary): mimolo.record_doc(line)
-- gives it as jsonb when a query wants it.

-- The summary's span in POSIX seconds (its window, or its timestamp twice), its activity
-- mode ('active' or 'passive'), keep_alive and client_id: mimolo.timeline's
-- TimelineSummary. All NULL (span_start IS NULL) when the line is not a usable summary.
ALTER TABLE mimolo.records
    ADD COLUMN span_start  double precision,
    ADD COLUMN span_end    double precision,
    ADD COLUMN mode        text,
    ADD COLUMN keep_alive  boolean,
    ADD COLUMN client_id   text;

-- Per host and UTC day (of received_at): how many records the store holds and the
-- highest seq. Records are only ever added, so an unchanged pair means unchanged records.
CREATE TABLE mimolo.host_days (
    host_id  text NOT NULL,
    day      date NOT NULL,
    records  bigint NOT NULL,
    max_seq  bigint NOT NULL,
    PRIMARY KEY (host_id, day)
);

-- Kept by PostgreSQL itself on every insert, whoever inserts and however (SECURITY
-- DEFINER: the writers need no privilege on host_days).
CREATE FUNCTION mimolo.count_host_days() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO mimolo.host_days AS d (host_id, day, records, max_seq)
    SELECT n.host_id, (n.received_at AT TIME ZONE 'UTC')::date, count(*), max(n.seq)
    FROM new_rows n
    GROUP BY 1, 2
    ON CONFLICT (host_id, day) DO UPDATE
        SET records = d.records + EXCLUDED.records,
            max_seq = greatest(d.max_seq, EXCLUDED.max_seq);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION mimolo.count_host_days() FROM PUBLIC;

CREATE TRIGGER records_host_days AFTER INSERT ON mimolo.records
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mimolo.count_host_days();

INSERT INTO mimolo.host_days (host_id, day, records, max_seq)
SELECT host_id, (received_at AT TIME ZONE 'UTC')::date, count(*), max(seq)
FROM mimolo.records
GROUP BY 1, 2;

GRANT SELECT ON mimolo.host_days TO mimolo_reader;
ALTER TABLE mimolo.host_days ENABLE ROW LEVEL SECURITY;
CREATE POLICY reader_all ON mimolo.host_days FOR SELECT TO mimolo_reader USING (true);

-- A stored line's summary as jsonb, computed when asked (NULL when jsonb cannot hold it:
-- \u0000, an unpaired surrogate escape).
CREATE FUNCTION mimolo.record_doc(line text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN line::jsonb -> 'record';
EXCEPTION WHEN invalid_text_representation OR untranslatable_character THEN
    RETURN NULL;
END
$$;
GRANT EXECUTE ON FUNCTION mimolo.record_doc(text) TO mimolo_reader, mimolo_writer;

-- The backfill. A time counts only in the strict RFC 3339 form both PostgreSQL and the
-- local reader parse to the same instant (microseconds at most, an explicit offset);
-- anything else stays NULL and is decoded from the line.
CREATE FUNCTION pg_temp.epoch_of(value jsonb) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF jsonb_typeof(value) IS DISTINCT FROM 'string' OR NOT (value #>> '{}') ~
        '^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$'
    THEN
        RETURN NULL;
    END IF;
    RETURN extract(epoch FROM (value #>> '{}')::timestamptz)::double precision;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
    RETURN NULL;  -- 2026-02-30 and the like: the line says why
END
$$;

CREATE FUNCTION pg_temp.kind_ok(value jsonb, kinds text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT value IS NULL OR jsonb_typeof(value) = ANY(kinds)
$$;

WITH parts AS (
    SELECT r.host_id, r.seq, r.received_at,
           r.record -> 'data' AS data,
           r.record #> '{data,activity_signal}' AS signal,
           r.record #> '{data,window}' AS win,
           pg_temp.epoch_of(r.record -> 'timestamp') AS at,
           pg_temp.epoch_of(r.record #> '{data,window,start}') AS win_start,
           pg_temp.epoch_of(r.record #> '{data,window,end}') AS win_end
    FROM mimolo.records r
    WHERE r.record IS NOT NULL AND r.record ->> 'type' = 'summary'
      AND jsonb_typeof(r.record -> 'type') = 'string'
), usable AS (
    SELECT p.*,
           CASE WHEN pg_temp.kind_ok(p.win, ARRAY['null']) THEN p.at ELSE p.win_start END AS s,
           CASE WHEN pg_temp.kind_ok(p.win, ARRAY['null']) THEN p.at ELSE p.win_end END AS e
    FROM parts p
    WHERE p.at IS NOT NULL
      AND pg_temp.kind_ok(p.data, ARRAY['object'])
      AND pg_temp.kind_ok(p.win, ARRAY['object', 'null'])
      AND (jsonb_typeof(p.win) IS DISTINCT FROM 'object'
           OR (p.win_start IS NOT NULL AND p.win_end IS NOT NULL))
      AND pg_temp.kind_ok(p.data -> 'client_id', ARRAY['string', 'null'])
      AND pg_temp.kind_ok(p.signal, ARRAY['object', 'null'])
      AND (jsonb_typeof(p.signal) IS DISTINCT FROM 'object'
           OR (p.signal ->> 'mode' IN ('active', 'passive')
               AND jsonb_typeof(p.signal -> 'mode') = 'string'
               AND pg_temp.kind_ok(p.signal -> 'keep_alive', ARRAY['boolean', 'null'])))
)
UPDATE mimolo.records r
SET span_start = u.s,
    span_end = u.e,
    mode = CASE WHEN u.signal ->> 'mode' = 'active' THEN 'active' ELSE 'passive' END,
    keep_alive = CASE WHEN jsonb_typeof(u.signal -> 'keep_alive') = 'boolean'
                      THEN (u.signal -> 'keep_alive')::boolean END,
    client_id = u.data ->> 'client_id'
FROM usable u
WHERE r.host_id = u.host_id AND r.seq = u.seq AND r.received_at = u.received_at
  AND u.e >= u.s;

DROP FUNCTION pg_temp.epoch_of(jsonb);
DROP FUNCTION pg_temp.kind_ok(jsonb, text[]);
