package appraisal

import (
	"encoding/json"
	"strconv"
)

// appendJSON appends the breakdown as json.Marshal writes it, byte for byte, without
// reflection: closing a quarter writes one per person (TestBreakdownJSONIsMarshal holds the
// two together, for every field). Adjustments are rare and carry free text; they go through
// json.Marshal for its escaping.
func (b *Breakdown) appendJSON(dst []byte) ([]byte, error) {
	dst = appendArray(append(dst, `{"parties":`...), b.Parties, func(dst []byte, ps *PartyScore) []byte { return ps.appendJSON(dst) })
	dst = appendInt(dst, `,"party_weight_used":`, b.PartyWeightUsed)
	dst = b.Rated.appendJSON(append(dst, `,"rated":`...))
	dst = b.Target.appendJSON(append(dst, `,"target":`...))
	dst = appendArray(append(dst, `,"target_dims":`...), b.TargetDims, func(dst []byte, d *Dim) []byte {
		return strconv.AppendQuote(dst, d.Key())
	})
	dst = appendInt(dst, `,"target_pct":`, b.TargetPct)
	dst = b.Dimensions.appendJSON(append(dst, `,"dimensions":`...))
	dst = b.Weights.appendJSON(append(dst, `,"weights":`...))
	dst = appendInt(dst, `,"base":`, b.Base)
	dst = append(dst, `,"adjustments":`...)
	switch {
	case b.Adjustments == nil:
		dst = append(dst, "null"...)
	case len(b.Adjustments) == 0:
		dst = append(dst, "[]"...)
	default:
		adj, err := json.Marshal(b.Adjustments)
		if err != nil {
			return dst, err
		}
		dst = append(dst, adj...)
	}
	dst = appendInt(dst, `,"adjust_total":`, b.AdjustTotal)
	dst = appendArray(append(dst, `,"bonuses":`...), b.Bonuses, func(dst []byte, bo *Bonus) []byte {
		dst = strconv.AppendQuote(append(dst, `{"dimension":`...), bo.Dim.Key())
		return append(appendInt(dst, `,"points":`, bo.Points), '}')
	})
	dst = appendInt(dst, `,"bonus_total":`, b.BonusTotal)
	dst = appendInt(dst, `,"deducted":`, b.Deducted)
	dst = appendInt(dst, `,"composite":`, b.Composite)
	dst = appendBool(dst, `,"capped":`, b.Capped)
	dst = appendBool(dst, `,"failed":`, b.Failed)
	dst = appendBool(dst, `,"missing":`, b.Missing)
	return append(dst, '}'), nil
}

// appendJSON appends the party's part as json.Marshal writes it.
func (ps *PartyScore) appendJSON(dst []byte) []byte {
	dst = strconv.AppendQuote(append(dst, `{"party":`...), ps.Party.Key())
	dst = appendInt(dst, `,"weight":`, ps.Weight)
	dst = appendInt(dst, `,"count":`, int64(ps.Count))
	dst = appendBool(dst, `,"trimmed":`, ps.Trimmed)
	dst = appendBool(dst, `,"used":`, ps.Used)
	dst = ps.Average.appendJSON(append(dst, `,"average":`...))
	return append(appendInt(dst, `,"score":`, ps.Score), '}')
}

// appendJSON appends {"de":…, "neng":…, "qin":…, "ji":…, "lian":…}.
func (v DimValues) appendJSON(dst []byte) []byte {
	for i := range dimCount {
		if i == 0 {
			dst = append(dst, '{')
		} else {
			dst = append(dst, ',')
		}
		dst = append(append(append(dst, '"'), dimKeys[i]...), `":`...)
		dst = strconv.AppendInt(dst, v[i], 10)
	}
	return append(dst, '}')
}

// appendArray appends a slice as json.Marshal does, null when it is nil, each item by each.
func appendArray[T any](dst []byte, items []T, each func([]byte, *T) []byte) []byte {
	if items == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = each(dst, &items[i])
	}
	return append(dst, ']')
}

func appendInt(dst []byte, key string, n int64) []byte {
	return strconv.AppendInt(append(dst, key...), n, 10)
}

func appendBool(dst []byte, key string, v bool) []byte {
	return strconv.AppendBool(append(dst, key...), v)
}
