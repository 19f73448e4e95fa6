-- The points store (积分超市): rewards, audited stock moves, redemption orders.

CREATE TABLE pb_rewards (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	name TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	price_fen BIGINT NOT NULL CHECK (price_fen > 0),
	stock BIGINT NOT NULL CHECK (stock >= 0),
	photo BYTEA,
	photo_type TEXT NOT NULL DEFAULT '',
	archived_at TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX pb_rewards_org ON pb_rewards (org_id, id);

CREATE TABLE pb_stock_moves (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	reward_id BIGINT NOT NULL REFERENCES pb_rewards (id),
	delta BIGINT NOT NULL,
	stock_after BIGINT NOT NULL,
	reason TEXT NOT NULL,
	order_id BIGINT,
	actor_id BIGINT,
	actor TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX pb_stock_moves_reward ON pb_stock_moves (reward_id, id);

CREATE TABLE pb_orders (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id BIGINT NOT NULL REFERENCES orgs (id),
	passbook_id BIGINT NOT NULL REFERENCES pb_passbooks (id),
	reward_id BIGINT NOT NULL REFERENCES pb_rewards (id),
	quantity BIGINT NOT NULL CHECK (quantity > 0),
	unit_price_fen BIGINT NOT NULL,
	total_fen BIGINT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('placed', 'fulfilled', 'cancelled')),
	pickup_code TEXT NOT NULL,
	tx_id BIGINT NOT NULL REFERENCES pb_transactions (id),
	cancel_tx_id BIGINT REFERENCES pb_transactions (id),
	created_by BIGINT,
	created_by_name TEXT NOT NULL,
	created_at TEXT NOT NULL,
	closed_at TEXT,
	closed_by_name TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX pb_orders_passbook ON pb_orders (passbook_id, id);
CREATE INDEX pb_orders_org_state ON pb_orders (org_id, state, id);
CREATE TRIGGER pb_stock_moves_append_only BEFORE UPDATE OR DELETE ON pb_stock_moves
	FOR EACH ROW EXECUTE FUNCTION pb_append_only();
