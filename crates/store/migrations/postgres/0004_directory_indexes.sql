-- Listing and searching users of large organizations: name order and
-- surname prefix (case-insensitive) are answered from indexes.
CREATE INDEX users_by_name ON users(family_name, given_name, id);
CREATE INDEX users_family_lower ON users(LOWER(family_name));
