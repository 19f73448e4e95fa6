-- Merged pools of small units: when the policy in force merges small units, an organisation
-- above them (the district) grades the same pool (leaders or staff) of every unit below it
-- smaller than the policy's minimum together. Each grading is a row of its own; the latest of
-- an organisation, quarter and pool is the one in force. grading holds every member's inputs
-- (composite, 绩, 德) and outcome, so that a unit's result traces to the merged pool.
CREATE TABLE ap_pool_merges (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	quarter TEXT NOT NULL,
	pool TEXT NOT NULL CHECK (pool IN ('leader', 'staff')),
	policy_id BIGINT NOT NULL,
	grading TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX ap_pool_merges_org ON ap_pool_merges (org_id, quarter, pool, id);

CREATE TABLE ap_pool_merge_members (
	merge_id BIGINT NOT NULL REFERENCES ap_pool_merges (id),
	cycle_id BIGINT NOT NULL REFERENCES ap_cycles (id),
	PRIMARY KEY (merge_id, cycle_id)
);
CREATE INDEX ap_pool_merge_members_cycle ON ap_pool_merge_members (cycle_id, merge_id);

-- The pool a result was graded in: a unit's (c<cycle>:<pool>) or a merged one (m<merge>:<pool>).
CREATE INDEX ap_results_pool_key ON ap_results (pool_key);
