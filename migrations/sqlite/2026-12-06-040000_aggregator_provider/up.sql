-- Several aggregators behind the same models (issue 26): each institution and each link says which one it
-- belongs to; an Enable Banking link remembers the reads it made without the user (the bank allows about
-- four per account a day) and an Enable Banking account the uid it is read with in the current session.
ALTER TABLE online_institutions ADD COLUMN provider TEXT NOT NULL DEFAULT 'saltedge';
ALTER TABLE online_links ADD COLUMN provider TEXT NOT NULL DEFAULT 'saltedge';
ALTER TABLE online_links ADD COLUMN bank_reads TEXT;
ALTER TABLE online_links ADD COLUMN balances_read_at TEXT;
ALTER TABLE online_accounts ADD COLUMN session_account_id TEXT;
-- What the aggregator knows an attempt's authorization by (Enable Banking: the psu_id_hash of POST /auth),
-- so that the session a returned code opens is checked to be the one this link's attempt started.
ALTER TABLE saltedge_return_states ADD COLUMN authorization_ref TEXT;
CREATE INDEX online_institutions_provider ON online_institutions (provider, country_code, name);
