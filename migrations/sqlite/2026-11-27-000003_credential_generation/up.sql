-- A per-user counter bumped whenever a credential of the user changes (password, an API key deleted or
-- altered), by whichever process or tool changes it: the per-call credential check reads it with the
-- user row and re-verifies the secret only when it moved, so revocation still takes effect on the next call.
ALTER TABLE users ADD COLUMN credential_generation BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER users_password_changed AFTER UPDATE OF password_hash ON users
WHEN OLD.password_hash IS NOT NEW.password_hash
BEGIN
    UPDATE users SET credential_generation = credential_generation + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER api_keys_deleted AFTER DELETE ON api_keys
BEGIN
    UPDATE users SET credential_generation = credential_generation + 1 WHERE id = OLD.user_id;
END;

CREATE TRIGGER api_keys_updated AFTER UPDATE ON api_keys
BEGIN
    UPDATE users SET credential_generation = credential_generation + 1 WHERE id IN (OLD.user_id, NEW.user_id);
END;
