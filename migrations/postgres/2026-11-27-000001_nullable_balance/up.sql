-- A balance never received is NULL, as an Odoo float never set (issue 16): `balance = 0` no longer finds
-- accounts without one. Existing zeros stay zeros.
ALTER TABLE online_accounts ALTER COLUMN balance DROP NOT NULL, ALTER COLUMN balance DROP DEFAULT;
