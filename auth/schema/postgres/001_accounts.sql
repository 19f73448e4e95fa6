-- Accounts. A person has at most one account (person_id is unique; NULLs do not clash).
CREATE TABLE users (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	username TEXT NOT NULL UNIQUE,
	display_name TEXT NOT NULL,
	person_id BIGINT UNIQUE REFERENCES people (id),
	password_hash TEXT NOT NULL,
	must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	locked_until TEXT,
	disabled BOOLEAN NOT NULL DEFAULT FALSE,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	password_changed_at TEXT NOT NULL
);

-- A role held on an organisation subtree.
CREATE TABLE grants (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id BIGINT NOT NULL REFERENCES users (id),
	role TEXT NOT NULL,
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	created_at TEXT NOT NULL,
	UNIQUE (user_id, role, org_id)
);
CREATE INDEX grants_org ON grants (org_id);

-- Server-side sessions. The id is the hex SHA-256 of the cookie's token, so a copy of the
-- database does not hold usable sessions.
CREATE TABLE sessions (
	id TEXT PRIMARY KEY,
	user_id BIGINT NOT NULL REFERENCES users (id),
	ip TEXT NOT NULL,
	user_agent TEXT NOT NULL,
	created_at TEXT NOT NULL,
	last_seen_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- API tokens for integrations, stored as SHA-256; prefix is the token's first characters,
-- shown so that a user can tell tokens apart.
CREATE TABLE api_tokens (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id BIGINT NOT NULL REFERENCES users (id),
	name TEXT NOT NULL,
	token_hash TEXT NOT NULL UNIQUE,
	prefix TEXT NOT NULL,
	created_at TEXT NOT NULL,
	last_used_at TEXT,
	revoked_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);
