package appraisal

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
)

// fillRandom gives every field reachable from v a random value: numbers, flags, text with
// characters JSON escapes, slices nil, empty or not, dimensions and parties in range. A field
// added to Breakdown later is filled too, so appendJSON cannot silently leave it out.
func fillRandom(rng *rand.Rand, v reflect.Value) {
	switch v.Type() {
	case reflect.TypeFor[Dim]():
		v.SetInt(rng.Int64N(int64(dimCount)))
		return
	case reflect.TypeFor[Party]():
		v.SetInt(rng.Int64N(int64(partyCount)))
		return
	case reflect.TypeFor[Consequence]():
		v.SetString([]string{"", string(ConsequenceDeduct), string(ConsequenceCap), string(ConsequenceFail)}[rng.IntN(4)])
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fillRandom(rng, v.Field(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			fillRandom(rng, v.Index(i))
		}
	case reflect.Slice:
		switch n := rng.IntN(4); n {
		case 0:
			v.SetZero()
		default:
			s := reflect.MakeSlice(v.Type(), n-1, n-1)
			for i := range s.Len() {
				fillRandom(rng, s.Index(i))
			}
			v.Set(s)
		}
	case reflect.Int, reflect.Int64:
		v.SetInt(rng.Int64N(2_000_001) - 1_000_000)
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 1)
	case reflect.String:
		v.SetString([]string{"", "市级表彰", `引号" 反斜杠\ <b>&</b>`, "换行\n制表\t\u2028", "\x01\xff"}[rng.IntN(5)])
	default:
		panic("fillRandom: teach me " + v.Type().String())
	}
}

// TestBreakdownJSONIsMarshal: the breakdown closing a quarter stores is json.Marshal's, byte
// for byte, whatever it holds, and reads back the same.
func TestBreakdownJSONIsMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range 2000 {
		var b Breakdown
		fillRandom(rng, reflect.ValueOf(&b).Elem())
		want, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.appendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("breakdown %d:\nappendJSON %s\njson       %s", i, got, want)
		}
	}
	b := Score(DefaultPolicy, []Rating{r(PartyMass, "", 90, 80, 70, 60, 50), r(PartyLeader, "局长", 88, 88, 88, 88, 88)},
		[]TaskScore{{DimJi, 1, 9000}}, []Adjustment{{EntryID: 7, Points: 200, Label: "市级表彰"}})
	data, err := b.appendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	var back Breakdown
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back, b) {
		t.Fatalf("read back %+v, %v; want %+v", back, err, b)
	}
}
