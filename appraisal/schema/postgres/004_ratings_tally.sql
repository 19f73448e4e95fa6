-- Computing a cycle's results folds its ratings per ratee, party and rater (cycleRatings: count,
-- sum, lowest and highest of each dimension). This index holds every column the fold reads, in
-- the order it groups them, so that the fold streams through the index alone (an index-only
-- scan): no sort, no look into the table. It leads with the columns of ap_ratings_cycle and
-- serves its queries.
CREATE INDEX ap_ratings_tally ON ap_ratings (cycle_id, ratee_id, party, rater_user_id) INCLUDE (de, neng, qin, ji, lian, rater, id);
DROP INDEX ap_ratings_cycle;
