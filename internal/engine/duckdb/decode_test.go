package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"
	"github.com/qconnect/qconnect"
)

// typeCase is one column of TestDecodeMatchesDriver: a DuckDB type, the
// literals of its two non-NULL rows and its declared qconnect type.
type typeCase struct {
	name, sqlType string
	lit           [2]string
	t             qconnect.Type
}

func typeCases() []typeCase {
	return []typeCase{
		{"b", "BOOLEAN", [2]string{"true", "false"}, qconnect.Boolean},
		{"i8", "TINYINT", [2]string{"-128", "127"}, qconnect.Short},
		{"i16", "SMALLINT", [2]string{"-32768", "32767"}, qconnect.Short},
		{"i32", "INTEGER", [2]string{"-2147483648", "2147483647"}, qconnect.Int},
		{"i64", "BIGINT", [2]string{"-9223372036854775808", "9223372036854775807"}, qconnect.Long},
		{"u8", "UTINYINT", [2]string{"0", "255"}, qconnect.Short},
		{"u16", "USMALLINT", [2]string{"65535", "1"}, qconnect.Int},
		{"u32", "UINTEGER", [2]string{"4294967295", "0"}, qconnect.Long},
		{"u64", "UBIGINT", [2]string{"9223372036854775807", "0"}, qconnect.Long},
		{"u64f", "UBIGINT", [2]string{"18446744073709551615", "3"}, qconnect.Float},
		{"h", "HUGEINT", [2]string{"-9223372036854775808", "12345678901234567"}, qconnect.Long},
		{"uh", "UHUGEINT", [2]string{"9223372036854775807", "0"}, qconnect.Long},
		{"hf", "HUGEINT", [2]string{"170141183460469231731687303715884105727", "-5"}, qconnect.Float},
		{"i32f", "INTEGER", [2]string{"-7", "2147483647"}, qconnect.Float},
		{"f32", "FLOAT", [2]string{"1.5", "-3.25"}, qconnect.Real},
		{"f64", "DOUBLE", [2]string{"2.25", "-1e300"}, qconnect.Float},
		{"d4", "DECIMAL(4,1)", [2]string{"123.4", "-0.1"}, qconnect.Float},
		{"d9", "DECIMAL(9,4)", [2]string{"12345.6789", "-0.0001"}, qconnect.Float},
		{"d18", "DECIMAL(18,6)", [2]string{"123456789012.345678", "-1.5"}, qconnect.Float},
		{"d38", "DECIMAL(38,10)", [2]string{"1234567890123456789012345678.0123456789", "-0.5"}, qconnect.Float},
		{"s", "VARCHAR", [2]string{"'hé'", "'a string longer than twelve bytes ✓'"}, qconnect.String},
		{"s12", "VARCHAR", [2]string{"'twelve bytes'", "''"}, qconnect.Symbol},
		{"blob", "BLOB", [2]string{`'\xAA\x00b'`, "''"}, qconnect.String},
		{"en", "ENUM('x','y','z')", [2]string{"'z'", "'x'"}, qconnect.Symbol},
		{"ts", "TIMESTAMP", [2]string{"'1969-12-31 23:59:59.999999'", "'2019-07-26 09:00:00.123456'"}, qconnect.Timestamp},
		{"tss", "TIMESTAMP_S", [2]string{"'2019-07-26 09:00:01'", "'1900-01-01 00:00:00'"}, qconnect.Timestamp},
		{"tsms", "TIMESTAMP_MS", [2]string{"'1960-01-01 00:00:00.123'", "'2019-07-26 09:00:00.5'"}, qconnect.Timestamp},
		{"tsns", "TIMESTAMP_NS", [2]string{"'2019-07-26 09:00:00.123456789'", "'1969-12-31 23:59:59.999999999'"}, qconnect.Timestamp},
		{"tstz", "TIMESTAMPTZ", [2]string{"'2019-07-26 09:00:00+02'", "'2000-01-01 00:00:00.000001+00'"}, qconnect.Timestamp},
		{"tsd", "TIMESTAMP", [2]string{"'1969-12-31 23:00:00'", "'2019-07-26 23:59:59.999999'"}, qconnect.Date},
		{"tsnsd", "TIMESTAMP_NS", [2]string{"'1969-12-31 23:59:59.999999999'", "'2019-07-26 00:00:00'"}, qconnect.Date},
		{"d", "DATE", [2]string{"'1900-03-01'", "'2262-01-01'"}, qconnect.Date},
		{"dts", "DATE", [2]string{"'1969-12-31'", "'2024-02-29'"}, qconnect.Timestamp},
		{"tm", "TIME", [2]string{"'23:59:59.999999'", "'00:00:00'"}, qconnect.Time},
		{"iv", "INTERVAL", [2]string{"INTERVAL 1 MONTH + INTERVAL 2 DAY + INTERVAL 3 SECOND", "INTERVAL '-1 day 3 microseconds'"}, qconnect.Timespan},
		{"g", "UUID", [2]string{"'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000001'"}, qconnect.GUID},
		{"g2", "UUID", [2]string{"'ffffffff-ffff-ffff-ffff-ffffffffffff'", "'00000000-0000-0000-0000-000000000000'"}, qconnect.GUID},
	}
}

