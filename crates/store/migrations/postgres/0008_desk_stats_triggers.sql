-- The running totals of later days and the list of counters follow every
-- change of a daily count inside the database, so the application writes a
-- change with one statement.
CREATE FUNCTION desk_stats_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO desk_stat_keys (level, scope, region, metric)
        VALUES (NEW.level, NEW.scope, NEW.region, NEW.metric)
        ON CONFLICT (level, scope, metric) DO NOTHING;
        delta := NEW.n;
    ELSE
        delta := NEW.n - OLD.n;
    END IF;
    IF delta <> 0 THEN
        UPDATE desk_stats SET total = total + delta
        WHERE level = NEW.level AND scope = NEW.scope AND metric = NEW.metric AND day > NEW.day;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER desk_stats_follow AFTER INSERT OR UPDATE OF n ON desk_stats
FOR EACH ROW EXECUTE FUNCTION desk_stats_follow();
