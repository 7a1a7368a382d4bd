// Package procstat holds what the benchmark programs in bench/ read about
// their own process and how they round what they print.
package procstat

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// StatusKB returns a field of /proc/self/status given in KiB (VmRSS,
// VmHWM, ...), or an error naming the field when it is not there (not
// Linux, or no such field).
func StatusKB(field string) (int64, error) { return statusKB("/proc/self/status", field) }

// StatusKBOf is StatusKB of another process.
func StatusKBOf(pid int, field string) (int64, error) {
	return statusKB(fmt.Sprintf("/proc/%d/status", pid), field)
}

func statusKB(path, field string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), "kB"), &kb); err != nil {
				return 0, fmt.Errorf("%s in %s: %w", field, path, err)
			}
			return kb, nil
		}
	}
	return 0, errors.New("no " + field + " in " + path)
}

// Round3 rounds x to three decimals, for seconds in JSON result lines.
func Round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

// MustStatusKB is StatusKB for a benchmark program: on error it prints the
// error and exits with status 1 (a figure it cannot read is no figure).
func MustStatusKB(field string) int64 {
	kb, err := StatusKB(field)
	if err != nil {
		fmt.Fprintln(os.Stderr, "procstat:", err)
		os.Exit(1)
	}
	return kb
}

// MustResetPeak sets VmHWM to the current RSS (Linux 4.0+, writing 5 to
// /proc/self/clear_refs), so that a later MustStatusKB("VmHWM") is the peak
// of what ran in between; on error it prints the error and exits with
// status 1.
func MustResetPeak() {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		fmt.Fprintln(os.Stderr, "procstat: resetting VmHWM:", err)
		os.Exit(1)
	}
}
