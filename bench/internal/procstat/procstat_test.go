package procstat

import (
	"runtime"
	"testing"
)

func TestStatusKB(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/status is Linux's")
	}
	rss, err := StatusKB("VmRSS")
	if err != nil || rss <= 0 {
		t.Fatalf("VmRSS = %d, %v; want a positive size", rss, err)
	}
	hwm, err := StatusKB("VmHWM")
	if err != nil || hwm < rss {
		t.Fatalf("VmHWM = %d, %v; want at least VmRSS %d", hwm, err, rss)
	}
	if _, err := StatusKB("NoSuchField"); err == nil {
		t.Fatal("a missing field gave no error")
	}
}

func TestRound3(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{{1.23449, 1.234}, {1.2345, 1.235}, {0, 0}, {2.0004, 2}} {
		if got := Round3(c.in); got != c.want {
			t.Errorf("Round3(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