// typesQuery selects the two rows of literals and a row of NULLs, 3000
// times over (so that rows cross chunks), numbered by k.
func typesQuery(cases []typeCase) string {
	var rows [3][]string
	for _, c := range cases {
		for r := range 2 {
			rows[r] = append(rows[r], fmt.Sprintf("(%s)::%s AS %s", c.lit[r], c.sqlType, c.name))
		}
		rows[2] = append(rows[2], fmt.Sprintf("NULL::%s AS %s", c.sqlType, c.name))
	}
	return fmt.Sprintf(`WITH v AS (SELECT 0 AS r, %s UNION ALL SELECT 1, %s UNION ALL SELECT 2, %s)
SELECT v.* EXCLUDE (r) FROM range(3000) k(k), v ORDER BY k, r`,
		strings.Join(rows[0], ", "), strings.Join(rows[1], ", "), strings.Join(rows[2], ", "))
}

// TestDecodeMatchesDriver decodes every supported type, with NULLs, and
// compares each value with duckdb-go's database/sql value of the same
// query, converted by the test to the qconnect convention.
func TestDecodeMatchesDriver(t *testing.T) {
	e := openEngine(t, Config{BatchSize: 1000})
	cases := typeCases()
	q := typesQuery(cases)
	cols := make([]qconnect.Column, len(cases))
	for i, c := range cases {
		cols[i] = col(c.name, c.t)
	}
	gotCols, got := query(t, e, qconnect.Call{Method: sqlMethod(q, nil, cols...)})
	if !reflect.DeepEqual(gotCols, cols) {
		t.Fatalf("columns %v, want %v", gotCols, cols)
	}

	// The reference is duckdb-go's database/sql driver, on a database of
	// its own (with the engine's time zone): a decoder independent of this
	// package's.
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`SET TimeZone = 'UTC'`); err != nil {
		t.Fatal(err)
	}
	dbRows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer dbRows.Close()
	var want [][]any
	for dbRows.Next() {
		vals := make([]any, len(cases))
		ptrs := make([]any, len(cases))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := dbRows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, c := range cases {
			vals[i] = reference(t, vals[i], c.t)
		}
		want = append(want, vals)
	}
	if err := dbRows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 9000 || len(want) != 9000 {
		t.Fatalf("%d rows decoded, %d from the driver, want 9000", len(got), len(want))
	}
	bad := 0
	for r := range got {
		for i, c := range cases {
			if !sameValue(got[r][i], want[r][i]) && bad < 20 {
				bad++
				t.Errorf("row %d %s (%s): got %#v (%T), driver %#v (%T)", r, c.name, c.sqlType, got[r][i], got[r][i], want[r][i], want[r][i])
			}
			if r%3 == 2 && got[r][i] != nil {
				t.Errorf("row %d %s: NULL decoded as %#v", r, c.name, got[r][i])
			}
		}
	}
}

