-- Red Passbook core: settings, passbooks, the double-entry ledger, deposit lots, ranking totals.

-- Settings per organisation, inherited by its subtree.
CREATE TABLE pb_settings (
	org_id INTEGER PRIMARY KEY REFERENCES orgs (id),
	fen_per_point INTEGER NOT NULL CHECK (fen_per_point >= 0),
	publicity_days INTEGER NOT NULL CHECK (publicity_days >= 0),
	second_review INTEGER NOT NULL DEFAULT 0,
	deductions_reduce_deposit INTEGER NOT NULL DEFAULT 0,
	deposit_expiry TEXT NOT NULL DEFAULT 'none' CHECK (deposit_expiry IN ('none', 'year_end', 'months')),
	expiry_months INTEGER NOT NULL DEFAULT 0 CHECK (expiry_months >= 0),
	rankings_public INTEGER NOT NULL DEFAULT 1,
	updated_at TEXT NOT NULL
);

CREATE TABLE pb_passbooks (
	id INTEGER PRIMARY KEY,
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	person_id INTEGER NOT NULL REFERENCES people (id),
	number TEXT NOT NULL UNIQUE,
	class TEXT NOT NULL,
	state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'frozen', 'closed')),
	opened_on TEXT NOT NULL,
	-- The last entry printed into the paper passbook (补登折 prints what follows).
	printed_through INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX pb_passbooks_person ON pb_passbooks (person_id, org_id) WHERE state <> 'closed';
CREATE INDEX pb_passbooks_org ON pb_passbooks (org_id, id);

-- Accounts: a passbook's honour points and deposit, whose balances are kept here and move
-- only with entries; a community's issuing, redemption and expiry accounts, whose balances
-- are the sums of their entries (balance stays 0), so postings do not queue on them.
CREATE TABLE pb_accounts (
	id INTEGER PRIMARY KEY,
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	passbook_id INTEGER REFERENCES pb_passbooks (id),
	kind TEXT NOT NULL CHECK (kind IN ('honor', 'deposit', 'issue_points', 'issue_fen', 'redeemed', 'expired')),
	asset TEXT NOT NULL CHECK (asset IN ('points', 'fen')),
	balance INTEGER NOT NULL DEFAULT 0,
	CHECK (kind <> 'deposit' OR balance >= 0)
);
CREATE UNIQUE INDEX pb_accounts_passbook ON pb_accounts (passbook_id, kind) WHERE passbook_id IS NOT NULL;
CREATE UNIQUE INDEX pb_accounts_org ON pb_accounts (org_id, kind) WHERE passbook_id IS NULL;

CREATE TABLE pb_transactions (
	id INTEGER PRIMARY KEY,
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	passbook_id INTEGER REFERENCES pb_passbooks (id),
	kind TEXT NOT NULL CHECK (kind IN ('earn', 'deduct', 'redeem', 'expire', 'reversal')),
	memo TEXT NOT NULL,
	business_date TEXT NOT NULL,
	claim_id INTEGER,
	reverses_id INTEGER UNIQUE REFERENCES pb_transactions (id),
	actor_id INTEGER,
	actor TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX pb_transactions_passbook ON pb_transactions (passbook_id, id);
CREATE INDEX pb_transactions_org_date ON pb_transactions (org_id, business_date);

CREATE TABLE pb_entries (
	id INTEGER PRIMARY KEY,
	tx_id INTEGER NOT NULL REFERENCES pb_transactions (id),
	account_id INTEGER NOT NULL REFERENCES pb_accounts (id),
	asset TEXT NOT NULL,
	amount INTEGER NOT NULL,
	-- The passbook account's balance after this entry; NULL on a community account, whose
	-- balance is the sum of its entries.
	balance_after INTEGER
);
CREATE INDEX pb_entries_account ON pb_entries (account_id, id);
CREATE INDEX pb_entries_tx ON pb_entries (tx_id);

CREATE TRIGGER pb_transactions_no_update BEFORE UPDATE ON pb_transactions
BEGIN SELECT RAISE(ABORT, 'pb_transactions is append-only'); END;
CREATE TRIGGER pb_transactions_no_delete BEFORE DELETE ON pb_transactions
BEGIN SELECT RAISE(ABORT, 'pb_transactions is append-only'); END;
CREATE TRIGGER pb_entries_no_update BEFORE UPDATE ON pb_entries
BEGIN SELECT RAISE(ABORT, 'pb_entries is append-only'); END;
CREATE TRIGGER pb_entries_no_delete BEFORE DELETE ON pb_entries
BEGIN SELECT RAISE(ABORT, 'pb_entries is append-only'); END;

-- Deposit in lots, so that the lot expiring first is spent first and expiry takes exactly what
-- is left of a lot. lot_uses records which lots a transaction drew on, for its reversal.
CREATE TABLE pb_deposit_lots (
	id INTEGER PRIMARY KEY,
	passbook_id INTEGER NOT NULL REFERENCES pb_passbooks (id),
	tx_id INTEGER NOT NULL REFERENCES pb_transactions (id),
	amount INTEGER NOT NULL CHECK (amount > 0),
	remaining INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
	expires_on TEXT
);
CREATE INDEX pb_deposit_lots_open ON pb_deposit_lots (passbook_id, expires_on) WHERE remaining > 0;
CREATE INDEX pb_deposit_lots_expiry ON pb_deposit_lots (expires_on) WHERE remaining > 0;

CREATE TABLE pb_lot_uses (
	tx_id INTEGER NOT NULL REFERENCES pb_transactions (id),
	lot_id INTEGER NOT NULL REFERENCES pb_deposit_lots (id),
	amount INTEGER NOT NULL CHECK (amount > 0),
	PRIMARY KEY (tx_id, lot_id)
);

-- Honour points per passbook and period ('all', '2026', '2026Q4', '2026-11'), kept with the
-- postings, for rankings.
CREATE TABLE pb_points_totals (
	period TEXT NOT NULL,
	passbook_id INTEGER NOT NULL REFERENCES pb_passbooks (id),
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	points INTEGER NOT NULL,
	PRIMARY KEY (period, passbook_id)
);
CREATE INDEX pb_points_totals_org ON pb_points_totals (period, org_id, points);
CREATE INDEX pb_points_totals_top ON pb_points_totals (period, points);

-- Idempotency keys of retried writes: the same key and body return the original entity.
CREATE TABLE pb_idempotency (
	user_id INTEGER NOT NULL,
	key TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	entity TEXT NOT NULL,
	entity_id INTEGER NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (user_id, key)
);
