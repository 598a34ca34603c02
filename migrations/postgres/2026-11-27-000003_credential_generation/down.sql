DROP TRIGGER api_keys_changed ON api_keys;
DROP FUNCTION api_keys_changed();
DROP TRIGGER users_password_changed ON users;
DROP FUNCTION users_password_changed();
ALTER TABLE users DROP COLUMN credential_generation;
