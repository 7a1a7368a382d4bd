package qconnect

import (
	"fmt"
	"testing"
	"time"
)

func TestBatchValuesAndNulls(t *testing.T) {
	cols := []Column{{"t", Timestamp}, {"d", Date}, {"s", Symbol}, {"x", Float}, {"b", Boolean}, {"g", GUID}}
	b := NewBatch(cols, 4)
	b.Len = 3
	ts := b.Cols[0]
	ts.Reset(3)
	ts.Ints[0], ts.Ints[1], ts.Ints[2] = 1, 1564156740123456789, 0
	ts.SetNull(2, 3)
	b.Cols[0] = ts
	d := &b.Cols[1]
	d.Reset(3)
	d.Ints[0], d.Ints[1], d.Ints[2] = 0, 18103, -1
	s := &b.Cols[2]
	s.Reset(3)
	s.AppendString("AAPL")
	s.AppendString("")
	s.AppendString("MSFT")
	s.SetNull(1, 3)
	x := &b.Cols[3]
	x.Reset(3)
	x.Floats[0], x.Floats[1], x.Floats[2] = 1.5, 2, 3
	bo := &b.Cols[4]
	bo.Reset(3)
	bo.Bools[1] = true
	g := &b.Cols[5]
	g.Reset(3)
	g.GUIDs[0][15] = 1

	if got := b.Cols[0].Value(1).(time.Time); !got.Equal(time.Unix(0, 1564156740123456789)) || got.Location() != time.UTC {
		t.Errorf("timestamp = %v", got)
	}
	if b.Cols[0].Value(2) != nil || !b.Cols[0].IsNull(2) || b.Cols[0].IsNull(1) {
		t.Errorf("timestamp null mask wrong: %v", b.Cols[0].Valid)
	}
	if got := b.Cols[1].Value(1).(time.Time).Format(time.DateOnly); got != "2019-07-26" {
		t.Errorf("date = %s", got)
	}
	if got := b.Cols[1].Value(2).(time.Time).Format(time.DateOnly); got != "1969-12-31" {
		t.Errorf("negative date = %s", got)
	}
	if s.Str(0) != "AAPL" || string(s.Bytes(2)) != "MSFT" || s.Value(1) != nil {
		t.Errorf("symbols = %q %q %v", s.Str(0), s.Bytes(2), s.Value(1))
	}
	c := b.Clone()
	s.Data[0] = 'X'
	if c.Cols[2].Str(0) != "AAPL" {
		t.Errorf("Clone shares memory with the original")
	}
	if row := c.Row(0); len(row) != 6 || row[3] != 1.5 || row[4] != false || row[5] != [16]byte{15: 1} {
		t.Errorf("Row(0) = %v", row)
	}
}

func TestVectorDict(t *testing.T) {
	v := Vector{Type: Symbol, Dict: []string{"a", "bb"}, Codes: []uint32{1, 0, 1}}
	if v.Str(0) != "bb" || string(v.Bytes(1)) != "a" || v.Value(2) != "bb" {
		t.Errorf("dict vector reads %q %q %v", v.Str(0), v.Bytes(1), v.Value(2))
	}
}

func TestSetNullBeyondFirstWord(t *testing.T) {
	var v Vector
	v.Type = Long
	v.Reset(130)
	v.SetNull(129, 130)
	for i := 0; i < 130; i++ {
		if v.IsNull(i) != (i == 129) {
			t.Fatalf("row %d null = %v", i, v.IsNull(i))
		}
	}
}

func TestEveryColumnTypeHasAStorage(t *testing.T) {
	for ty := range columnTypes {
		if ty.Storage() == 0 {
			t.Errorf("column type %s has no storage", ty)
		}
	}
	if Dict.Storage() != 0 {
		t.Errorf("dict has a storage")
	}
}

func TestBatchOfRoundTrip(t *testing.T) {
	cols := []Column{{"b", Boolean}, {"l", Long}, {"f", Float}, {"s", Symbol}, {"ts", Timestamp}, {"d", Date}, {"sp", Timespan}, {"g", GUID}}
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	var rows [][]any
	for i := 0; i < 130; i++ {
		row := []any{i%2 == 0, int64(i), float64(i) / 2, "s" + string(rune('a'+i%26)), ts.Add(time.Duration(i)), time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), time.Duration(i), [16]byte{byte(i)}}
		if i%7 == 3 {
			row[i%len(row)] = nil
		}
		rows = append(rows, row)
	}
	b, err := BatchOf(cols, rows)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len != len(rows) {
		t.Fatalf("Len %d, want %d", b.Len, len(rows))
	}
	for i, want := range rows {
		got := b.Row(i)
		for j := range want {
			if fmt.Sprint(got[j]) != fmt.Sprint(want[j]) {
				t.Fatalf("row %d col %d: %v, want %v", i, j, got[j], want[j])
			}
		}
	}
	s := b.Slice(65, 100)
	for i := 0; i < s.Len; i++ {
		if fmt.Sprint(s.Row(i)) != fmt.Sprint(b.Row(65+i)) {
			t.Fatalf("slice row %d differs", i)
		}
	}
	if _, err := BatchOf(cols[:1], [][]any{{"x"}}); err == nil {
		t.Fatal("a string in a boolean column was accepted")
	}
}
