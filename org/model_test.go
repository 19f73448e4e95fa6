package org_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
)

// today is the fixed "now" of the pure tests: 2026-05-10 10:00 in Asia/Shanghai.
var today = time.Date(2026, 5, 10, 2, 0, 0, 0, time.UTC)

// idNumber builds a valid 身份证号 from a region, a birth date (YYYYMMDD) and a sequence
// number; an odd sequence is a man.
func idNumber(region, birth string, seq int) string {
	body := fmt.Sprintf("%s%s%03d", region, birth, seq)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

func TestValidateIDNumber(t *testing.T) {
	cases := []struct {
		in, number, birth, gender string
		err                       string
	}{
		{in: "11010519491231002X", number: "11010519491231002X", birth: "1949-12-31", gender: "女"},
		{in: "11010519491231002x", number: "11010519491231002X", birth: "1949-12-31", gender: "女"},
		{in: " 532528199001010017 ", number: "532528199001010017", birth: "1990-01-01", gender: "男"},
		{in: "５３２５２８１９９００１０１００１７", number: "532528199001010017", birth: "1990-01-01", gender: "男"},
		{in: "532528200002290036", number: "532528200002290036", birth: "2000-02-29", gender: "男"},
		{in: "532528198506150029", number: "532528198506150029", birth: "1985-06-15", gender: "女"},
		{in: "532528199001010018", err: "身份证号校验位错误，应为7"},
		{in: "110105194912310021", err: "身份证号校验位错误，应为X"},
		{in: "", err: "请填写身份证号"},
		{in: "53252819900101001", err: "身份证号应为18位，实为17位"},
		{in: "5325281990010100170", err: "身份证号应为18位，实为19位"},
		{in: "53252819900101A017", err: "身份证号第15位应为数字"},
		{in: "53252819900101001Y", err: "身份证号第18位应为数字或X"},
		{in: "532528199002300011", err: "身份证号中的出生日期19900230无效"},
		{in: "532528199013010011", err: "身份证号中的出生日期19901301无效"},
		{in: "532528190002290011", err: "身份证号中的出生日期19000229无效"},
		{in: "532528189912310011", err: "身份证号中的出生日期18991231早于1900年"},
		{in: "532528202605110011", err: "身份证号中的出生日期20260511晚于今天"},
		{in: idNumber("532528", "20260510", 1), number: idNumber("532528", "20260510", 1), birth: "2026-05-10", gender: "男"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := org.ValidateIDNumber(c.in, today)
			if c.err != "" {
				var e *errs.Error
				if !errors.As(err, &e) || e.Kind != errs.KindInvalid || e.Field != "id_number" || e.Message != c.err {
					t.Fatalf("err = %v, want invalid id_number %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Number != c.number || got.BirthDate.Format(store.DateLayout) != c.birth || got.Gender != c.gender {
				t.Fatalf("got %s %s %s, want %s %s %s", got.Number, got.BirthDate.Format(store.DateLayout),
					got.Gender, c.number, c.birth, c.gender)
			}
		})
	}
}

// FuzzValidateIDNumber: the validator never panics, and whatever it accepts is a normalised
// number that validates again to the same result, with a birth date that is a real day
// between 1900 and today.
func FuzzValidateIDNumber(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "532528199001010017", "11010519491231002x", "", "x", "532528189912310011"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := org.ValidateIDNumber(s, today)
		if err != nil {
			if errs.KindOf(err) != errs.KindInvalid {
				t.Fatalf("error of kind %s: %v", errs.KindOf(err), err)
			}
			return
		}
		again, err := org.ValidateIDNumber(got.Number, today)
		if err != nil || again != got {
			t.Fatalf("accepted %q as %+v, but re-validating gives %+v, %v", s, got, again, err)
		}
		birth := got.Number[6:14]
		if d, err := time.Parse("20060102", birth); err != nil || !d.Equal(got.BirthDate) || d.Year() < 1900 || d.After(today) {
			t.Fatalf("accepted %q with birth date %s (%v)", s, birth, err)
		}
		if len(got.Number) != 18 || strings.ContainsFunc(got.Number[:17], func(r rune) bool { return r < '0' || r > '9' }) {
			t.Fatalf("accepted %q as malformed %q", s, got.Number)
		}
	})
}

func TestMasking(t *testing.T) {
	cases := []struct{ got, want string }{
		{org.MaskIDNumber("53252819900101001X"), "532528********001X"},
		{org.MaskMobile("13812345678"), "138****5678"},
		{org.MaskMobile(""), ""},
		{org.MaskMobile("12345"), "*****"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("masked %q, want %q", c.got, c.want)
		}
	}
}

