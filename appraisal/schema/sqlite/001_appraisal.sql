-- Routine appraisal of civil servants (公务员平时考核): policies, lists and their append-only
-- entries, quarterly cycles with their appraisees, target tasks, ratings, results.
-- Scores are integers: ratings in whole points (0–100), everything computed in hundredths.

-- A policy is set on an organisation (a district, or a unit where its district allows) and is
-- in force from effective_from; the terms are the Policy as JSON of integers and booleans.
CREATE TABLE ap_policies (
	id INTEGER PRIMARY KEY,
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	effective_from TEXT NOT NULL,
	terms TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (org_id, effective_from)
);

-- Negative lists (负面清单) for 德 and 廉 and the add/deduct catalog (加扣分清单). A unit sees
-- the items of every organisation above it and its own. points are hundredths: what a negative
-- item deducts (consequence deduct), or what an add/deduct item adds (signed).
CREATE TABLE ap_list_items (
	id INTEGER PRIMARY KEY,
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	list TEXT NOT NULL CHECK (list IN ('negative', 'adjust')),
	dimension TEXT NOT NULL DEFAULT '',
	name TEXT NOT NULL,
	consequence TEXT NOT NULL DEFAULT '' CHECK (consequence IN ('', 'deduct', 'cap', 'fail')),
	points INTEGER NOT NULL DEFAULT 0,
	archived_at TEXT,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	CHECK ((list = 'negative' AND dimension IN ('de', 'lian') AND consequence <> '' AND points >= 0)
		OR (list = 'adjust' AND consequence = '' AND points <> 0))
);
CREATE INDEX ap_list_items_org ON ap_list_items (org_id, list, id);

-- A cycle is one unit's quarter.
CREATE TABLE ap_cycles (
	id INTEGER PRIMARY KEY,
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	quarter TEXT NOT NULL,
	summary TEXT NOT NULL DEFAULT '',
	computed_at TEXT,
	created_at TEXT NOT NULL,
	UNIQUE (org_id, quarter)
);

-- Who is appraised in a cycle and in which pool: leaders and staff are graded apart.
CREATE TABLE ap_appraisees (
	cycle_id INTEGER NOT NULL REFERENCES ap_cycles (id),
	person_id INTEGER NOT NULL REFERENCES people (id),
	pool TEXT NOT NULL CHECK (pool IN ('leader', 'staff')),
	explicit INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (cycle_id, person_id)
);
CREATE INDEX ap_appraisees_person ON ap_appraisees (person_id);

