-- The catalog (积分事项清单) with immutable versions, and claims with their review history.

CREATE TABLE pb_items (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	code TEXT NOT NULL,
	current_version BIGINT NOT NULL,
	archived_at TEXT,
	created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX pb_items_code ON pb_items (org_id, code);

CREATE TABLE pb_item_versions (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	item_id BIGINT NOT NULL REFERENCES pb_items (id),
	version BIGINT NOT NULL,
	name TEXT NOT NULL,
	category TEXT NOT NULL,
	points BIGINT NOT NULL,
	unit TEXT NOT NULL CHECK (unit IN ('occasion', 'hour')),
	max_per_claim BIGINT NOT NULL DEFAULT 0 CHECK (max_per_claim >= 0),
	cap_day BIGINT NOT NULL DEFAULT 0 CHECK (cap_day >= 0),
	cap_month BIGINT NOT NULL DEFAULT 0 CHECK (cap_month >= 0),
	cap_year BIGINT NOT NULL DEFAULT 0 CHECK (cap_year >= 0),
	evidence_required BOOLEAN NOT NULL DEFAULT FALSE,
	classes TEXT NOT NULL DEFAULT '',
	valid_from TEXT NOT NULL,
	valid_to TEXT,
	created_at TEXT NOT NULL,
	created_by TEXT NOT NULL,
	UNIQUE (item_id, version)
);

CREATE TABLE pb_claims (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	passbook_id BIGINT NOT NULL REFERENCES pb_passbooks (id),
	item_version_id BIGINT NOT NULL REFERENCES pb_item_versions (id),
	activity_id BIGINT,
	work_date TEXT NOT NULL,
	quantity BIGINT NOT NULL CHECK (quantity > 0),
	points BIGINT NOT NULL,
	note TEXT NOT NULL DEFAULT '',
	source TEXT NOT NULL CHECK (source IN ('self', 'proxy', 'batch', 'activity')),
	state TEXT NOT NULL CHECK (state IN ('submitted', 'reviewed', 'publicized', 'posted', 'rejected', 'refused', 'cancelled')),
	submitted_by BIGINT,
	submitted_by_name TEXT NOT NULL,
	reviewed_by BIGINT,
	reviewed2_by BIGINT,
	publicity_ends_on TEXT,
	tx_id BIGINT REFERENCES pb_transactions (id),
	reason TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX pb_claims_org_state ON pb_claims (org_id, state, id);
CREATE INDEX pb_claims_passbook ON pb_claims (passbook_id, id);
CREATE INDEX pb_claims_due ON pb_claims (state, publicity_ends_on);

CREATE TABLE pb_claim_evidence (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	claim_id BIGINT NOT NULL REFERENCES pb_claims (id),
	content_type TEXT NOT NULL,
	data BYTEA NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX pb_claim_evidence_claim ON pb_claim_evidence (claim_id);

CREATE TABLE pb_claim_events (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	claim_id BIGINT NOT NULL REFERENCES pb_claims (id),
	at TEXT NOT NULL,
	actor_id BIGINT,
	actor TEXT NOT NULL,
	from_state TEXT NOT NULL,
	to_state TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX pb_claim_events_claim ON pb_claim_events (claim_id, id);

CREATE TABLE pb_objections (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	claim_id BIGINT NOT NULL REFERENCES pb_claims (id),
	person_id BIGINT REFERENCES people (id),
	user_id BIGINT,
	reason TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX pb_objections_claim ON pb_objections (claim_id);
CREATE TRIGGER pb_item_versions_append_only BEFORE UPDATE OR DELETE ON pb_item_versions
	FOR EACH ROW EXECUTE FUNCTION pb_append_only();
