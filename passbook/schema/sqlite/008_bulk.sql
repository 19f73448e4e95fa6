-- Cheaper rows for every posting, and for a bulk posting of a million.

-- Only claims in 公示 are looked up by the day it ends: a posted claim, nearly all of them,
-- stays out of the index.
DROP INDEX pb_claims_due;
CREATE INDEX pb_claims_due ON pb_claims (publicity_ends_on) WHERE state = 'publicized';

-- Ranking totals are found by their key alone: keyed without a rowid, a total is one b-tree
-- row instead of a row and a key index entry, and a posting moves one structure less.
CREATE TABLE pb_points_totals_keyed (
	period TEXT NOT NULL,
	passbook_id INTEGER NOT NULL REFERENCES pb_passbooks (id),
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	points INTEGER NOT NULL,
	PRIMARY KEY (period, passbook_id)
) WITHOUT ROWID;
INSERT INTO pb_points_totals_keyed (period, passbook_id, org_id, points)
	SELECT period, passbook_id, org_id, points FROM pb_points_totals;
DROP TABLE pb_points_totals;
ALTER TABLE pb_points_totals_keyed RENAME TO pb_points_totals;
CREATE INDEX pb_points_totals_org ON pb_points_totals (period, org_id, points, passbook_id);
CREATE INDEX pb_points_totals_top ON pb_points_totals (period, points, passbook_id, org_id);
