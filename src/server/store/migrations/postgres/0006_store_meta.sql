-- Facts about the stored data itself, e.g. which form of `name_key` the keys hold
-- (`name_key_version`, see `text::NAME_KEY_VERSION`): the service brings them up to date when
-- it opens the store.
CREATE TABLE store_meta (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
