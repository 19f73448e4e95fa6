-- Rankings read only indexes. The two ranking indexes of 001 are widened so that a ranking's
-- queries never visit the table rows: the top of a large subtree walks pb_points_totals_top from
-- the highest points down (passbook and community in the index, ties in passbook order), and
-- counts and small subtrees read pb_points_totals_org per community. They replace the narrower
-- ones rather than sit beside them, so a posting still updates two ranking indexes.
DROP INDEX pb_points_totals_org;
DROP INDEX pb_points_totals_top;
CREATE INDEX pb_points_totals_org ON pb_points_totals (period, org_id, points, passbook_id);
CREATE INDEX pb_points_totals_top ON pb_points_totals (period, points, passbook_id, org_id);

-- Passbooks per community and state: the field a rank is out of (active ones) and the few that
-- rankings leave out (frozen, closed) are read from the index alone.
CREATE INDEX pb_passbooks_org_state ON pb_passbooks (org_id, state);
