-- Identity listings by name, a page at a time by keyset (`identities(orderBy:)`), as key
-- listings are (0011): `name_order` is the lowercased description, filled in by the service
-- for identities stored before it (`text::name_order`), read as a range of its index.
ALTER TABLE identities ADD COLUMN name_order TEXT NOT NULL DEFAULT '';
CREATE INDEX identities_by_name ON identities(name_order, seq);
