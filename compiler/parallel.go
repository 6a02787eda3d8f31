package compiler

import (
	"runtime"
	"sync"
)

// forEach runs job(i) for i in [0, n) on up to GOMAXPROCS goroutines.
// start is called once per goroutine and returns that goroutine's job
// function, so that each can hold state of its own (a cue.Context, which
// is not safe for concurrent use).
func forEach(n int, start func(worker int) func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		if n > 0 {
			job := start(0)
			for i := range n {
				job(i)
			}
		}
		return
	}
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := start(w)
			for i := range next {
				job(i)
			}
		}()
	}
	wg.Wait()
}
