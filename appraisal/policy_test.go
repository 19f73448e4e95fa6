package appraisal

import (
	"reflect"
	"testing"

	"grassroots/errs"
)

func TestPolicyInForceByDateAndUnitOverride(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		// Nobody has set a policy: the defaults.
		eff := must[EffectivePolicy](t)(w.svc.PolicyFor(ctx, w.hr, w.unit.ID, "2026Q3"))
		if eff.Source != SourceDefault || !reflect.DeepEqual(eff.Policy, DefaultPolicy) {
			t.Fatalf("without policies = %+v", eff)
		}

		// The district sets 30% for 2026 and, from the third quarter, 35% with unit override allowed.
		first := DefaultPolicy
		first.GoodQuotaPct = 30
		must[PolicyVersion](t)(w.svc.SetPolicy(ctx, w.districtAdmin, PolicyInput{OrgID: w.district.ID, EffectiveFrom: "2026-01-01", Policy: first}))
		second := DefaultPolicy
		second.GoodQuotaPct, second.AllowUnitOverride = 35, true
		must[PolicyVersion](t)(w.svc.SetPolicy(ctx, w.districtAdmin, PolicyInput{OrgID: w.district.ID, EffectiveFrom: "2026-07-01", Policy: second}))

		// The unit may not set its own while the district's policy in force does not allow it.
		own := second
		own.AllowUnitOverride, own.GoodQuotaPct = false, 30
		own.DimensionWeights = DimValues{10, 15, 15, 50, 10}
		_, err := w.svc.SetPolicy(ctx, w.hr, PolicyInput{OrgID: w.unit.ID, EffectiveFrom: "2026-04-01", Policy: own})
		wantErr(t, "override under the first policy", err, errs.KindForbidden, "“西山区”的考核政策不允许下级单位自定政策")
		// Nor loosen the quota.
		loose := own
		loose.GoodQuotaPct = 45
		_, err = w.svc.SetPolicy(ctx, w.hr, PolicyInput{OrgID: w.unit.ID, EffectiveFrom: "2026-08-01", Policy: loose})
		wantErr(t, "looser quota", err, errs.KindInvalid, "不得高于区级规定的35%")
		must[PolicyVersion](t)(w.svc.SetPolicy(ctx, w.hr, PolicyInput{OrgID: w.unit.ID, EffectiveFrom: "2026-08-01", Policy: own}))

		for _, c := range []struct {
			quarter string
			org     int64
			source  string
			quota   int64
			ji      int64
		}{
			{"2026Q1", w.unit.ID, SourceInherited, 30, 40},
			{"2026Q3", w.unit.ID, SourceInherited, 35, 40}, // the unit's own starts on 08-01, after the quarter's first day
			{"2026Q4", w.unit.ID, SourceOwn, 30, 50},
			{"2026Q4", w.other.ID, SourceInherited, 35, 40},
			{"2025Q4", w.unit.ID, SourceDefault, 40, 40},
		} {
			eff, err := w.svc.PolicyFor(ctx, w.districtAdmin, c.org, c.quarter)
			if err != nil || eff.Source != c.source || eff.Policy.GoodQuotaPct != c.quota || eff.Policy.DimensionWeights[DimJi] != c.ji {
				t.Errorf("%s at %d: %+v %v; want %s quota %d 绩 %d", c.quarter, c.org, eff, err, c.source, c.quota, c.ji)
			}
		}

		// A policy in force cannot be changed; a future one can.
		_, err = w.svc.SetPolicy(ctx, w.districtAdmin, PolicyInput{OrgID: w.district.ID, EffectiveFrom: "2026-01-01", Policy: second})
		wantErr(t, "changing a policy in force", err, errs.KindConflict, "已于2026-01-01生效")
		own.GoodQuotaPct = 25
		if v, err := w.svc.SetPolicy(ctx, w.hr, PolicyInput{OrgID: w.unit.ID, EffectiveFrom: "2026-08-01", Policy: own}); err != nil || v.Policy.GoodQuotaPct != 25 {
			t.Fatalf("replacing a future policy: %+v %v", v, err)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM ap_policies WHERE org_id = ?`, w.unit.ID); n != 1 {
			t.Fatalf("unit has %d policy rows, want 1 (replaced)", n)
		}

		// Bad weights: refused with the sum, nothing written.
		bad := DefaultPolicy
		bad.DimensionWeights[DimDe] = 5
		_, err = w.svc.SetPolicy(ctx, w.districtAdmin, PolicyInput{OrgID: w.district.ID, EffectiveFrom: "2027-01-01", Policy: bad})
		wantErr(t, "weights summing to 95", err, errs.KindInvalid, "德能勤绩廉权重之和应为100，现为95")
		_, err = w.svc.SetPolicy(ctx, w.districtAdmin, PolicyInput{OrgID: w.district.ID, EffectiveFrom: "2027-13-01", Policy: DefaultPolicy})
		wantErr(t, "bad date", err, errs.KindInvalid, "生效日期应为 YYYY-MM-DD")
		if n := w.count(t, `SELECT COUNT(*) FROM ap_policies`); n != 3 {
			t.Fatalf("%d policies after refusals, want 3", n)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'appraisal.policy'`); n != 4 {
			t.Fatalf("%d policy audit records, want 4", n)
		}

		// Another unit's HR cannot see, let alone set, this unit's policy; unit HR cannot set the district's.
		_, err = w.svc.SetPolicy(ctx, w.otherHR, PolicyInput{OrgID: w.unit.ID, EffectiveFrom: "2027-01-01", Policy: own})
		wantErr(t, "other unit's HR", err, errs.KindNotFound, "组织不存在")
		_, err = w.svc.SetPolicy(ctx, w.hr, PolicyInput{OrgID: w.district.ID, EffectiveFrom: "2027-01-01", Policy: DefaultPolicy})
		wantErr(t, "unit HR on the district", err, errs.KindNotFound, "组织不存在")
		if list := must[[]PolicyVersion](t)(w.svc.ListPolicies(ctx, w.hr, w.unit.ID)); len(list) != 1 || list[0].EffectiveFrom != "2026-08-01" {
			t.Fatalf("unit policies = %+v", list)
		}
	})
}
