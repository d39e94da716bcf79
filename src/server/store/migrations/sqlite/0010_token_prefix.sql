-- A leaked token is traced from its printed prefix (`apiKeys(filter: {tokenPrefix})`).
CREATE INDEX api_keys_token_prefix ON api_keys(token_prefix);
