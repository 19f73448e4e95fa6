-- The points store (积分超市): rewards, audited stock moves, redemption orders.

CREATE TABLE pb_rewards (
	id INTEGER PRIMARY KEY,
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	name TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	price_fen INTEGER NOT NULL CHECK (price_fen > 0),
	stock INTEGER NOT NULL CHECK (stock >= 0),
	photo BLOB,
	photo_type TEXT NOT NULL DEFAULT '',
	archived_at TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX pb_rewards_org ON pb_rewards (org_id, id);

CREATE TABLE pb_stock_moves (
	id INTEGER PRIMARY KEY,
	reward_id INTEGER NOT NULL REFERENCES pb_rewards (id),
	delta INTEGER NOT NULL,
	stock_after INTEGER NOT NULL,
	reason TEXT NOT NULL,
	order_id INTEGER,
	actor_id INTEGER,
	actor TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX pb_stock_moves_reward ON pb_stock_moves (reward_id, id);
CREATE TRIGGER pb_stock_moves_no_update BEFORE UPDATE ON pb_stock_moves
BEGIN SELECT RAISE(ABORT, 'pb_stock_moves is append-only'); END;
CREATE TRIGGER pb_stock_moves_no_delete BEFORE DELETE ON pb_stock_moves
BEGIN SELECT RAISE(ABORT, 'pb_stock_moves is append-only'); END;

CREATE TABLE pb_orders (
	id INTEGER PRIMARY KEY,
	org_id INTEGER NOT NULL REFERENCES orgs (id),
	passbook_id INTEGER NOT NULL REFERENCES pb_passbooks (id),
	reward_id INTEGER NOT NULL REFERENCES pb_rewards (id),
	quantity INTEGER NOT NULL CHECK (quantity > 0),
	unit_price_fen INTEGER NOT NULL,
	total_fen INTEGER NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('placed', 'fulfilled', 'cancelled')),
	pickup_code TEXT NOT NULL,
	tx_id INTEGER NOT NULL REFERENCES pb_transactions (id),
	cancel_tx_id INTEGER REFERENCES pb_transactions (id),
	created_by INTEGER,
	created_by_name TEXT NOT NULL,
	created_at TEXT NOT NULL,
	closed_at TEXT,
	closed_by_name TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX pb_orders_passbook ON pb_orders (passbook_id, id);
CREATE INDEX pb_orders_org_state ON pb_orders (org_id, state, id);
