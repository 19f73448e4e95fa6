// Package appraisal is the routine appraisal of civil servants (公务员平时考核) as 昆明市西山区
// runs it: every quarter each unit appraises its civil servants on 德、能、勤、绩、廉 through a
// comprehensive evaluation by three parties, and grades them 好、较好、一般、较差 within pools
// that keep leaders and ordinary civil servants apart.
//
// # Policy
//
// A district sets a policy from a date (ap_policies: one row per organisation and effective
// date, terms as JSON of integers): dimension weights, three-party weights, grade bands, the
// 好 quota, the share of target tasks in 能/勤/绩, the 争先赛, trimming of mass ratings,
// merging of small units, uniform-scoring thresholds, the annual rule and whether units may set
// their own. The policy of a quarter is the one in force on its first day: the nearest
// organisation above the unit that has one, else DefaultPolicy (西山区's numbers); the unit's
// own where that policy allows it, never looser on quotas. A policy that has come into force
// is not changed; a new one is set from a later date.
//
// # Lists
//
// Negative lists (负面清单) for 德 and 廉 and the add/deduct catalog (加扣分清单) belong to an
// organisation and apply in every unit below it. A negative item deducts points, caps the
// grade at 一般 or sets 较差. Hits and add/deduct entries are an append-only record
// (triggers refuse UPDATE and DELETE): one person enters, another confirms or rejects, a
// confirmed entry is corrected by a reversal entry, once. Only confirmed, unreversed entries
// count.
//
// # Cycles, targets and ratings
//
// A cycle is a unit's quarter. Opening it takes the unit's civil servants (category 公务员)
// as appraisees, in the leaders' pool when they are 领导干部 or hold a leading post in the unit,
// else in the staff pool; HR may set anyone's pool. Target tasks for 能/勤/绩 carry a weight,
// a standard and a base score; the person reports, the supervising leader assesses: met earns
// the base score (达标赛), not met a lower score. The supervising leader and HR
// (appraisal.manage) rate signed in. Who is the supervising leader follows the post, not
// the role: the person holding a supervising post (主管领导, 分管领导 or a leading post such as
// 局长) today in the ratee's organisation or one above it; appraisal.rate, which every staff
// role holds, only opens the door, so administrators still hold every permission of a
// reviewer they grant, and HR cannot rate as the leader without the post; cadres and the masses rate through
// one-time links whose tokens are stored hashed, whose ratings record neither the link, the
// rater nor a time, and which refuse a second use.
//
// # Scores and grades
//
// All arithmetic is integer, in hundredths of a point, rounded half away from zero at each
// step the breakdown shows (model.go): per party and dimension the average (mass ratings
// trimmed of their highest and lowest when the policy says so); per dimension the parties'
// weighted average over the parties that rated (rescaling when one is absent); for 能/勤/绩
// with assessed tasks, a blend with the target score; the weighted base; plus add/deduct
// entries and 争先赛 bonuses; minus negative-list deductions; then caps and 较差 last. Within
// each pool grades follow the bands, and at most the quota (rounded down, at least the
// minimum) are 好, best first by composite, then 绩, then 德; people still tied across the
// quota's edge wait for HR, who decides with a recorded reason. Raters who give everyone
// nearly the same total and pools whose scores barely differ are flagged.
//
// # The seven steps
//
// A cycle goes through 制定目标任务, 个人小结, 干部群众测评, 主管领导评价, 组织人事部门综合评定,
// 结果反馈与公示 and 备案 (workflow.go). Opening it fixes each step's deadline from the
// policy's StepDays (days after the quarter's last day); HR closes the step under way, and
// the writes that belong to a closed step are refused with the step's name (targets and
// appraisees after 1, summaries and task reports after 2, links and mass ratings after 3,
// the leader's ratings and assessments after 4, HR's ratings, entries, computing and ties
// after 5, reviews after 6); writes before their step are allowed. Closing 1 needs a task for
// everyone; closing 5 computes, needs no pending tie, publishes the results and opens the
// review (复核) window of ReviewDays working days (weekends and the policy's Holidays do not
// count); an appraisee asks once within it, HR upholds or changes the grade (a 好 only
// within the pool's quota) with the answer recorded, and a grade so changed stands when the quarter
// is reopened and computed again; closing 6 needs every request answered
// and the window past; closing 7 files an immutable snapshot (ap_filings, append-only) with
// its SHA-256, checked again whenever filings are read. After filing every write is refused
// until the organisation above the unit reopens it at a step with a reason (ap_reopens); the
// quarter is then filed again as the next version. Steps past their deadline are overdue.
//
// # Merged pools of small units
//
// When the policy in force for a unit's quarter merges small units, each of its pools
// (leaders, staff) with fewer appraisees than MinPoolSize is small, and is graded with the
// same pool of every other small unit below the same organisation in the quarter (merges.go).
// The organisation above (the district's 组织人事部门, appraisal.manage over it) triggers it
// (MergePools), once every unit with a small pool is at step 5: each unit is computed, the
// small pools of a kind are graded as one by GradePool (the 好 quota on the merged size, the
// policy's rounding and minimum; bands, caps, ties broken by 绩 then 德) and the grading is
// stored (ap_pool_merges, with its members) with every person's inputs and outcome. Members
// must share one policy version. The 争先赛 of a merged pool is run over the merged pool:
// each unit's computation gives a person's score before the contest (the base, list entries
// and negative-list deductions) and dimension scores; the merged grading drops the units' own
// contests, awards the top share of the whole merged pool on each of 能、勤、绩, and grades on
// the composites that gives (the contest ranks dimension scores, which no bonus changes, so
// the order is contest, then grading, as in a unit's own pool). Each unit's computation then
// takes its small pools' grades and bonuses from the merged grading in force (the latest of
// the organisation, quarter and pool), as long as every unit's people and their scores before
// the contest are still those it was made from; results carry the merged pool's key
// (pool_key m<id>:<pool>), the rank is the rank in the merged pool and the unit's summary
// names the merged units, size and quota. A unit whose small pool has no merged grading yet
// is graded alone meanwhile and cannot close step 5.
//
// When any unit's scores in a merged pool change after its grading (a rating, an entry, a
// reopened quarter computed again), the grading is stale for every unit of it: their grades
// in that pool are held (no grade, status merge_stale, no contest bonus), each unit's page
// and the district's merge page name the units that changed, and no unit can close step 5
// until the district grades the pool again (a tie of a stale grading cannot be decided
// either). Grading again returns a member that had already confirmed step 5 on the stale
// grading (published or in step 6 or 7) to step 5: its results are unpublished, the return
// is recorded with the reopenings (ap_reopens) with the reason, and its HR confirms again.
// A filed member is never changed by a merge: the district is told to reopen it at step 5
// first, and nothing is written. A pool whose grading still holds is not graded again once
// any member has confirmed. A tie at the merged quota's edge is the district's to decide
// (DecideMergedTie), with a recorded reason stored with each person's cycle; the unit's HR
// cannot. Merged grading takes every member's results lock and step lock, in cycle order,
// as a unit's computation and a step's closing do. The 好 quota of reviews and the
// district's quota check count a merged pool whole.
//
// # District oversight
//
// An organisation above units sees, for a quarter, every government unit below it (and any
// other organisation that opened a cycle): its step, overdue steps, pools whose 好 exceed the
// quota as the results stand (reviews included), filings missing after their deadline, and
// uniform scoring (oversight.go). It issues rectification orders (督促整改) to a unit below
// it; the unit answers, and the organisation above closes the answered order.
//
// # Results in use
//
// Published results (step 5 closed) are what the quarter's grades are used for
// (results_use.go): a person's year with the annual proposal under the policy's annual rule,
// a unit's year pool by pool with the annual 优秀 quota (the share rounded down, at least one
// place in any pool that is not empty, as the quarter's 好 quota), and an Excel export for promotion
// review with every number of the breakdown. HR keeps the quarter's roster and target task
// lists in Excel too: imports are all or nothing with an error report (excel.go).
package appraisal
