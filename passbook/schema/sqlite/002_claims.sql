-- The catalog (积分事项清单) with immutable versions, and claims with their review history.

CREATE TABLE pb_items (
	id INTEGER PRIMARY KEY,
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	code TEXT NOT NULL,
	current_version INTEGER NOT NULL,
	archived_at TEXT,
	created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX pb_items_code ON pb_items (org_id, code);

CREATE TABLE pb_item_versions (
	id INTEGER PRIMARY KEY,
	item_id INTEGER NOT NULL REFERENCES pb_items (id),
	version INTEGER NOT NULL,
	name TEXT NOT NULL,
	category TEXT NOT NULL,
	points INTEGER NOT NULL,
	unit TEXT NOT NULL CHECK (unit IN ('occasion', 'hour')),
	max_per_claim INTEGER NOT NULL DEFAULT 0 CHECK (max_per_claim >= 0),
	cap_day INTEGER NOT NULL DEFAULT 0 CHECK (cap_day >= 0),
	cap_month INTEGER NOT NULL DEFAULT 0 CHECK (cap_month >= 0),
	cap_year INTEGER NOT NULL DEFAULT 0 CHECK (cap_year >= 0),
	evidence_required INTEGER NOT NULL DEFAULT 0,
	classes TEXT NOT NULL DEFAULT '',
	valid_from TEXT NOT NULL,
	valid_to TEXT,
	created_at TEXT NOT NULL,
	created_by TEXT NOT NULL,
	UNIQUE (item_id, version)
);
CREATE TRIGGER pb_item_versions_no_update BEFORE UPDATE ON pb_item_versions
BEGIN SELECT RAISE(ABORT, 'item versions are immutable'); END;
CREATE TRIGGER pb_item_versions_no_delete BEFORE DELETE ON pb_item_versions
BEGIN SELECT RAISE(ABORT, 'item versions are immutable'); END;

CREATE TABLE pb_claims (
	id INTEGER PRIMARY KEY,
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	passbook_id INTEGER NOT NULL REFERENCES pb_passbooks (id),
	item_version_id INTEGER NOT NULL REFERENCES pb_item_versions (id),
	activity_id INTEGER,
	work_date TEXT NOT NULL,
	quantity INTEGER NOT NULL CHECK (quantity > 0),
	points INTEGER NOT NULL,
	note TEXT NOT NULL DEFAULT '',
	source TEXT NOT NULL CHECK (source IN ('self', 'proxy', 'batch', 'activity')),
	state TEXT NOT NULL CHECK (state IN ('submitted', 'reviewed', 'publicized', 'posted', 'rejected', 'refused', 'cancelled')),
	submitted_by INTEGER,
	submitted_by_name TEXT NOT NULL,
	reviewed_by INTEGER,
	reviewed2_by INTEGER,
	publicity_ends_on TEXT,
	tx_id INTEGER REFERENCES pb_transactions (id),
	reason TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX pb_claims_org_state ON pb_claims (org_id, state, id);
CREATE INDEX pb_claims_passbook ON pb_claims (passbook_id, id);
CREATE INDEX pb_claims_due ON pb_claims (state, publicity_ends_on);

CREATE TABLE pb_claim_evidence (
	id INTEGER PRIMARY KEY,
	claim_id INTEGER NOT NULL REFERENCES pb_claims (id),
	content_type TEXT NOT NULL,
	data BLOB NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX pb_claim_evidence_claim ON pb_claim_evidence (claim_id);

CREATE TABLE pb_claim_events (
	id INTEGER PRIMARY KEY,
	claim_id INTEGER NOT NULL REFERENCES pb_claims (id),
	at TEXT NOT NULL,
	actor_id INTEGER,
	actor TEXT NOT NULL,
	from_state TEXT NOT NULL,
	to_state TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX pb_claim_events_claim ON pb_claim_events (claim_id, id);

CREATE TABLE pb_objections (
	id INTEGER PRIMARY KEY,
	claim_id INTEGER NOT NULL REFERENCES pb_claims (id),
	person_id INTEGER REFERENCES people (id),
	user_id INTEGER,
	reason TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX pb_objections_claim ON pb_objections (claim_id);
