-- Who follows a link's running attempt, until when, and which attempt: the follower renews its lease on
-- every poll and page; when it stops renewing (its process died), another process takes the attempt over
-- from where the marker says.
ALTER TABLE online_links ADD COLUMN followed_by TEXT;
ALTER TABLE online_links ADD COLUMN followed_until TEXT;
ALTER TABLE online_links ADD COLUMN follow_marker TEXT;
