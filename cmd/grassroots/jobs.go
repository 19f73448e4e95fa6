package main

import (
	"context"
	"log/slog"
	"time"
)

// jobInterval is how often the server looks for due work. 公示 periods end at midnight, so a
// claim posts at most this long after its period ends.
const jobInterval = 10 * time.Minute

// runJobs does the periodic work of the running server until ctx ends: posting claims whose
// 公示 period is over and expiring deposits past their date. Each job is safe to run on several
// servers at once and books nothing when there is nothing due.
func runJobs(ctx context.Context, log *slog.Logger, a *app) {
	tick := time.NewTicker(jobInterval)
	defer tick.Stop()
	for {
		posted, refused, err := a.passbook.PostDue(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("post due claims", "err", err.Error())
		case posted+refused > 0:
			log.Info("posted due claims", "posted", posted, "refused", refused)
		}
		lots, fen, err := a.passbook.ExpireDeposits(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("expire deposits", "err", err.Error())
		case lots > 0:
			log.Info("expired deposits", "lots", lots, "fen", fen)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
