DROP TRIGGER api_keys_updated;
DROP TRIGGER api_keys_deleted;
DROP TRIGGER users_password_changed;
ALTER TABLE users DROP COLUMN credential_generation;
