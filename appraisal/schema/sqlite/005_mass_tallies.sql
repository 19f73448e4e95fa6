-- Each ratee's anonymous mass ratings of a cycle, folded as they arrive: how many, and each
-- dimension's sum, lowest and highest score — all an average needs, trimmed or not. Mass
-- ratings are never changed or deleted, so the tally is exact; RateByLink adds a submission's
-- ratings to it in the submission's own transaction, and computing a cycle's results reads the
-- tallies instead of folding the rating rows. Rows of a cycle lie together (no rowid).
CREATE TABLE ap_mass_tallies (
	cycle_id INTEGER NOT NULL REFERENCES ap_cycles (id),
	ratee_id INTEGER NOT NULL REFERENCES people (id),
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	ratings INTEGER NOT NULL CHECK (ratings > 0),
	de_sum INTEGER NOT NULL, de_min INTEGER NOT NULL, de_max INTEGER NOT NULL,
	neng_sum INTEGER NOT NULL, neng_min INTEGER NOT NULL, neng_max INTEGER NOT NULL,
	qin_sum INTEGER NOT NULL, qin_min INTEGER NOT NULL, qin_max INTEGER NOT NULL,
	ji_sum INTEGER NOT NULL, ji_min INTEGER NOT NULL, ji_max INTEGER NOT NULL,
	lian_sum INTEGER NOT NULL, lian_min INTEGER NOT NULL, lian_max INTEGER NOT NULL,
	PRIMARY KEY (cycle_id, ratee_id)
) WITHOUT ROWID;

-- The ratings already given, folded once.
INSERT INTO ap_mass_tallies (cycle_id, ratee_id, org_id, ratings,
	de_sum, de_min, de_max, neng_sum, neng_min, neng_max, qin_sum, qin_min, qin_max,
	ji_sum, ji_min, ji_max, lian_sum, lian_min, lian_max)
SELECT cycle_id, ratee_id, MIN(org_id), COUNT(*),
	SUM(de), MIN(de), MAX(de), SUM(neng), MIN(neng), MAX(neng), SUM(qin), MIN(qin), MAX(qin),
	SUM(ji), MIN(ji), MAX(ji), SUM(lian), MIN(lian), MAX(lian)
FROM ap_ratings WHERE party = 'mass' GROUP BY cycle_id, ratee_id;

-- With the mass ratings read from their tallies, computing a cycle's results reads from
-- ap_ratings only the identified ratings (leader and HR: rater_user_id IS NOT NULL); this
-- index holds just those, with every column read, so the read skips the mass rating rows.
CREATE INDEX ap_ratings_rated ON ap_ratings (cycle_id, ratee_id, party, rater_user_id, de, neng, qin, ji, lian, rater)
	WHERE rater_user_id IS NOT NULL;
