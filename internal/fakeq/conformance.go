package fakeq

import (
	"strconv"
	"time"

	"github.com/qconnect/qconnect/kdb/ipc"
)

// The functions and table of the backend conformance suite
// (engine/enginetest), as examples/kdb/example.q defines them for a real q:
//
//	.ct.allTypes[()!()]   the suite's AllTypesRows in q types (see AllTypes)
//	.ct.range[`n!n]       ([] i:til n; s:n#`sym)
//	.ct.midFail[`ok!ok]   signals 'midFail (a q reply is whole: no rows first)
//	ctLive                a tickerplant table (time; sym; i; x), empty
func (s *Server) conformance() {
	s.Handle(".ct.allTypes", func([]any) (any, error) { return AllTypes(), nil })
	s.Handle(".ct.range", func(args []any) (any, error) {
		p, err := params(args)
		if err != nil {
			return nil, err
		}
		n, ok := p["n"].(int64)
		if !ok {
			return nil, &ipc.Error{Msg: "type"}
		}
		if n < 0 || n > 50_000_000 {
			return nil, &ipc.Error{Msg: "wsfull"} // the fake holds replies in memory, like q
		}
		i, sym := make([]int64, n), make([]string, n)
		for k := range i {
			i[k], sym[k] = int64(k), "sym"
		}
		return ipc.Table{Columns: []string{"i", "s"}, Data: []any{i, sym}}, nil
	})
	s.Handle(".ct.midFail", func(args []any) (any, error) {
		p, err := params(args)
		if err != nil {
			return nil, err
		}
		ok, _ := p["ok"].(int64)
		return nil, &ipc.Error{Msg: "midFail: failed after " + strconv.FormatInt(ok, 10)}
	})
	s.SetTable("ctLive", ipc.Table{Columns: []string{"time", "sym", "i", "x"},
		Data: []any{[]ipc.Timestamp{}, []string{}, []int64{}, []float64{}}})
}

// AllTypes is the conformance suite's AllTypesRows as a q table: three rows
// of typical values, nulls and edge values. Where q has no null (boolean)
// or the edge value is q's null (-32768h is 0Nh, " " is the char null, the
// zero guid is 0Ng, ` is the symbol null, a string cannot be null), the
// value is what q holds.
func AllTypes() ipc.Table {
	ts := func(t time.Time) ipc.Timestamp { return ipc.TimestampOf(t) }
	return ipc.Table{
		Columns: []string{"b", "l", "i", "h", "f", "e", "s", "sym", "c", "ts", "d", "t", "n", "g"},
		Data: []any{
			[]bool{true, false, false},
			[]int64{9007199254740993, ipc.NullLong, -1},
			[]int32{2147483647, ipc.NullInt, 0},
			[]int16{-32768, ipc.NullShort, 7},
			[]float64{1.25, ipc.NullFloat(), -0.5},
			[]float32{1.5, ipc.NullReal(), -2},
			[]any{`hello, "world"`, "", ""},
			[]string{"AAPL", "", ""},
			"x  ",
			[]ipc.Timestamp{ts(time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)), ipc.Timestamp(ipc.NullLong),
				ts(time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC))},
			[]ipc.Date{ipc.DateOf(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)), ipc.Date(ipc.NullInt),
				ipc.DateOf(time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC))},
			[]ipc.Time{ipc.Time(((13*60+30)*60+15)*1000 + 250), ipc.Time(ipc.NullInt), 0},
			[]ipc.Timespan{ipc.Timespan(26*time.Hour + 3*time.Microsecond), ipc.Timespan(ipc.NullLong), ipc.Timespan(-90 * time.Minute)},
			[]ipc.GUID{{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}, {}, {}},
		},
	}
}
