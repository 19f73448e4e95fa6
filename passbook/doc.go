// Package passbook is the Red Passbook (红色存折) of 元阳县元城镇社区: members earn honour points
// (荣誉积分) for community work, the points are reviewed, publicly posted (公示) and booked to an
// append-only double-entry ledger, converted into a spendable deposit (存款) in fen, redeemed in
// the points store (积分超市), ranked for commendation (评选推优), and printed like a bank
// passbook (补登折).
//
// # The model
//
// Settings belong to an organisation and are inherited by everything below it that has none of
// its own: the conversion rate (deposit fen per point), the 公示 length in days (0 posts on
// approval), whether a second review is required, whether deductions also reduce the deposit,
// deposit expiry (none, end of year, N months) and whether members see rankings.
//
// The catalog (积分事项清单) is inherited the same way: a county's items apply in every community
// below it, which may add its own. An item is a code with versions; changing an item writes a
// new version and claims keep the version they were made under.
//
// A passbook (存折) is opened for a person in a community: a printed number, a class such as
// 离退休党员, and a state (active, frozen, closed).
//
// # The ledger
//
// Every movement of points or money is a transaction of entries that sum to zero per asset.
// Each passbook has an honour account (asset "points") and a deposit account (asset "fen");
// each community has issuing accounts for both assets, a redemption account and an expiry
// account. A passbook account's running balance lives on the account and each of its entries
// records the balance after it, both written in the transaction that adds the entry; a
// community account's balance is the sum of its entries, so that a community's postings do not
// all wait on one row. Triggers refuse UPDATE and DELETE on entries and transactions. A correction is a reversal transaction linked to the original,
// and a transaction is reversed at most once. Honour points rise with earned points and fall
// only with deductions; redemptions touch the deposit alone. A passbook's deposit never goes
// below zero. Deposits are kept in lots with an expiry date so that redemption spends the
// lot that expires first and expiry removes exactly what is left of a lot.
//
// # Claims
//
// A claim moves submitted → (reviewed, when a second review is required) → publicised → posted;
// or rejected; or cancelled by its claimant before review. An objection during 公示 returns
// it to submitted. Caps per day, month and year are checked when a claim is submitted (to warn)
// and enforced when it is posted; a claim over a cap is refused at posting with the reason.
// Every change of state is a row of the claim's history.
package passbook
