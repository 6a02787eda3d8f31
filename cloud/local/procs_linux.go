package local

import (
	"os"
	"strconv"
	"strings"
)

// processStartTime returns the start time of pid in clock ticks since
// boot (field 22 of /proc/PID/stat), or 0 if it cannot be read.
func processStartTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0
	}
	if fields[0] == "Z" || fields[0] == "X" {
		return 0 // a zombie has exited
	}
	v, _ := strconv.ParseUint(fields[19], 10, 64)
	return v
}