func TestNormaliseMobileAndCode(t *testing.T) {
	for in, want := range map[string]string{"": "", "13812345678": "13812345678", "+86 138-1234-5678": "13812345678"} {
		if got, err := org.NormaliseMobile(in); err != nil || got != want {
			t.Errorf("NormaliseMobile(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"12812345678", "1381234567", "138123456789", "0871-1234567"} {
		if _, err := org.NormaliseMobile(in); errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("NormaliseMobile(%q) accepted", in)
		}
	}
	if _, err := org.NormaliseDivisionCode("53252810000"); errs.As(err).Field != "division_code" {
		t.Errorf("11-digit division code accepted: %v", err)
	}
	if got, err := org.NormaliseDivisionCode(" 532528100000 "); err != nil || got != "532528100000" {
		t.Errorf("NormaliseDivisionCode = %q, %v", got, err)
	}
}

func TestKinds(t *testing.T) {
	if len(org.Kinds()) != 13 || org.KindAlliance.Label() != "商圈党建联盟" || org.KindVillage.Label() != "村(社区)" {
		t.Fatalf("kinds %v", org.Kinds())
	}
	for _, in := range []string{"party_branch", "党支部"} {
		if k, err := org.ParseKind(in); err != nil || k != org.KindPartyBranch {
			t.Errorf("ParseKind(%q) = %q, %v", in, k, err)
		}
	}
	if _, err := org.ParseKind("帮派"); errs.As(err).Message != "未知的组织类型：帮派" {
		t.Errorf("ParseKind(帮派) = %v", err)
	}
}

func TestPersonInputValidate(t *testing.T) {
	man := idNumber("532528", "19600301", 11)
	valid := org.PersonInput{OrgID: 3, Name: " 张三 ", IDNumber: strings.ToLower(man), Mobile: "138 1234 5678",
		PoliticalStatus: "中共党员", PartyJoinedOn: "1985/7/1", Categories: []string{"志愿者", "离退休", "志愿者", ""}}

	t.Run("normalises and derives from the 身份证号", func(t *testing.T) {
		v, err := valid.Validate(today)
		if err != nil {
			t.Fatal(err)
		}
		want := org.ValidPerson{OrgID: 3, Name: "张三", Gender: "男", IDNumber: man, BirthDate: "1960-03-01",
			Mobile: "13812345678", PoliticalStatus: "中共党员", PartyJoinedOn: "1985-07-01",
			Categories: []string{"离退休", "志愿者"}}
		if fmt.Sprint(v) != fmt.Sprint(want) {
			t.Fatalf("got %+v\nwant %+v", v, want)
		}
	})

	cases := []struct {
		name   string
		change func(*org.PersonInput)
		want   []string // field: message
	}{
		{"gender contradicts the number", func(in *org.PersonInput) { in.Gender = "女" },
			[]string{"gender: 性别与身份证号不符"}},
		{"birth date contradicts the number", func(in *org.PersonInput) { in.BirthDate = "1960-03-02" },
			[]string{"birth_date: 出生日期与身份证号不符"}},
		{"joined the Party before 18", func(in *org.PersonInput) { in.PartyJoinedOn = "1978-02-28" },
			[]string{"party_joined_on: 入党日期早于年满18周岁之日"}},
		{"joining date for a non-member", func(in *org.PersonInput) { in.PoliticalStatus = "群众" },
			[]string{"party_joined_on: 政治面貌为群众时不应填写入党日期"}},
		{"joining date in the future", func(in *org.PersonInput) { in.PartyJoinedOn = "2026-05-11" },
			[]string{"party_joined_on: 入党日期晚于今天"}},
		{"every problem of a row at once", func(in *org.PersonInput) {
			*in = org.PersonInput{Name: "  ", Gender: "未知", IDNumber: "532528199001010018", Mobile: "123",
				PoliticalStatus: "无党派", Categories: []string{"学生"}}
		}, []string{
			"org_id: 请选择所属组织", "name: 请填写姓名", "id_number: 身份证号校验位错误，应为7",
			"gender: 性别应为男或女", "mobile: 手机号应为11位中国大陆手机号码",
			"political_status: 未知的政治面貌：无党派", "categories: 未知的人员类别：学生",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := valid
			in.Categories = slices.Clone(valid.Categories)
			c.change(&in)
			_, err := in.Validate(today)
			var ps org.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err = %v, want Problems", err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.Field+": "+p.Message)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if e := errs.As(err); e.Kind != errs.KindInvalid || e.Field != ps[0].Field {
				t.Fatalf("errs.As sees %+v, want the first problem", e)
			}
		})
	}
}