// reference converts a database/sql value of duckdb-go to the qconnect
// convention of type t, independently of decode.go.
func reference(t *testing.T, v any, typ qconnect.Type) any {
	toFloat := typ == qconnect.Float || typ == qconnect.Real
	num := func(f float64, i int64) any {
		if toFloat {
			return f
		}
		return i
	}
	switch x := v.(type) {
	case nil, bool:
		return v
	case int8:
		return num(float64(x), int64(x))
	case int16:
		return num(float64(x), int64(x))
	case int32:
		return num(float64(x), int64(x))
	case int64:
		return num(float64(x), x)
	case uint8:
		return num(float64(x), int64(x))
	case uint16:
		return num(float64(x), int64(x))
	case uint32:
		return num(float64(x), int64(x))
	case uint64:
		return num(float64(x), int64(x))
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return num(f, x.Int64())
	case float32:
		return float64(x)
	case float64:
		return x
	case duck.Decimal:
		return x.Float64()
	case string:
		return x
	case []byte:
		if typ == qconnect.GUID {
			var g [16]byte
			copy(g[:], x)
			return g
		}
		return string(x)
	case time.Time:
		u := x.UTC()
		switch typ {
		case qconnect.Date:
			return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
		case qconnect.Time:
			return time.Duration(u.Hour())*time.Hour + time.Duration(u.Minute())*time.Minute +
				time.Duration(u.Second())*time.Second + time.Duration(u.Nanosecond())
		}
		return u
	case duck.Interval:
		return time.Duration(int64(x.Months)*30*24+int64(x.Days)*24)*time.Hour + time.Duration(x.Micros)*time.Microsecond
	}
	t.Fatalf("no reference conversion for the driver value %#v (%T)", v, v)
	return nil
}

// sameValue compares decoded and reference values: times as instants in
// UTC, floats to within rounding (the driver divides decimals as big.Float).
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.Equal(w) && g.Location() == time.UTC
	case float64:
		g, ok := got.(float64)
		return ok && (g == w || math.Abs(g-w) <= 1e-15*math.Max(math.Abs(g), math.Abs(w)))
	}
	return got == want
}

// TestDecodeLiterals covers what the driver cannot read (TIME_NS, SQLNULL)
// and the natural types of a method without declared columns.
func TestDecodeLiterals(t *testing.T) {
	e := openEngine(t, Config{})
	_, rows := query(t, e, qconnect.Call{Method: sqlMethod(
		`SELECT '12:34:56.123456789'::TIME_NS AS tns, NULL AS n, NULL::TIME_NS AS nn`, nil,
		col("tns", qconnect.Time), col("n", qconnect.Long), col("nn", qconnect.Time))})
	want := []any{12*time.Hour + 34*time.Minute + 56*time.Second + 123456789, nil, nil}
	if !reflect.DeepEqual(rows[0], want) {
		t.Errorf("got %#v, want %#v", rows[0], want)
	}
	cols, _ := query(t, e, qconnect.Call{Method: sqlMethod(
		`SELECT 1::UTINYINT AS a, 1::USMALLINT AS b, 1::UINTEGER AS c, 1::UHUGEINT AS d, 1::DECIMAL(4,2) AS e,
		'a'::BLOB AS f, '1:2:3'::TIME_NS AS h, TIMESTAMP_S '2000-01-01' AS i, 1::FLOAT AS j`, nil)})
	natural := []qconnect.Type{qconnect.Short, qconnect.Int, qconnect.Long, qconnect.Long, qconnect.Float,
		qconnect.String, qconnect.Time, qconnect.Timestamp, qconnect.Real}
	for i, c := range cols {
		if c.Type != natural[i] {
			t.Errorf("natural type of %s = %s, want %s", c.Name, c.Type, natural[i])
		}
	}
}

