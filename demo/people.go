package demo

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// namer invents people: Chinese names common in Yunnan and valid 身份证号 for a county. It is
// seeded, so the demo world is the same on every machine.
type namer struct {
	rng  *rand.Rand
	used map[string]bool
	seq  map[string]int
}

func newNamer() *namer {
	return &namer{rng: rand.New(rand.NewPCG(2026, 11)), used: map[string]bool{}, seq: map[string]int{}}
}

var (
	surnames = []string{"李", "王", "张", "杨", "刘", "陈", "赵", "马", "普", "罗", "白", "卢", "朱", "周", "何", "高",
		"段", "字", "龙", "钱", "孙", "郭", "黄", "吴", "徐", "胡", "许", "施", "蒋", "沈"}
	maleGiven = []string{"国华", "建明", "志强", "文华", "明亮", "正清", "德才", "永福", "光荣", "学文", "立新",
		"海涛", "云峰", "家兴", "开元", "绍华", "兴国", "成林", "宏伟", "春生", "金山", "自强", "忠义", "卫东",
		"俊杰", "浩然", "子轩", "宇航", "晨阳", "天佑", "文涛", "国庆", "庆丰", "玉林", "世民", "思源"}
	femaleGiven = []string{"秀英", "桂芬", "丽华", "玉兰", "春梅", "凤仙", "美珍", "淑琴", "翠花", "建芬", "丽萍",
		"艳红", "晓燕", "雪梅", "海燕", "丹丹", "婷婷", "思雨", "欣怡", "梦瑶", "文静", "佳怡", "金花", "慧敏",
		"月琴", "琼芬", "彩云", "玉珍", "红梅", "丽娟"}
)

// name returns an unused full name for the given gender.
func (n *namer) name(male bool) string {
	given := femaleGiven
	if male {
		given = maleGiven
	}
	for {
		s := surnames[n.rng.IntN(len(surnames))] + given[n.rng.IntN(len(given))]
		if !n.used[s] {
			n.used[s] = true
			return s
		}
	}
}

// idNumber builds a valid 18-digit 身份证号: the county's six-digit region code, the birth date,
// a sequence whose last digit is odd for men and even for women, and the GB 11643 check digit.
func (n *namer) idNumber(region string, birth time.Time, male bool) string {
	key := region + birth.Format("20060102")
	n.seq[key]++
	seq := n.seq[key]*2 + 100 // distinct per region and day
	if male {
		seq++
	}
	body := fmt.Sprintf("%s%s%03d", region, birth.Format("20060102"), seq%1000)
	return body + string(checkDigit(body))
}

func checkDigit(body string) byte {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(body[i]-'0') * weights[i]
	}
	return "10X98765432"[sum%11]
}

// birth returns a birth date for someone aged between minAge and maxAge at the end of 2026.
func (n *namer) birth(minAge, maxAge int) time.Time {
	year := 2026 - minAge - n.rng.IntN(maxAge-minAge+1)
	return time.Date(year, time.Month(1+n.rng.IntN(12)), 1+n.rng.IntN(28), 0, 0, 0, 0, time.UTC)
}

// mobile returns a plausible mainland mobile number.
func (n *namer) mobile() string {
	prefixes := []string{"138", "139", "150", "151", "158", "187", "188", "135", "136", "137"}
	return fmt.Sprintf("%s%08d", prefixes[n.rng.IntN(len(prefixes))], n.rng.IntN(100000000))
}

// partyJoined picks a date of joining the Party after the person turned 20.
func (n *namer) partyJoined(birth time.Time) string {
	from := birth.AddDate(20, 0, 0)
	span := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC).Sub(from)
	if span <= 0 {
		return ""
	}
	d := from.Add(time.Duration(n.rng.Int64N(int64(span))))
	return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
}

func (n *namer) chance(p float64) bool { return n.rng.Float64() < p }
