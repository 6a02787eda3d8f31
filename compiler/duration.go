package compiler

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseDuration reads a Go duration ("90s", "12h30m") optionally led by a
// number of days ("7d", "1d12h"), as time.ParseDuration has no days.
func parseDuration(s string) (time.Duration, error) {
	var days int64
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 {
			return 0, errors.New("days must be a whole number before the d, as in 7d")
		}
		days, rest = n, s[i+1:]
		if days > math.MaxInt64/int64(24*time.Hour) {
			return 0, errors.New("too long")
		}
	}
	d := time.Duration(days) * 24 * time.Hour
	if rest == "" {
		if days == 0 && s != "0d" {
			return 0, errors.New("empty")
		}
		return d, nil
	}
	r, err := time.ParseDuration(rest)
	if err != nil {
		return 0, errors.New("not a duration")
	}
	if r < 0 || (days > 0 && r > math.MaxInt64-d) {
		return 0, errors.New("out of range")
	}
	return d + r, nil
}
