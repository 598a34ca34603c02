UPDATE online_accounts SET balance = 0 WHERE balance IS NULL;
ALTER TABLE online_accounts ALTER COLUMN balance SET DEFAULT 0, ALTER COLUMN balance SET NOT NULL;
