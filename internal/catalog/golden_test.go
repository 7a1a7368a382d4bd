package catalog

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.golden from the current output (review the diff)")

// TestInvalidGolden loads every catalog of testdata/invalid and compares the
// error, one "file:line: message" line per problem, with the .golden file
// beside it.
func TestInvalidGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test catalogs: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			c, err := Load(file, Defaults{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Load = %v, %v; want a *catalog.Error", c, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./catalog -run TestInvalidGolden -update to create it, then review it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
			for _, p := range e.Problems {
				if p.Pos.File != file || p.Pos.Line < 1 {
					t.Errorf("problem without a file:line: %v", p)
				}
			}
		})
	}
}

// FuzzParse checks that no input panics and that every failure is an *Error
// whose problems carry a line.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse(data, "f.yaml", Defaults{})
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) || len(e.Problems) == 0 {
			t.Fatalf("Parse error %v is not a *catalog.Error with problems", err)
		}
		for _, p := range e.Problems {
			if p.Pos.Line < 1 {
				t.Fatalf("problem without a line: %v", p)
			}
		}
	})
}
