package xlsx

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"
)

var benchCols = []Column{
	{Header: "姓名", Required: true},
	{Header: "性别", Allowed: []string{"男", "女"}},
	{Header: "身份证号", Required: true, Text: true},
	{Header: "手机号", Text: true},
	{Header: "出生日期"},
	{Header: "所在支部"},
	{Header: "积分"},
	{Header: "备注"},
}

func benchRow(i int) []any {
	return []any{"党员" + strconv.Itoa(i), "男", fmt.Sprintf("5325281950%08d", i), fmt.Sprintf("138%08d", i),
		"1950-01-01", "某某社区第一党支部", i % 100, "无"}
}

// BenchmarkRows100k writes and reads 100,000 rows of 8 columns, next to encoding/csv doing the
// same as the baseline. peak-heap-MB is the largest live heap seen while the benchmark ran.
func BenchmarkRows100k(b *testing.B) {
	const n = 100_000
	var file bytes.Buffer
	b.Run("xlsx-write", func(b *testing.B) {
		defer peakHeap(b)()
		for b.Loop() {
			file.Reset()
			w, err := NewWriter(&file, "党员", benchCols)
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if err := w.WriteRow(benchRow(i)...); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(file.Len())/1e6, "file-MB")
	})
	b.Run("xlsx-read", func(b *testing.B) {
		if file.Len() == 0 { // run on its own with -bench=Rows100k/xlsx-read
			w, _ := NewWriter(&file, "党员", benchCols)
			for i := range n {
				w.WriteRow(benchRow(i)...)
			}
			w.Close()
		}
		defer peakHeap(b)()
		for b.Loop() {
			f, err := Open(bytes.NewReader(file.Bytes()), 64<<20)
			if err != nil {
				b.Fatal(err)
			}
			rows := 0
			if err := f.ReadRows("", benchCols, func(r Row) error { rows++; _ = r.Get("身份证号"); return nil }); err != nil {
				b.Fatal(err)
			}
			f.Close()
			if rows != n {
				b.Fatalf("read %d rows", rows)
			}
		}
	})
	var text bytes.Buffer
	b.Run("csv-write-baseline", func(b *testing.B) {
		for b.Loop() {
			text.Reset()
			w := csv.NewWriter(&text)
			rec := make([]string, len(benchCols))
			for i := range n {
				for j, v := range benchRow(i) {
					rec[j] = fmt.Sprint(v)
				}
				w.Write(rec)
			}
			w.Flush()
		}
	})
	b.Run("csv-read-baseline", func(b *testing.B) {
		for b.Loop() {
			r := csv.NewReader(bytes.NewReader(text.Bytes()))
			r.ReuseRecord = true
			for {
				if _, err := r.Read(); err == io.EOF {
					break
				}
			}
		}
	})
}

// peakHeap samples the live heap until the returned func is called, then reports the peak.
func peakHeap(b *testing.B) func() {
	done, wg := make(chan struct{}), sync.WaitGroup{}
	var peak uint64
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
	}
}
