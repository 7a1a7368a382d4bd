package duckdb

import (
	"testing"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/engine/enginetest"
)

// TestConformance runs the backend conformance suite (engine/enginetest)
// against a real embedded DuckDB.
func TestConformance(t *testing.T) {
	long := func(name string) []qconnect.Param { return []qconnect.Param{{Name: name, Type: qconnect.Long}} }
	enginetest.RunBackend(t, enginetest.Harness{
		Open: func(t testing.TB) qconnect.Backend { return openEngine(t, Config{}) },
		AllTypes: &qconnect.Method{Group: "ct", Name: "allTypes", Columns: enginetest.AllTypesCols, Query: `
SELECT b, l, i, h, f, e, s, sym, c, ts, d, t, n, g FROM (VALUES
 (true, 9007199254740993::BIGINT, 2147483647::INTEGER, (-32768)::SMALLINT, 1.25::DOUBLE, 1.5::FLOAT,
  'hello, "world"', 'AAPL', 'x', TIMESTAMP_NS '2024-01-02 03:04:05.123456789', DATE '2024-01-02',
  TIME '13:30:15.25', INTERVAL 26 HOUR + INTERVAL 3 MICROSECOND, '12345678-9abc-def0-1234-56789abcdef0'::UUID, 1),
 (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 2),
 (false, -1, 0, 7, -0.5, -2.0, '', '', ' ', TIMESTAMP_NS '1969-12-31 23:59:59.999999', DATE '1900-03-01',
  TIME '00:00:00', -INTERVAL 90 MINUTE, '00000000-0000-0000-0000-000000000000'::UUID, 3)
) v(b, l, i, h, f, e, s, sym, c, ts, d, t, n, g, o) ORDER BY o`[1:] + "\n"},
		Range: &qconnect.Method{Group: "ct", Name: "range", Params: long("n"),
			Columns: []qconnect.Column{{Name: "i", Type: qconnect.Long}, {Name: "s", Type: qconnect.Symbol}},
			Query:   `SELECT range AS i, 'sym' AS s FROM range($n)`},
		MidFail: &qconnect.Method{Group: "ct", Name: "midFail", Params: long("ok"),
			Columns: []qconnect.Column{{Name: "i", Type: qconnect.Long}},
			Query:   `SELECT CASE WHEN i < $ok THEN i ELSE CAST('x' || i AS BIGINT) END AS i FROM range($ok + 100000) t(i)`},
	})
}
