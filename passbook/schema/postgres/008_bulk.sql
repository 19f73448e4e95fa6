-- Only claims in 公示 are looked up by the day it ends: a posted claim, nearly all of them,
-- stays out of the index, which every posting would otherwise move.
DROP INDEX pb_claims_due;
CREATE INDEX pb_claims_due ON pb_claims (publicity_ends_on) WHERE state = 'publicized';
