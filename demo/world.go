package demo

import (
	"grassroots/auth"
	"grassroots/org"
)

var (
	retiree   = personSpec{region: "532528", minAge: 60, maxAge: 82, party: true, categories: []string{"离退休"}}
	resident  = personSpec{region: "532528", minAge: 18, maxAge: 70, categories: []string{"在职"}}
	volunteer = personSpec{region: "532528", minAge: 20, maxAge: 60, party: true, categories: []string{"在职", "志愿者"}}
)

// yuanyang is the Red Passbook pilot: 元城镇社区 with its Party branch, thirty residents of whom
// ten are retired Party members, and a smaller neighbouring community.
func (b *builder) yuanyang(province org.Org) error {
	county, err := b.chain(province,
		org.OrgInput{Name: "红河哈尼族彝族自治州", Kind: org.KindPrefecture, DivisionCode: "532500000000"},
		org.OrgInput{Name: "元阳县", Kind: org.KindCounty, DivisionCode: "532528000000"})
	if err != nil {
		return err
	}
	department, err := b.org(&county, "中共元阳县委组织部", org.KindGovUnit, "")
	if err != nil {
		return err
	}
	cadre, err := b.person(department, personSpec{region: "532528", minAge: 30, maxAge: 50, party: true, categories: []string{"在职", "公务员"}})
	if err != nil {
		return err
	}
	town, err := b.org(&county, "元城镇", org.KindTownship, "532528100000")
	if err != nil {
		return err
	}
	community, err := b.org(&town, "元城镇社区", org.KindVillage, "532528100001")
	if err != nil {
		return err
	}
	branch, err := b.org(&community, "元城镇社区党支部", org.KindPartyBranch, "")
	if err != nil {
		return err
	}
	b.community, b.county = community, county
	for range 10 {
		p, err := b.person(community, retiree)
		if err != nil {
			return err
		}
		b.retirees = append(b.retirees, p)
		if err := b.post(p, branch, "党员", p.PartyJoinedOn); err != nil {
			return err
		}
	}
	secretary, err := b.person(community, personSpec{region: "532528", minAge: 38, maxAge: 52, party: true, categories: []string{"在职", "村(社区)干部"}})
	if err != nil {
		return err
	}
	organiser, err := b.person(community, personSpec{region: "532528", minAge: 28, maxAge: 40, party: true, categories: []string{"在职", "村(社区)干部"}})
	if err != nil {
		return err
	}
	for _, post := range []struct {
		p        org.Person
		o        org.Org
		position string
	}{
		{secretary, branch, "党支部书记"}, {secretary, community, "村(社区)党组织书记"}, {organiser, branch, "组织委员"},
	} {
		if err := b.post(post.p, post.o, post.position, "2021-06-01"); err != nil {
			return err
		}
	}
	for i := range 18 {
		spec := resident
		if i%3 == 0 {
			spec = volunteer
		}
		if _, err := b.person(community, spec); err != nil {
			return err
		}
	}
	neighbour, err := b.org(&town, "南门社区", org.KindVillage, "532528100002")
	if err != nil {
		return err
	}
	for range 5 {
		if _, err := b.person(neighbour, resident); err != nil {
			return err
		}
	}
	for _, a := range []struct {
		username string
		role     auth.RoleKey
		o        org.Org
		p        org.Person
	}{
		{"yuanyang_zzb", auth.RoleOrgAdmin, county, cadre},
		{"shequ_shuji", auth.RoleUnitAdmin, community, secretary},
		{"shequ_shenhe", auth.RoleReviewer, community, organiser},
		{"dangyuan", auth.RoleMember, community, b.retirees[0]},
	} {
		if err := b.account(a.username, a.role, a.o, a.p); err != nil {
			return err
		}
	}
	return nil
}

// xishan is the routine-appraisal district: four government units of twenty civil servants,
// each led by a director and two deputies, with an HR officer. The district's organisation
// department (xishan_zzb), 财政局's HR office (xishan_czj), its director (xishan_juzhang) and
// one of its civil servants (xishan_keyuan) are demo accounts; the other bureaus' HR officers
// and directors have accounts of their own for the appraisal story.
func (b *builder) xishan(province org.Org) error {
	district, err := b.chain(province,
		org.OrgInput{Name: "昆明市", Kind: org.KindPrefecture, DivisionCode: "530100000000"},
		org.OrgInput{Name: "西山区", Kind: org.KindCounty, DivisionCode: "530112000000"})
	if err != nil {
		return err
	}
	b.xsDistrict = district
	if _, err := b.user("xishan_zzb", "西山区委组织部", auth.RoleOrgAdmin, district, 0, true); err != nil {
		return err
	}
	units := []struct{ name, code string }{{"西山区发展和改革局", "fgj"}, {"西山区财政局", "czj"}, {"西山区人力资源和社会保障局", "rsj"}, {"西山区市场监督管理局", "scj"}}
	for _, un := range units {
		unit, err := b.org(&district, un.name, org.KindGovUnit, "")
		if err != nil {
			return err
		}
		office, err := b.org(&unit, "办公室", org.KindDepartment, "")
		if err != nil {
			return err
		}
		xu := xsUnit{org: unit, merit: map[int64]int64{}}
		leaders := []string{"局长", "副局长", "副局长"}
		for j := range 20 {
			spec := personSpec{region: "530112", minAge: 24, maxAge: 58, party: b.names.chance(0.8), categories: []string{"在职", "公务员"}}
			home := unit
			if j < len(leaders) {
				spec.minAge, spec.party, spec.categories = 40, true, []string{"在职", "公务员", "领导干部"}
			} else if j%4 == 0 {
				home = office
			}
			p, err := b.person(home, spec)
			if err != nil {
				return err
			}
			xu.people = append(xu.people, p)
			xu.merit[p.ID] = 66 + int64(b.names.rng.IntN(30))
			if j < len(leaders) {
				xu.merit[p.ID] += 4
			}
			switch {
			case j < len(leaders):
				if err := b.post(p, unit, leaders[j], "2022-01-01"); err != nil {
					return err
				}
			case j == len(leaders):
				if err := b.post(p, unit, "组织人事干部", "2022-01-01"); err != nil {
					return err
				}
			}
		}
		director, hr := xu.people[0], xu.people[len(leaders)]
		listed := un.code == "czj"
		hrName := "xishan_" + un.code
		if !listed {
			hrName += "_renshi"
		}
		if xu.hr, err = b.user(hrName, hr.Name, auth.RoleUnitAdmin, unit, hr.ID, listed); err != nil {
			return err
		}
		dirName := "xishan_juzhang"
		if !listed {
			dirName = "xishan_" + un.code + "_juzhang"
		}
		if xu.director, err = b.user(dirName, director.Name, auth.RoleReviewer, unit, director.ID, listed); err != nil {
			return err
		}
		if listed {
			if _, err := b.user("xishan_keyuan", xu.people[5].Name, auth.RoleMember, unit, xu.people[5].ID, true); err != nil {
				return err
			}
		}
		b.xsUnits = append(b.xsUnits, xu)
	}
	return b.xishanSmall(district)
}

