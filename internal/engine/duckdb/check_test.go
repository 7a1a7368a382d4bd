package duckdb

import (
	"strings"
	"testing"

	"github.com/qconnect/qconnect"
)

func TestCheckCatalog(t *testing.T) {
	e := openDemo(t)
	memCols := []qconnect.Column{col("time", qconnect.Timestamp), col("sym", qconnect.Symbol), col("usedMB", qconnect.Float)}
	syms := []qconnect.Param{{Name: "syms", Type: qconnect.Symbol, List: true}}
	mk := func(name string, line int, query string, params []qconnect.Param, cols []qconnect.Column) *qconnect.Method {
		return &qconnect.Method{Group: "g", Name: name, Query: query, Params: params, Columns: cols,
			Pos: qconnect.Position{File: "cat.yaml", Line: line}}
	}
	good := mk("good", 3, "SELECT time, sym, usedMB FROM monMem WHERE $syms IS NULL OR list_contains($syms, sym)", syms, memCols)
	other := mk("other", 5, "SELECT * FROM not_even_sql", nil, nil)
	other.Backend = "kdb" // another engine's method is not checked here
	for _, c := range []struct {
		name string
		m    *qconnect.Method
		want []string // the line prefix, then text the problems contain
	}{
		{"missing table", mk("noTable", 11, "SELECT time, sym, usedMB FROM monMem2", nil, memCols),
			[]string{"cat.yaml:11: method g/noTable: ", `table "monMem2" does not exist`, "(tables: monMem, quote, trade)"}},
		{"missing column", mk("noColumn", 12, "SELECT time, sym, usedGB AS usedMB FROM monMem", nil, memCols),
			[]string{"cat.yaml:12: method g/noColumn: ", `column "usedGB" does not exist`, "monMem: time, sym, usedMB, freeMB, cpuLoad"}},
		{"column not returned", mk("renamed", 13, "SELECT time, sym, freeMB FROM monMem", nil, memCols),
			[]string{"cat.yaml:13: method g/renamed: ", `column "usedMB" is declared but the query returns no such column`}},
		{"column type", mk("badType", 14, "SELECT time, sym, usedMB FROM monMem", nil,
			[]qconnect.Column{col("time", qconnect.Timestamp), col("sym", qconnect.Long), col("usedMB", qconnect.Float)}),
			[]string{"cat.yaml:14: method g/badType: ", `column "sym" is declared long but the query returns VARCHAR`}},
		{"undeclared parameter", mk("undeclared", 15, "SELECT time, sym, usedMB FROM monMem WHERE sym = $server", nil, memCols),
			[]string{"cat.yaml:15: method g/undeclared: ", "$server", "not a declared parameter"}},
		{"unused parameter", mk("unused", 16, "SELECT time, sym, usedMB FROM monMem", syms, memCols),
			[]string{"cat.yaml:16: method g/unused: ", "parameter syms is declared but the query never uses $syms"}},
		{"two statements", mk("two", 17, "SELECT time, sym, usedMB FROM monMem; DELETE FROM monMem", nil, memCols),
			[]string{"cat.yaml:17: method g/two: ", "one SELECT statement"}},
		{"no query", mk("empty", 20, "  ", nil, memCols),
			[]string{"cat.yaml:20: method g/empty: ", "has no query"}},
		{"stream table", &qconnect.Method{Group: "g", Name: "sub", Columns: memCols, Streaming: true,
			Stream: &qconnect.StreamSpec{Table: "monMemLive", Key: "sym"}, Pos: qconnect.Position{File: "cat.yaml", Line: 18}},
			[]string{"cat.yaml:18: method g/sub: ", `table "monMemLive" does not exist`}},
		{"stream key", &qconnect.Method{Group: "g", Name: "sub", Columns: memCols, Streaming: true,
			Stream: &qconnect.StreamSpec{Table: "monMem", Key: "host"}, Pos: qconnect.Position{File: "cat.yaml", Line: 19}},
			[]string{"cat.yaml:19: method g/sub: ", `column "host" does not exist in table monMem`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cat, err := qconnect.NewCatalog([]*qconnect.Method{good, other, c.m})
			if err != nil {
				t.Fatal(err)
			}
			err = e.CheckCatalog(cat)
			if err == nil {
				t.Fatal("CheckCatalog found no problem")
			}
			// Only c.m has problems; each line names its position and method.
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, c.want[0]) {
					t.Errorf("problem %q does not start with %q", line, c.want[0])
				}
			}
			for _, w := range c.want[1:] {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems %q do not contain %q", err, w)
				}
			}
		})
	}

	cat, err := qconnect.NewCatalog([]*qconnect.Method{good, other,
		mk("a", 21, "SELECT 1 AS x FROM nope", nil, []qconnect.Column{col("x", qconnect.Long)}),
		mk("b", 22, "SELECT 1 AS y", nil, []qconnect.Column{col("x", qconnect.Long)})})
	if err != nil {
		t.Fatal(err)
	}
	err = e.CheckCatalog(cat)
	if err == nil || !strings.HasPrefix(err.Error(), "cat.yaml:21: method g/a: ") || !strings.Contains(err.Error(), "\ncat.yaml:22: method g/b: ") {
		t.Errorf("CheckCatalog = %v, want one line for each of g/a and g/b", err)
	}

	cat, _ = qconnect.NewCatalog([]*qconnect.Method{good, other})
	if err := e.CheckCatalog(cat); err != nil {
		t.Errorf("CheckCatalog of a valid catalog: %v", err)
	}
}

func TestCheckCatalogSnapshot(t *testing.T) {
	e := openDemo(t)
	cols := []qconnect.Column{col("time", qconnect.Timestamp), col("sym", qconnect.Symbol), col("usedMB", qconnect.Float)}
	m := &qconnect.Method{Group: "g", Name: "sub", Columns: cols, Streaming: true,
		Params: []qconnect.Param{{Name: "syms", Type: qconnect.Symbol, List: true}},
		Stream: &qconnect.StreamSpec{Table: "monMem", Key: "sym", Filters: map[string]string{"syms": "sym"},
			Snapshot: "SELECT time, sym, usedMB FROM monMem WHERE sym = $host"},
		Pos: qconnect.Position{File: "cat.yaml", Line: 30}}
	cat, _ := qconnect.NewCatalog([]*qconnect.Method{m})
	err := e.CheckCatalog(cat)
	if err == nil || !strings.Contains(err.Error(), "cat.yaml:30: method g/sub: snapshot: the query uses $host") {
		t.Errorf("CheckCatalog = %v, want the snapshot's undeclared $host", err)
	}
	m.Stream.Snapshot = "SELECT time, sym, usedMB FROM monMem QUALIFY row_number() OVER (PARTITION BY sym ORDER BY time DESC) = 1"
	if err := e.CheckCatalog(cat); err != nil {
		t.Errorf("CheckCatalog of a valid streaming method: %v", err)
	}
}
