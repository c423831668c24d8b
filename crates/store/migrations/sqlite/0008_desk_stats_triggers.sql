-- The running totals of later days and the list of counters follow every
-- change of a daily count inside the database, so the application writes a
-- change with one statement.
CREATE TRIGGER desk_stats_inserted AFTER INSERT ON desk_stats
BEGIN
    INSERT OR IGNORE INTO desk_stat_keys (level, scope, region, metric)
    VALUES (NEW.level, NEW.scope, NEW.region, NEW.metric);
    UPDATE desk_stats SET total = total + NEW.n
    WHERE level = NEW.level AND scope = NEW.scope AND metric = NEW.metric AND day > NEW.day;
END;

CREATE TRIGGER desk_stats_updated AFTER UPDATE OF n ON desk_stats
WHEN NEW.n <> OLD.n
BEGIN
    UPDATE desk_stats SET total = total + (NEW.n - OLD.n)
    WHERE level = NEW.level AND scope = NEW.scope AND metric = NEW.metric AND day > NEW.day;
END;
