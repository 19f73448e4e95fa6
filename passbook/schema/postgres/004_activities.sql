-- Activities members sign up for, with QR check-in and check-out.

CREATE TABLE pb_activities (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	title TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	place TEXT NOT NULL,
	starts_at TEXT NOT NULL,
	ends_at TEXT NOT NULL,
	capacity BIGINT NOT NULL CHECK (capacity >= 0),
	item_id BIGINT NOT NULL REFERENCES pb_items (id),
	state TEXT NOT NULL CHECK (state IN ('open', 'confirmed', 'cancelled')),
	created_by_name TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX pb_activities_org ON pb_activities (org_id, starts_at);

CREATE TABLE pb_signups (
	activity_id BIGINT NOT NULL REFERENCES pb_activities (id),
	passbook_id BIGINT NOT NULL REFERENCES pb_passbooks (id),
	signed_up_at TEXT NOT NULL,
	checked_in_at TEXT,
	checked_out_at TEXT,
	claim_id BIGINT REFERENCES pb_claims (id),
	PRIMARY KEY (activity_id, passbook_id)
);

-- Server-side secrets shared by every instance, e.g. the key that signs QR check-in tokens.
CREATE TABLE pb_secrets (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
