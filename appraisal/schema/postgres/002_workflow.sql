-- The seven steps of a unit's quarter, 个人小结, 复核, filings (备案) and their reopening, and
-- the district's rectification orders (督促整改).

-- step is the step under way (1–7); 8 once the quarter is filed. published_at is when HR
-- confirmed the results (step 5 closed) and review_until the last day to ask for a review.
ALTER TABLE ap_cycles ADD COLUMN step INTEGER NOT NULL DEFAULT 1;
ALTER TABLE ap_cycles ADD COLUMN published_at TEXT;
ALTER TABLE ap_cycles ADD COLUMN review_until TEXT;

-- Each step's deadline (a date, set by the policy when the cycle opens) and when it closed.
CREATE TABLE ap_cycle_steps (
	cycle_id BIGINT NOT NULL REFERENCES ap_cycles (id),
	step INTEGER NOT NULL CHECK (step BETWEEN 1 AND 7),
	deadline TEXT NOT NULL,
	closed_at TEXT,
	closed_by TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (cycle_id, step)
);

-- 个人小结: each appraisee's own summary of the quarter.
CREATE TABLE ap_self_summaries (
	cycle_id BIGINT NOT NULL REFERENCES ap_cycles (id),
	person_id BIGINT NOT NULL REFERENCES people (id),
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	body TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (cycle_id, person_id)
);

-- 复核: an appraisee's request for a review of their result, and HR's answer. A changed
-- result names the grade before and after.
CREATE TABLE ap_reviews (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	cycle_id BIGINT NOT NULL REFERENCES ap_cycles (id),
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	person_id BIGINT NOT NULL REFERENCES people (id),
	reason TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('open', 'upheld', 'changed')),
	old_grade TEXT NOT NULL,
	new_grade TEXT NOT NULL DEFAULT '',
	answer TEXT NOT NULL DEFAULT '',
	answered_by TEXT NOT NULL DEFAULT '',
	answered_at TEXT,
	created_at TEXT NOT NULL,
	UNIQUE (cycle_id, person_id)
);

-- 备案: the immutable snapshot of plan and results a unit files with the district, with its
-- SHA-256. A reopened quarter is filed again as the next version.
CREATE TABLE ap_filings (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	cycle_id BIGINT NOT NULL REFERENCES ap_cycles (id),
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	version INTEGER NOT NULL,
	snapshot TEXT NOT NULL,
	hash TEXT NOT NULL,
	filed_by TEXT NOT NULL,
	filed_at TEXT NOT NULL,
	UNIQUE (cycle_id, version)
);

-- A district-approved reopening of a filed quarter, back to a step, with the reason.
CREATE TABLE ap_reopens (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	cycle_id BIGINT NOT NULL REFERENCES ap_cycles (id),
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	to_step INTEGER NOT NULL,
	reason TEXT NOT NULL,
	approved_by TEXT NOT NULL,
	created_at TEXT NOT NULL
);

CREATE TRIGGER ap_filings_append_only BEFORE UPDATE OR DELETE ON ap_filings
	FOR EACH ROW EXECUTE FUNCTION ap_append_only();
CREATE TRIGGER ap_reopens_append_only BEFORE UPDATE OR DELETE ON ap_reopens
	FOR EACH ROW EXECUTE FUNCTION ap_append_only();

-- 督促整改: an order the district issues to a unit (about a quarter, or in general), which the
-- unit answers and the district closes: open → answered → closed.
CREATE TABLE ap_rectifications (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	cycle_id BIGINT REFERENCES ap_cycles (id),
	issuer_org_id BIGINT NOT NULL REFERENCES orgs (id),
	issue TEXT NOT NULL,
	due_on TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('open', 'answered', 'closed')),
	answer TEXT NOT NULL DEFAULT '',
	answered_by TEXT NOT NULL DEFAULT '',
	answered_at TEXT,
	close_note TEXT NOT NULL DEFAULT '',
	closed_by TEXT NOT NULL DEFAULT '',
	closed_at TEXT,
	issued_by TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX ap_rectifications_org ON ap_rectifications (org_id, id);