-- Negative-list hits and add/deduct entries: append-only. An entry counts once a different
-- person has confirmed it (ap_entry_reviews) and until it is reversed; a reversal is an entry
-- of its own that names the one it reverses, and an entry is reversed at most once.
CREATE TABLE ap_entries (
	id INTEGER PRIMARY KEY,
	cycle_id INTEGER NOT NULL REFERENCES ap_cycles (id),
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	person_id INTEGER NOT NULL REFERENCES people (id),
	item_id INTEGER NOT NULL REFERENCES ap_list_items (id),
	list TEXT NOT NULL,
	consequence TEXT NOT NULL,
	points INTEGER NOT NULL,
	occurred_on TEXT NOT NULL,
	evidence TEXT NOT NULL,
	reverses_id INTEGER UNIQUE REFERENCES ap_entries (id),
	reason TEXT NOT NULL DEFAULT '',
	entered_by_id INTEGER,
	entered_by_person INTEGER,
	entered_by TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX ap_entries_cycle ON ap_entries (cycle_id, person_id, id);

CREATE TABLE ap_entry_reviews (
	entry_id INTEGER PRIMARY KEY REFERENCES ap_entries (id),
	decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
	note TEXT NOT NULL,
	reviewer_id INTEGER,
	reviewer TEXT NOT NULL,
	created_at TEXT NOT NULL
);

CREATE TRIGGER ap_entries_no_update BEFORE UPDATE ON ap_entries
BEGIN SELECT RAISE(ABORT, 'ap_entries is append-only'); END;
CREATE TRIGGER ap_entries_no_delete BEFORE DELETE ON ap_entries
BEGIN SELECT RAISE(ABORT, 'ap_entries is append-only'); END;
CREATE TRIGGER ap_entry_reviews_no_update BEFORE UPDATE ON ap_entry_reviews
BEGIN SELECT RAISE(ABORT, 'ap_entry_reviews is append-only'); END;
CREATE TRIGGER ap_entry_reviews_no_delete BEFORE DELETE ON ap_entry_reviews
BEGIN SELECT RAISE(ABORT, 'ap_entry_reviews is append-only'); END;

-- Target tasks (目标任务清单) for 能、勤、绩: set by HR, reported by the person, assessed by the
-- supervising leader. base_score is in points; score (hundredths) is the base when the
-- standard is met, else what the assessor gave below it.
CREATE TABLE ap_tasks (
	id INTEGER PRIMARY KEY,
	cycle_id INTEGER NOT NULL REFERENCES ap_cycles (id),
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	person_id INTEGER NOT NULL REFERENCES people (id),
	dimension TEXT NOT NULL CHECK (dimension IN ('neng', 'qin', 'ji')),
	title TEXT NOT NULL,
	standard TEXT NOT NULL,
	evidence TEXT NOT NULL DEFAULT '',
	weight INTEGER NOT NULL CHECK (weight BETWEEN 1 AND 100),
	base_score INTEGER NOT NULL CHECK (base_score BETWEEN 1 AND 100),
	self_report TEXT NOT NULL DEFAULT '',
	self_evidence TEXT NOT NULL DEFAULT '',
	reported_at TEXT,
	met INTEGER,
	score INTEGER CHECK (score BETWEEN 0 AND 10000),
	assess_note TEXT NOT NULL DEFAULT '',
	assessed_by TEXT NOT NULL DEFAULT '',
	assessed_at TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX ap_tasks_cycle ON ap_tasks (cycle_id, person_id, id);

-- One-time anonymous links for 干部群众 rating. Only the token's hash is kept; a used link
-- records no time and the ratings it made do not name it, so a rating cannot be traced to
-- the link (or the person it was handed to).
CREATE TABLE ap_links (
	id INTEGER PRIMARY KEY,
	cycle_id INTEGER NOT NULL REFERENCES ap_cycles (id),
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	token_hash TEXT NOT NULL UNIQUE,
	holder_id INTEGER REFERENCES people (id),
	used INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL
);
CREATE INDEX ap_links_cycle ON ap_links (cycle_id, id);

-- Ratings, 0–100 per dimension. Mass ratings carry no rater and no time; a leader's or HR's
-- rating names the account and is replaced when the same rater rates the same person again.
CREATE TABLE ap_ratings (
	id INTEGER PRIMARY KEY,
	cycle_id INTEGER NOT NULL REFERENCES ap_cycles (id),
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	ratee_id INTEGER NOT NULL REFERENCES people (id),
	party TEXT NOT NULL CHECK (party IN ('mass', 'leader', 'hr')),
	rater_user_id INTEGER,
	rater_person_id INTEGER,
	rater TEXT NOT NULL DEFAULT '',
	de INTEGER NOT NULL CHECK (de BETWEEN 0 AND 100),
	neng INTEGER NOT NULL CHECK (neng BETWEEN 0 AND 100),
	qin INTEGER NOT NULL CHECK (qin BETWEEN 0 AND 100),
	ji INTEGER NOT NULL CHECK (ji BETWEEN 0 AND 100),
	lian INTEGER NOT NULL CHECK (lian BETWEEN 0 AND 100),
	updated_at TEXT,
	CHECK ((party = 'mass') = (rater_user_id IS NULL))
);
CREATE INDEX ap_ratings_cycle ON ap_ratings (cycle_id, ratee_id);
CREATE UNIQUE INDEX ap_ratings_rater ON ap_ratings (cycle_id, ratee_id, party, rater_user_id) WHERE rater_user_id IS NOT NULL;

-- Results of the last computation of a cycle, with the breakdown of every number.
CREATE TABLE ap_results (
	cycle_id INTEGER NOT NULL REFERENCES ap_cycles (id),
	person_id INTEGER NOT NULL REFERENCES people (id),
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	pool TEXT NOT NULL,
	pool_key TEXT NOT NULL,
	composite INTEGER NOT NULL,
	rank INTEGER NOT NULL,
	band_grade TEXT NOT NULL,
	grade TEXT NOT NULL,
	status TEXT NOT NULL,
	breakdown TEXT NOT NULL,
	computed_at TEXT NOT NULL,
	PRIMARY KEY (cycle_id, person_id)
);

-- HR's decisions of ties at the 好 quota's edge, with the reason.
CREATE TABLE ap_tie_decisions (
	cycle_id INTEGER NOT NULL REFERENCES ap_cycles (id),
	person_id INTEGER NOT NULL REFERENCES people (id),
	wins INTEGER NOT NULL,
	reason TEXT NOT NULL,
	decided_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (cycle_id, person_id)
);
