-- Running totals next to the daily counts, so a period's total is two index
-- lookups (total at its last day minus total before its first) whatever its
-- length; and the list of counters that exist, to know what to look up.
ALTER TABLE desk_stats ADD COLUMN total INTEGER NOT NULL DEFAULT 0;
CREATE INDEX desk_stats_series ON desk_stats(level, scope, metric, day);

CREATE TABLE desk_stat_keys (
    level TEXT NOT NULL,
    scope TEXT NOT NULL,
    region TEXT NOT NULL,
    metric TEXT NOT NULL,
    PRIMARY KEY (level, scope, metric)
);
CREATE INDEX desk_stat_keys_region ON desk_stat_keys(level, region);

INSERT INTO desk_stat_keys (level, scope, region, metric)
SELECT level, scope, MIN(region), metric FROM desk_stats GROUP BY level, scope, metric;
UPDATE desk_stats SET total = (
    SELECT SUM(p.n) FROM desk_stats p
    WHERE p.level = desk_stats.level AND p.scope = desk_stats.scope
      AND p.metric = desk_stats.metric AND p.day <= desk_stats.day
);
