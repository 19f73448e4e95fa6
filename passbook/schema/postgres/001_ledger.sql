-- Red Passbook core: settings, passbooks, the double-entry ledger, deposit lots, ranking totals.

-- Settings per organisation, inherited by its subtree.
CREATE TABLE pb_settings (
	org_id BIGINT PRIMARY KEY REFERENCES orgs (id),
	fen_per_point BIGINT NOT NULL CHECK (fen_per_point >= 0),
	publicity_days BIGINT NOT NULL CHECK (publicity_days >= 0),
	second_review BOOLEAN NOT NULL DEFAULT FALSE,
	deductions_reduce_deposit BOOLEAN NOT NULL DEFAULT FALSE,
	deposit_expiry TEXT NOT NULL DEFAULT 'none' CHECK (deposit_expiry IN ('none', 'year_end', 'months')),
	expiry_months BIGINT NOT NULL DEFAULT 0 CHECK (expiry_months >= 0),
	rankings_public BOOLEAN NOT NULL DEFAULT TRUE,
	updated_at TEXT NOT NULL
);

CREATE TABLE pb_passbooks (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	person_id BIGINT NOT NULL REFERENCES people (id),
	number TEXT NOT NULL UNIQUE,
	class TEXT NOT NULL,
	state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'frozen', 'closed')),
	opened_on TEXT NOT NULL,
	-- The last entry printed into the paper passbook (补登折 prints what follows).
	printed_through BIGINT NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX pb_passbooks_person ON pb_passbooks (person_id, org_id) WHERE state <> 'closed';
CREATE INDEX pb_passbooks_org ON pb_passbooks (org_id, id);

-- Accounts: a passbook's honour points and deposit, whose balances are kept here and move
-- only with entries; a community's issuing, redemption and expiry accounts, whose balances
-- are the sums of their entries (balance stays 0), so postings do not queue on them.
CREATE TABLE pb_accounts (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	passbook_id BIGINT REFERENCES pb_passbooks (id),
	kind TEXT NOT NULL CHECK (kind IN ('honor', 'deposit', 'issue_points', 'issue_fen', 'redeemed', 'expired')),
	asset TEXT NOT NULL CHECK (asset IN ('points', 'fen')),
	balance BIGINT NOT NULL DEFAULT 0,
	CHECK (kind <> 'deposit' OR balance >= 0)
);
CREATE UNIQUE INDEX pb_accounts_passbook ON pb_accounts (passbook_id, kind) WHERE passbook_id IS NOT NULL;
CREATE UNIQUE INDEX pb_accounts_org ON pb_accounts (org_id, kind) WHERE passbook_id IS NULL;

CREATE TABLE pb_transactions (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	passbook_id BIGINT REFERENCES pb_passbooks (id),
	kind TEXT NOT NULL CHECK (kind IN ('earn', 'deduct', 'redeem', 'expire', 'reversal')),
	memo TEXT NOT NULL,
	business_date TEXT NOT NULL,
	claim_id BIGINT,
	reverses_id BIGINT UNIQUE REFERENCES pb_transactions (id),
	actor_id BIGINT,
	actor TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX pb_transactions_passbook ON pb_transactions (passbook_id, id);
CREATE INDEX pb_transactions_org_date ON pb_transactions (org_id, business_date);

CREATE TABLE pb_entries (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tx_id BIGINT NOT NULL REFERENCES pb_transactions (id),
	account_id BIGINT NOT NULL REFERENCES pb_accounts (id),
	asset TEXT NOT NULL,
	amount BIGINT NOT NULL,
	-- The passbook account's balance after this entry; NULL on a community account, whose
	-- balance is the sum of its entries.
	balance_after BIGINT
);
CREATE INDEX pb_entries_account ON pb_entries (account_id, id);
CREATE INDEX pb_entries_tx ON pb_entries (tx_id);


-- Deposit in lots, so that the lot expiring first is spent first and expiry takes exactly what
-- is left of a lot. lot_uses records which lots a transaction drew on, for its reversal.
CREATE TABLE pb_deposit_lots (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	passbook_id BIGINT NOT NULL REFERENCES pb_passbooks (id),
	tx_id BIGINT NOT NULL REFERENCES pb_transactions (id),
	amount BIGINT NOT NULL CHECK (amount > 0),
	remaining BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
	expires_on TEXT
);
CREATE INDEX pb_deposit_lots_open ON pb_deposit_lots (passbook_id, expires_on) WHERE remaining > 0;
CREATE INDEX pb_deposit_lots_expiry ON pb_deposit_lots (expires_on) WHERE remaining > 0;

CREATE TABLE pb_lot_uses (
	tx_id BIGINT NOT NULL REFERENCES pb_transactions (id),
	lot_id BIGINT NOT NULL REFERENCES pb_deposit_lots (id),
	amount BIGINT NOT NULL CHECK (amount > 0),
	PRIMARY KEY (tx_id, lot_id)
);

-- Honour points per passbook and period ('all', '2026', '2026Q4', '2026-11'), kept with the
-- postings, for rankings.
CREATE TABLE pb_points_totals (
	period TEXT NOT NULL,
	passbook_id BIGINT NOT NULL REFERENCES pb_passbooks (id),
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	points BIGINT NOT NULL,
	PRIMARY KEY (period, passbook_id)
);
CREATE INDEX pb_points_totals_org ON pb_points_totals (period, org_id, points);
CREATE INDEX pb_points_totals_top ON pb_points_totals (period, points);

-- Idempotency keys of retried writes: the same key and body return the original entity.
CREATE TABLE pb_idempotency (
	user_id BIGINT NOT NULL,
	key TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	entity TEXT NOT NULL,
	entity_id BIGINT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (user_id, key)
);

CREATE FUNCTION pb_append_only() RETURNS trigger AS $$
BEGIN
	RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER pb_transactions_append_only BEFORE UPDATE OR DELETE ON pb_transactions
	FOR EACH ROW EXECUTE FUNCTION pb_append_only();
CREATE TRIGGER pb_entries_append_only BEFORE UPDATE OR DELETE ON pb_entries
	FOR EACH ROW EXECUTE FUNCTION pb_append_only();
