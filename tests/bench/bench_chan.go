// bench_chan.go: Go's own channels, measured the same way as bench_chan.c.
// Run by tests/bench/run when Debian's golang-go is installed; prints the
// same lines (name, messages, seconds, M msg/s), best of BENCH_REPEAT runs.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func pc(capacity, producers int, total int64) time.Duration {
	ch := make(chan int64, capacity)
	per := total / int64(producers)
	start := time.Now()
	for p := 0; p < producers; p++ {
		go func() {
			for i := int64(0); i < per; i++ {
				ch <- i
			}
		}()
	}
	var sum int64
	for i := int64(0); i < per*int64(producers); i++ {
		sum += <-ch
	}
	d := time.Since(start)
	if sum != int64(producers)*(per*(per-1)/2) {
		panic("checksum")
	}
	return d
}

func sel(total int64) time.Duration {
	var chs [4]chan int64
	for i := range chs {
		chs[i] = make(chan int64, 1024)
	}
	per := total / 4
	start := time.Now()
	for i := range chs {
		c := chs[i]
		go func() {
			for k := int64(0); k < per; k++ {
				c <- k
			}
		}()
	}
	for i := int64(0); i < per*4; i++ {
		select {
		case <-chs[0]:
		case <-chs[1]:
		case <-chs[2]:
		case <-chs[3]:
		}
	}
	return time.Since(start)
}

func pool(total int64) time.Duration {
	jobs := make(chan func(), 1024)
	var wg sync.WaitGroup
	var mu sync.Mutex
	count := int64(0)
	start := time.Now()
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				f()
			}
		}()
	}
	for i := int64(0); i < total; i++ {
		jobs <- func() { mu.Lock(); count++; mu.Unlock() }
	}
	close(jobs)
	wg.Wait()
	d := time.Since(start)
	if count != total {
		panic("count")
	}
	return d
}

func report(name string, n int64, repeat int, f func() time.Duration) {
	best := time.Duration(1 << 62)
	for r := 0; r < repeat; r++ {
		if d := f(); d < best {
			best = d
		}
	}
	s := best.Seconds()
	fmt.Printf("%-28s %10d %8.3f s %8.2f M msg/s\n", name, n, s, float64(n)/s/1e6)
}

func main() {
	repeat := 3
	if v, err := strconv.Atoi(os.Getenv("BENCH_REPEAT")); err == nil && v > 0 {
		repeat = v
	}
	nBuf, nUnbuf, nSel, nPool := int64(10000000), int64(1000000), int64(4000000), int64(2000000)
	report("buffered(1024) 1->1", nBuf, repeat, func() time.Duration { return pc(1024, 1, nBuf) })
	report("buffered(1024) 4->1", nBuf, repeat, func() time.Duration { return pc(1024, 4, nBuf) })
	report("unbuffered 1->1", nUnbuf, repeat, func() time.Duration { return pc(0, 1, nUnbuf) })
	report("select over 4 (1024)", nSel, repeat, func() time.Duration { return sel(nSel) })
	report("pool submit+run (2 workers)", nPool, repeat, func() time.Duration { return pool(nPool) })
}
