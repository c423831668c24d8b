-- Knowledge base of the assistance desk: articles (question and answer in
-- Italian, optionally in English) grouped by application and desk channel,
-- every save a new version, one version published at most; and the requests
-- avoided because an article answered the question (deflections).

CREATE TABLE kb_articles (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    application_id INTEGER REFERENCES applications(id),
    channel_id INTEGER REFERENCES channels(id),
    -- The last version saved and the one the public sees (NULL = none).
    current_version INTEGER NOT NULL,
    published_version INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX kb_articles_application ON kb_articles(application_id);

CREATE TABLE kb_versions (
    article_id INTEGER NOT NULL REFERENCES kb_articles(id),
    version INTEGER NOT NULL,
    question_it TEXT NOT NULL,
    answer_it TEXT NOT NULL,
    question_en TEXT NOT NULL DEFAULT '',
    answer_en TEXT NOT NULL DEFAULT '',
    author_id INTEGER REFERENCES users(id),
    author_label TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (article_id, version)
);

-- "La risposta mi ha aiutato" on a suggestion of the request form: a request
-- not written. `day` is yyyymmdd in the business time zone, as desk_stats.
CREATE TABLE kb_deflections (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES kb_articles(id),
    application_id INTEGER REFERENCES applications(id),
    channel_id INTEGER REFERENCES channels(id),
    user_id INTEGER REFERENCES users(id),
    day INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX kb_deflections_day ON kb_deflections(day, channel_id);