// TestUnsupportedTypes: a column qconnect cannot carry is named with its
// DuckDB type and a cast to use.
func TestUnsupportedTypes(t *testing.T) {
	e := openEngine(t, Config{})
	for _, c := range []struct{ query, name, want string }{
		{`SELECT [1, 2] AS l`, "l", `column "l" has DuckDB type INTEGER[], which qconnect cannot return; cast it in the query (e.g. l::VARCHAR)`},
		{`SELECT {'a': 1} AS "my col"`, "my col", `column "my col" has DuckDB type STRUCT, which qconnect cannot return; cast it in the query (e.g. "my col"::VARCHAR)`},
		{`SELECT '{}'::JSON AS j`, "j", `column "j" has DuckDB type JSON`},
		{`SELECT TIMETZ '12:00:00+01' AS z`, "z", `column "z" has DuckDB type TIMETZ`},
	} {
		for _, declared := range [][]qconnect.Column{nil, {col(c.name, qconnect.String)}} {
			_, err := e.Query(context.Background(), qconnect.Call{Method: sqlMethod(c.query, nil, declared...)})
			qe := wantCode(t, err, qconnect.CodeAnalyticError)
			if declared == nil && !strings.Contains(qe.Message, c.want) {
				t.Errorf("%s: message %q, want it to contain %q", c.query, qe.Message, c.want)
			}
			if declared != nil && !strings.Contains(qe.Message, "DuckDB type") {
				t.Errorf("%s declared string: message %q does not name the DuckDB type", c.query, qe.Message)
			}
		}
	}
}

// TestBoxedValues: values boxed into shared slices (see boxed) behave as
// ordinary interface values, and values kept from a batch do not change
// when later batches are decoded.
func TestBoxedValues(t *testing.T) {
	e := openEngine(t, Config{BatchSize: 100})
	rs, err := e.Query(context.Background(), qconnect.Call{Method: sqlMethod(
		`SELECT i, i * 1.5::DOUBLE AS f, 'sym' || (i % 7) || repeat('x', (i % 20)::INTEGER) AS s,
			TIMESTAMP '2024-01-01' + to_seconds(i) AS ts, to_seconds(i) AS span, gen_random_uuid() AS g
			FROM range(1000) r(i) ORDER BY i`, nil,
		col("i", qconnect.Long), col("f", qconnect.Float), col("s", qconnect.Symbol),
		col("ts", qconnect.Timestamp), col("span", qconnect.Timespan), col("g", qconnect.GUID))})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	first, err := rs.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kept := first.Row(3) // row 3's values, kept as a caller may
	printed := fmt.Sprint(kept...)
	for {
		if _, err := rs.Next(context.Background()); err != nil {
			break
		}
		runtime.GC()
	}
	if again := fmt.Sprint(kept...); again != printed {
		t.Errorf("kept values changed from %s to %s", printed, again)
	}
	s := "sym3" + strings.Repeat("x", 3)
	want := []any{int64(3), 4.5, s, time.Date(2024, 1, 1, 0, 0, 3, 0, time.UTC), 3 * time.Second}
	for i, w := range want {
		if !sameValue(kept[i], w) {
			t.Errorf("value %d = %#v, want %#v", i, kept[i], w)
		}
	}
	switch v := kept[0].(type) {
	case int64:
		if v != 3 || v+1 != 4 {
			t.Errorf("int64 %d does not compute", v)
		}
	default:
		t.Errorf("type switch: %T is not int64", v)
	}
	if m := map[any]int{kept[0]: 1, kept[2]: 2}; m[int64(3)] != 1 || m[s] != 2 {
		t.Errorf("boxed values are not usable as map keys: %v", m)
	}
	if reflect.TypeOf(kept[5]) != reflect.TypeFor[[16]byte]() || kept[5] == [16]byte{} {
		t.Errorf("guid %#v", kept[5])
	}
}
