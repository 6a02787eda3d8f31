package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while printLogs writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// --follow prints lines appended later and the files of servers started
// later, only complete lines, until its context ends.
func TestLogsFollow(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "prod.web.aaaa0000.1-0.log")
	if err := os.WriteFile(first, []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- printLogs(ctx, &out, dir, "", true) }()
	waitOut := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("output lacks %q:\n%s", want, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitOut("prod.web.aaaa0000.1-0 | one\n")
	f, err := os.OpenFile(first, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("two\npart")
	waitOut("prod.web.aaaa0000.1-0 | two\n")
	if strings.Contains(out.String(), "part") {
		t.Fatal("an incomplete line was printed")
	}
	f.WriteString("ial\n")
	f.Close()
	waitOut("prod.web.aaaa0000.1-0 | partial\n")
	if err := os.WriteFile(filepath.Join(dir, "prod.web.bbbb0000.1-0.log"), []byte("new server\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitOut("prod.web.bbbb0000.1-0 | new server\n")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
