-- A per-user counter bumped whenever a credential of the user changes (password, an API key deleted or
-- altered), by whichever process or tool changes it: the per-call credential check reads it with the
-- user row and re-verifies the secret only when it moved, so revocation still takes effect on the next call.
ALTER TABLE users ADD COLUMN credential_generation BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION users_password_changed() RETURNS trigger AS $$
BEGIN
    IF NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN
        NEW.credential_generation := OLD.credential_generation + 1;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_password_changed BEFORE UPDATE ON users
FOR EACH ROW EXECUTE FUNCTION users_password_changed();

CREATE FUNCTION api_keys_changed() RETURNS trigger AS $$
BEGIN
    UPDATE users SET credential_generation = credential_generation + 1 WHERE id = OLD.user_id;
    IF TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        UPDATE users SET credential_generation = credential_generation + 1 WHERE id = NEW.user_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER api_keys_changed AFTER DELETE OR UPDATE ON api_keys
FOR EACH ROW EXECUTE FUNCTION api_keys_changed();