// xishanSmall adds two small units to 西山区, each with a head (领导干部) and two civil
// servants, and an HR office account of its own that is not appraised: pools too small to be
// graded alone, which the district grades merged.
func (b *builder) xishanSmall(district org.Org) error {
	for _, un := range []struct{ name, code, head string }{{"西山区档案馆", "dag", "馆长"}, {"西山区地方志编纂办公室", "dfz", "主任"}} {
		unit, err := b.org(&district, un.name, org.KindGovUnit, "")
		if err != nil {
			return err
		}
		xu := xsUnit{org: unit, merit: map[int64]int64{}}
		for j := range 3 {
			spec := personSpec{region: "530112", minAge: 26, maxAge: 56, party: true, categories: []string{"在职", "公务员"}}
			if j == 0 {
				spec.minAge, spec.categories = 40, []string{"在职", "公务员", "领导干部"}
			}
			p, err := b.person(unit, spec)
			if err != nil {
				return err
			}
			if j == 0 {
				if err := b.post(p, unit, un.head, "2022-01-01"); err != nil {
					return err
				}
			}
			xu.people = append(xu.people, p)
		}
		if xu.hr, err = b.user("xishan_"+un.code+"_renshi", un.name+"组织人事干部", auth.RoleUnitAdmin, unit, 0, false); err != nil {
			return err
		}
		b.xsSmall = append(b.xsSmall, xu)
	}
	return nil
}

// yongsheng has key private enterprises, each with two contacts and a county leader linked to
// it (领导干部挂钩联系民营企业).
func (b *builder) yongsheng(province org.Org) error {
	county, err := b.chain(province,
		org.OrgInput{Name: "丽江市", Kind: org.KindPrefecture, DivisionCode: "530700000000"},
		org.OrgInput{Name: "永胜县", Kind: org.KindCounty, DivisionCode: "530722000000"})
	if err != nil {
		return err
	}
	enterprises := []string{"永胜县金沙江果业有限公司", "永胜县程海湖生物科技有限公司", "永胜县边屯食品有限公司", "永胜县瓷韵文化发展有限公司"}
	for _, name := range enterprises {
		e, err := b.org(&county, name, org.KindEnterprise, "")
		if err != nil {
			return err
		}
		for range 2 {
			if _, err := b.person(e, personSpec{region: "530722", minAge: 28, maxAge: 60, party: b.names.chance(0.4), categories: []string{"在职", "企业联系人"}}); err != nil {
				return err
			}
		}
		leader, err := b.person(county, personSpec{region: "530722", minAge: 42, maxAge: 58, party: true, categories: []string{"在职", "公务员", "领导干部"}})
		if err != nil {
			return err
		}
		if err := b.post(leader, e, "挂钩联系领导", "2022-03-01"); err != nil {
			return err
		}
	}
	return nil
}

// zhaotong has two counties with a dozen villages, each run by three village cadres.
func (b *builder) zhaotong(province org.Org) error {
	city, err := b.org(&province, "昭通市", org.KindPrefecture, "530600000000")
	if err != nil {
		return err
	}
	counties := []struct {
		name, code, region, town, townCode string
		villages                           []string
	}{
		{"大关县", "530624000000", "530624", "吉利镇", "530624104000", []string{"鱼田村", "吉利村", "杉木村", "红岩村", "玉碗村", "新华村"}},
		{"鲁甸县", "530621000000", "530621", "文屏街道", "530621001000", []string{"砚池山村", "龙井社区", "牛栏江村", "卯家湾社区", "大水塘村", "松林村"}},
	}
	for _, c := range counties {
		town, err := b.chain(city,
			org.OrgInput{Name: c.name, Kind: org.KindCounty, DivisionCode: c.code},
			org.OrgInput{Name: c.town, Kind: org.KindTownship, DivisionCode: c.townCode})
		if err != nil {
			return err
		}
		for _, v := range c.villages {
			village, err := b.org(&town, v, org.KindVillage, "")
			if err != nil {
				return err
			}
			for k, position := range []string{"村(社区)党组织书记", "村(居)委会主任", "组织委员"} {
				p, err := b.person(village, personSpec{region: c.region, minAge: 30, maxAge: 58, party: k != 1 || b.names.chance(0.5), categories: []string{"在职", "村(社区)干部"}})
				if err != nil {
					return err
				}
				if err := b.post(p, village, position, "2021-03-01"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
