package load

import (
	"slices"
	"time"
)

// summarise computes the statistics of samples over elapsed wall time.
// Latency percentiles are over successful requests only: a refused
// connection answers fast and would flatter them. It also returns the
// sorted latencies of the successes.
func summarise(samples []sample, elapsed time.Duration) (Stats, []time.Duration) {
	st := Stats{Requests: int64(len(samples))}
	ok := make([]time.Duration, 0, len(samples))
	for _, s := range samples {
		if s.err != "" {
			st.Errors++
			if st.ErrorKinds == nil {
				st.ErrorKinds = map[string]int{}
			}
			if _, seen := st.ErrorKinds[s.err]; seen || len(st.ErrorKinds) < maxErrorKinds {
				st.ErrorKinds[s.err]++
			}
			continue
		}
		ok = append(ok, s.latency)
	}
	if elapsed > 0 {
		st.Throughput = float64(st.Requests-st.Errors) / elapsed.Seconds()
	}
	slices.Sort(ok)
	fillLatency(&st, ok)
	return st, ok
}

func fillLatency(st *Stats, sorted []time.Duration) {
	if len(sorted) == 0 {
		return
	}
	st.P50 = Percentile(sorted, 50)
	st.P90 = Percentile(sorted, 90)
	st.P99 = Percentile(sorted, 99)
	st.Max = sorted[len(sorted)-1]
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	st.Mean = sum / time.Duration(len(sorted))
}

// Percentile returns the p-th percentile (nearest rank) of sorted values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// windows splits samples by start time into intervals of width w.
func windows(samples []sample, w, elapsed time.Duration) []Window {
	n := int(elapsed/w) + 1
	buckets := make([][]sample, n)
	for _, s := range samples {
		i := min(int(s.at/w), n-1)
		buckets[i] = append(buckets[i], s)
	}
	var out []Window
	for i, b := range buckets {
		if len(b) == 0 {
			continue
		}
		width := w
		if end := time.Duration(i+1) * w; end > elapsed {
			width = elapsed - time.Duration(i)*w
		}
		st, _ := summarise(b, width)
		out = append(out, Window{Start: time.Duration(i) * w, Stats: st})
	}
	return out
}

// Merge combines the results of several runs of the same targets (for
// example rounds interleaved with other measurements): counts add up,
// throughput is total successes over total elapsed time, and percentiles
// are recomputed from all latencies.
func Merge(rs ...*Result) Stats {
	var st Stats
	var all []time.Duration
	var elapsed time.Duration
	for _, r := range rs {
		st.Requests += r.Total.Requests
		st.Errors += r.Total.Errors
		elapsed += r.Elapsed
		all = append(all, r.Latencies...)
		for k, v := range r.Total.ErrorKinds {
			if st.ErrorKinds == nil {
				st.ErrorKinds = map[string]int{}
			}
			st.ErrorKinds[k] += v
		}
	}
	if elapsed > 0 {
		st.Throughput = float64(st.Requests-st.Errors) / elapsed.Seconds()
	}
	slices.Sort(all)
	fillLatency(&st, all)
	return st
}
