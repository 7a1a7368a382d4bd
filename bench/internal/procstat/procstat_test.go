package procstat

import (
	"os"
	"runtime"
	"runtime/debug"
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
	if of, err := StatusKBOf(os.Getpid(), "VmHWM"); err != nil || of < hwm {
		t.Fatalf("StatusKBOf(own pid, VmHWM) = %d, %v; want at least %d", of, err, hwm)
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

// TestMustResetPeak: after touching 64 MiB and letting it go, the reset
// brings VmHWM back down to about VmRSS.
func TestMustResetPeak(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/clear_refs is Linux's")
	}
	b := make([]byte, 64<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	high := MustStatusKB("VmHWM")
	b = nil
	runtime.GC()
	debug.FreeOSMemory()
	MustResetPeak()
	if hwm, rss := MustStatusKB("VmHWM"), MustStatusKB("VmRSS"); hwm > high-32<<10 || hwm > rss+8<<10 {
		t.Fatalf("after the reset VmHWM = %d KiB (before %d, VmRSS %d); want about VmRSS", hwm, high, rss)
	}
}
