-- The organisation tree with materialised paths ("/1/5/23/"): a subtree is one range scan.
-- Paths use the C collation so that range comparisons are byte order. depth is the number of
-- ids in the path (a root has depth 1). Archived nodes keep their place and history; names and
-- division codes need only be unique among live nodes.
CREATE TABLE orgs (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	parent_id BIGINT REFERENCES orgs (id),
	name TEXT NOT NULL,
	kind TEXT NOT NULL,
	division_code TEXT,
	sort_order INTEGER NOT NULL DEFAULT 0,
	path TEXT COLLATE "C" NOT NULL,
	depth INTEGER NOT NULL,
	archived_at TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX orgs_path ON orgs (path);
CREATE INDEX orgs_parent ON orgs (parent_id, sort_order, id);
CREATE INDEX orgs_name ON orgs (name);
CREATE UNIQUE INDEX orgs_sibling_name ON orgs (COALESCE(parent_id, 0), name) WHERE archived_at IS NULL;
CREATE UNIQUE INDEX orgs_division_code ON orgs (division_code) WHERE division_code IS NOT NULL AND archived_at IS NULL;

-- InsertPeopleBulk (bulk.go) COPYs people without ids and reads the new ids back as those
-- above the largest id before the load; that holds because the identity keeps its default
-- CACHE 1, so its values grow across sessions. Do not give it a cache.
CREATE TABLE people (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	name TEXT NOT NULL,
	gender TEXT NOT NULL,
	id_number TEXT NOT NULL UNIQUE,
	birth_date TEXT NOT NULL,
	mobile TEXT NOT NULL DEFAULT '',
	political_status TEXT NOT NULL,
	party_joined_on TEXT,
	archived_at TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
-- A list of people in a subtree reads this index only: the organisations' ids come from
-- orgs_path, and the live people of each, with their ids, from here.
CREATE INDEX people_org ON people (org_id, archived_at, id);
CREATE INDEX people_name ON people (name);

CREATE TABLE person_categories (
	person_id BIGINT NOT NULL REFERENCES people (id),
	category TEXT NOT NULL,
	PRIMARY KEY (person_id, category)
);
CREATE INDEX person_categories_category ON person_categories (category, person_id);

-- A person's posts (党支部书记, 主管领导 …) in organisations other than, or as well as, their
-- home organisation. A post ends by getting ended_on; it is never deleted.
CREATE TABLE memberships (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	person_id BIGINT NOT NULL REFERENCES people (id),
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	position TEXT NOT NULL,
	started_on TEXT NOT NULL,
	ended_on TEXT,
	created_at TEXT NOT NULL
);
CREATE INDEX memberships_person ON memberships (person_id);
CREATE INDEX memberships_org ON memberships (org_id);
