package main

import "testing"

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "1GB": 1e9, "1 GiB": 1 << 30, "512mb": 512e6, "300MiB": 300 << 20, "1024": 1024, "1.5GB": 1.5e9, "10b": 10} {
		got, err := parseBytes(in)
		if err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"GB", "-1GB", "1XB", "lots", "1e30"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) accepted", in)
		}
	}
}
