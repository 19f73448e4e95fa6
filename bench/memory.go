package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// memSample is one point of the memory timeline of a load phase.
type memSample struct {
	Seconds   float64 `json:"seconds"`
	Requests  int64   `json:"requests"`   // answered so far in the phase
	PerSecond float64 `json:"per_second"` // answered in the interval since the previous sample
	RSSMB     float64 `json:"rss_mb"`
	AnonMB    float64 `json:"anon_mb"`  // RssAnon: the Go heap and SQLite's WebAssembly memories
	FileMB    float64 `json:"file_mb"`  // RssFile: the binary and mapped files (SQLite's -shm)
	ShmemMB   float64 `json:"shmem_mb"` // RssShmem
	HeapMB    float64 `json:"go_heap_mb"`
	WALMB     float64 `json:"wal_mb,omitempty"` // size of SQLite's -wal file
}

// memory samples the server's resident memory every 200 ms for the peak, and every `every` a
// full sample (RSS by kind, Go heap, WAL size, requests answered) that it also prints.
type memory struct {
	pid      int
	heap     func() int64 // the server's Go heap in use, bytes; -1 when unknown
	wal      string       // SQLite's WAL file, or ""
	answered *atomic.Int64
	every    time.Duration
	logf     func(string, ...any)

	start    time.Time
	peakRSS  int64
	lastRSS  int64
	peakHeap int64
	samples  []memSample
	stop     chan struct{}
	done     chan struct{}
}

func sampleMemory(pid int, heap func() int64, wal string, answered *atomic.Int64, every time.Duration, logf func(string, ...any)) *memory {
	m := &memory{pid: pid, heap: heap, wal: wal, answered: answered, every: every, logf: logf, start: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		full := time.NewTicker(every)
		defer full.Stop()
		m.full()
		for {
			m.sample()
			select {
			case <-m.stop:
				m.full()
				return
			case <-full.C:
				m.full()
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memory) sample() {
	if rss := rssOf(m.pid); rss > 0 {
		m.lastRSS = rss
		m.peakRSS = max(m.peakRSS, rss)
	}
}

// full takes and prints a sample of the timeline.
func (m *memory) full() {
	m.sample()
	s := memSample{Seconds: time.Since(m.start).Seconds(), Requests: m.answered.Load()}
	r := rssByKind(m.pid)
	s.RSSMB, s.AnonMB, s.FileMB, s.ShmemMB = mb(r["Rss"]), mb(r["Anon"]), mb(r["File"]), mb(r["Shmem"])
	if s.RSSMB == 0 {
		s.RSSMB = mb(m.lastRSS)
	}
	if h := m.heap(); h >= 0 {
		s.HeapMB = mb(h)
		m.peakHeap = max(m.peakHeap, h)
	}
	if m.wal != "" {
		if fi, err := os.Stat(m.wal); err == nil {
			s.WALMB = mb(fi.Size())
		}
	}
	if n := len(m.samples); n > 0 {
		prev := m.samples[n-1]
		if dt := s.Seconds - prev.Seconds; dt > 0 {
			s.PerSecond = float64(s.Requests-prev.Requests) / dt
		}
	}
	m.samples = append(m.samples, s)
	wal := ""
	if m.wal != "" {
		wal = fmt.Sprintf(", WAL %.0f MB", s.WALMB)
	}
	m.logf("memory at %4.0fs: RSS %.0f MB (anon %.0f, file %.0f, shmem %.0f), Go heap %.0f MB%s; %d requests, %.0f/s",
		s.Seconds, s.RSSMB, s.AnonMB, s.FileMB, s.ShmemMB, s.HeapMB, wal, s.Requests, s.PerSecond)
}

func (m *memory) finish() {
	close(m.stop)
	<-m.done
}

// steady is the flatness of RSS over the samples taken after warmup: the first, lowest,
// highest and last of them, and the spread (highest − lowest) / lowest.
type steady struct {
	WarmupSeconds float64 `json:"warmup_seconds"`
	Samples       int     `json:"samples"`
	FirstMB       float64 `json:"first_mb"`
	MinMB         float64 `json:"min_mb"`
	MaxMB         float64 `json:"max_mb"`
	LastMB        float64 `json:"last_mb"`
	Spread        float64 `json:"spread"`
}

func (m *memory) steady(warmup time.Duration) *steady {
	var st steady
	st.WarmupSeconds = warmup.Seconds()
	for _, s := range m.samples {
		if s.Seconds < warmup.Seconds() {
			continue
		}
		if st.Samples == 0 {
			st.FirstMB, st.MinMB, st.MaxMB = s.RSSMB, s.RSSMB, s.RSSMB
		}
		st.Samples++
		st.MinMB, st.MaxMB, st.LastMB = min(st.MinMB, s.RSSMB), max(st.MaxMB, s.RSSMB), s.RSSMB
	}
	if st.Samples < 2 || st.MinMB == 0 {
		return nil
	}
	st.Spread = (st.MaxMB - st.MinMB) / st.MinMB
	return &st
}

// inProcessHeap is this process's Go heap in use (live and not yet swept objects).
func inProcessHeap() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// scrapedHeap reads the same figure from a server's Prometheus /metrics (the Go collector's
// go_memstats_heap_alloc_bytes); -1 when it cannot.
func scrapedHeap(base string) func() int64 {
	c := &http.Client{Timeout: 10 * time.Second}
	return func() int64 {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", base+"/metrics", nil)
		res, err := c.Do(req)
		if err != nil {
			return -1
		}
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_alloc_bytes "); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					return -1
				}
				return int64(f)
			}
		}
		return -1
	}
}

// rssByKind reads a process's resident memory by kind from /proc/PID/status (Rss, Anon, File, Shmem),
// in bytes; empty when it cannot.
func rssByKind(pid int) map[string]int64 {
	out := map[string]int64{}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return out
	}
	for line := range strings.Lines(string(data)) {
		key, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch key {
		case "VmRSS", "RssAnon", "RssFile", "RssShmem":
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			out[strings.TrimPrefix(strings.TrimPrefix(key, "Vm"), "Rss")] = kb << 10
		}
	}
	if v, ok := out["RSS"]; ok {
		out["Rss"] = v
	}
	return out
}
