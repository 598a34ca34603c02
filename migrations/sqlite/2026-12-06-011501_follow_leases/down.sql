ALTER TABLE online_links DROP COLUMN follow_marker;
ALTER TABLE online_links DROP COLUMN followed_until;
ALTER TABLE online_links DROP COLUMN followed_by;
