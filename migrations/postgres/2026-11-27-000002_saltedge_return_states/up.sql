-- One Salt Edge customer per company (never shared between companies, never keyed by an e-mail).
CREATE TABLE saltedge_customers (
    company_id BIGINT PRIMARY KEY REFERENCES companies (id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL,
    identifier TEXT NOT NULL
);

-- The one-time `state` of each connect/reconnect/refresh attempt's return URL, stored hashed.
CREATE TABLE saltedge_return_states (
    state_hash TEXT PRIMARY KEY,
    link_id BIGINT NOT NULL REFERENCES online_links (id) ON DELETE CASCADE,
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    return_to TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX saltedge_return_states_link ON saltedge_return_states (link_id);

-- What a running synchronization is doing, for the user (state `fetching`).
ALTER TABLE online_links ADD COLUMN sync_progress TEXT;
