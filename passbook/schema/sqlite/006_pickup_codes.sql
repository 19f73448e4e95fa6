-- A pickup code is what staff type at the counter to find an order: unique among a community's
-- orders waiting to be collected, and looked up by the code first, so that neither drawing a
-- fresh code nor the pick-up scans the community's open orders.
CREATE UNIQUE INDEX pb_orders_pickup ON pb_orders (pickup_code, org_id) WHERE state = 'placed';
